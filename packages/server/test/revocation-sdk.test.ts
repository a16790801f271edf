/**
 * Revocation against the real Azure SDK (azure-iot-provisioning-device + azure-iot-device over
 * Mqtt and MqttWs, X.509 via azure-iot-security-x509 and SAS): an X.509 group device whose
 * certificate a CRL revokes, an individual X.509 device whose enrollment certificate is
 * replaced, a SAS device that is disabled. Each session is closed in under a second after the
 * REST call (the bound, asserted per case), and the SDK's own reconnect is refused with
 * the reason recorded. The SDK fixes the ports (8883 MQTT, 443 WSS): this file holds both
 * locks, 8883 first.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { deriveDeviceKey } from '@gatehouse/protocol';
import { createDeviceCertificate, createRootCa, type Issued } from '@gatehouse/pki';

import { runAzureProvision } from './helpers/azure-device.js';
import { AzureHubDevice } from './helpers/azure-hub.js';
import { opensslCa, type OpensslCa } from './helpers/openssl-ca.js';
import { base64Pem, tempDir, writeIssued } from './helpers/pki-files.js';
import { withPortLock } from './helpers/port-lock.js';
import { refusalRecorded } from './helpers/revocation-clients.js';
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from './helpers/test-server.js';

type SdkTransport = 'mqtt' | 'mqttws';

function hold(port: number): Promise<() => void> {
  return new Promise((ready, fail) => {
    withPortLock(port, () => new Promise<void>((done) => ready(done))).catch(fail);
  });
}

describe('revocation with the real Azure SDK', { concurrency: false }, () => {
  let server: TestServer;
  const releases: Array<() => void> = [];
  const devices: AzureHubDevice[] = [];
  let dir: string;
  let root: Issued;
  let ca: OpensslCa;
  let groupKey: string;
  const timings: Record<string, number> = {};

  before(async () => {
    releases.push(await hold(8883));
    releases.push(await hold(443));
    server = await startTestServer({ mqttPort: 8883, httpsPort: 443 });
    dir = await tempDir('gatehouse-revocation-sdk-');
    root = await createRootCa({ commonName: 'revocation-sdk-root' });
    ca = await opensslCa(root);
    await server.api('PUT', '/api/enrollmentGroups/RevSdkGroup', {
      displayName: 'RevSdkGroup',
      type: 'iot',
      attestation: { type: 'x509' },
    });
    const up = await server.api('PUT', '/api/enrollmentGroups/RevSdkGroup/certificates/primary', {
      certificate: base64Pem(root.certificate),
      verified: true,
    });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    const sas = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      '/api/enrollmentGroups/SAS-IoT-Devices',
    );
    groupKey = sas.body.attestation.symmetricKey.primaryKey;
  });

  after(async () => {
    for (const d of devices) await d.stop();
    await server?.stop();
    for (const release of releases.reverse()) release();
    console.log(
      `# revocation with the Azure SDK, REST call → session closed (ms): ${JSON.stringify(timings)}`,
    );
  });

  /** Provisions with the SDK, then starts the SDK hub device and waits until it is connected. */
  async function sdkDevice(
    id: string,
    transport: SdkTransport,
    credential: { files: { cert: string; key: string } } | { key: string },
  ): Promise<AzureHubDevice> {
    const reg = await runAzureProvision({
      caPath: server.serverCaPath!,
      idScope: server.idScope,
      registrationId: id,
      transport,
      ...('files' in credential
        ? { certFile: credential.files.cert, keyFile: credential.files.key }
        : { symmetricKey: credential.key }),
    });
    assert.equal(reg.ok, true, JSON.stringify(reg.error));
    const device = new AzureHubDevice(
      {
        HUB_HOST: 'localhost',
        DEVICE_ID: id,
        TRANSPORT: transport,
        ...('files' in credential
          ? { CERT_FILE: credential.files.cert, KEY_FILE: credential.files.key }
          : { SHARED_ACCESS_KEY: credential.key }),
      },
      server.serverCaPath!,
    );
    devices.push(device);
    await device.waitFor((e) => e.event === 'open', 30_000, `${id} open`);
    await device.waitFor((e) => e.event === 'reported', 30_000, `${id} reported`);
    assert.equal(server.hub.isConnected(id), true);
    return device;
  }

  /**
   * Runs the revoking REST call and measures until the hub no longer holds the device's session
   * (sampled every 2 ms): asserts < 1 s.
   */
  async function closeTime(
    id: string,
    action: () => Promise<{ status: number; body?: unknown }>,
  ): Promise<number> {
    const start = performance.now();
    const res = await action();
    assert.ok(res.status < 300, `the revoking call answered ${res.status}: ${JSON.stringify(res.body)}`);
    while (server.hub.isConnected(id)) {
      assert.ok(performance.now() - start < 3000, 'the session was not closed at all');
      await new Promise((r) => setTimeout(r, 2));
    }
    const ms = performance.now() - start;
    assert.ok(ms < 1000, `closed ${ms.toFixed(0)} ms after the call (bound 1000 ms)`);
    return ms;
  }

  for (const transport of ['mqtt', 'mqttws'] as SdkTransport[]) {
    it(`${transport}: an X.509 group device is closed by a CRL; the SDK's reconnect is refused (revoked)`, async () => {
      const id = `rev-sdk-group-${transport}`;
      const leaf = await createDeviceCertificate({ commonName: id, issuer: root });
      const files = await writeIssued(dir, id, leaf);
      const device = await sdkDevice(id, transport, { files });
      await ca.revoke(leaf.certificate);
      const crl = await ca.crl();
      timings[`x509-group-crl-${transport}`] = await closeTime(id, () =>
        fetch(`${server.baseUrl}/api/enrollmentGroups/RevSdkGroup/crl`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/x-pem-file' },
          body: crl,
        }).then(async (r) => ({ status: r.status, body: await r.text() })),
      );
      const record = await refusalRecorded(server, id, 'ERR_HUB_CERTIFICATE_REVOKED', 30_000);
      assert.equal(record.transport, transport === 'mqttws' ? 'hub-mqtt-ws' : 'hub-mqtt');
      // The record is the SDK's own reconnect, refused; it keeps retrying and stays out.
      assert.equal(server.hub.isConnected(id), false);
      await device.stop();
    });

    it(`${transport}: an individual X.509 device is closed when its enrollment certificate is replaced`, async () => {
      const id = `rev-sdk-individual-${transport}`;
      const first = await createDeviceCertificate({ commonName: id });
      const second = await createDeviceCertificate({ commonName: id });
      const enroll = (c: Issued) =>
        server.api('PUT', `/api/devices/${id}/attestation`, {
          type: 'x509',
          x509: { clientCertificates: { primary: { certificate: base64Pem(c.certificate) } } },
        });
      assert.equal((await enroll(first)).status, 200);
      const device = await sdkDevice(id, transport, { files: await writeIssued(dir, id, first) });
      timings[`x509-individual-replaced-${transport}`] = await closeTime(id, () => enroll(second));
      const record = await refusalRecorded(server, id, 'ERR_HUB_NOT_AUTHORIZED', 30_000);
      assert.match(record.reason.message, /thumbprint/);
      // The record is the SDK's own reconnect, refused; it keeps retrying and stays out.
      assert.equal(server.hub.isConnected(id), false);
      await device.stop();
    });

    it(`${transport}: a SAS device is closed when disabled; its still-valid token is refused`, async () => {
      const id = `rev-sdk-sas-${transport}`;
      const device = await sdkDevice(id, transport, { key: deriveDeviceKey(groupKey, id) });
      timings[`sas-disabled-${transport}`] = await closeTime(id, () =>
        server.api('PATCH', `/api/devices/${id}`, { enabled: false }),
      );
      await refusalRecorded(server, id, 'ERR_HUB_DEVICE_DISABLED', 30_000);
      // The record is the SDK's own reconnect, refused; it keeps retrying and stays out.
      assert.equal(server.hub.isConnected(id), false);
      await device.stop();
    });
  }
});
