/**
 * The how-to's provisioning journey with the real Azure IoT SDK packages from
 * npm (azure-iot-provisioning-device + -mqtt + azure-iot-security-x509),
 * trusting the server CA through NODE_EXTRA_CA_CERTS. The SDK only speaks to
 * port 8883, so this file holds the 8883 lock while it runs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createDeviceCertificate,
  createIntermediateCa,
  createRootCa,
  createVerificationCertificate,
  PrivateKey,
  readCertificate,
  type Issued,
} from '@gatehouse/pki';
import { deriveDeviceKey } from '@gatehouse/protocol';
import { runAzureProvision } from './helpers/azure-device.js';
import { base64Pem, tempDir, writeIssued } from './helpers/pki-files.js';
import { withPortLock } from './helpers/port-lock.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const DAY = 24 * 3600 * 1000;

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Attempt {
  registrationId: string;
  reason: { code: string; message: string };
}

describe('provisioning with the real Azure SDK over MQTT/TLS on 8883', { concurrency: false }, () => {
  let server: TestServer;
  let dir: string;
  let release: () => void = () => undefined;
  let root: Issued;

  before(async () => {
    // Hold the 8883 lock for the whole file: the SDK's port is fixed.
    await new Promise<void>((ready, fail) => {
      withPortLock(
        8883,
        () =>
          new Promise<void>((done) => {
            release = done;
            ready();
          }),
      ).catch(fail);
    });
    server = await startTestServer({ mqttPort: 8883 });
    dir = await tempDir();
    root = await createRootCa({ commonName: 'mytestrootcert' });
  });

  after(async () => {
    await server?.stop();
    release();
  });

  async function provision(
    registrationId: string,
    files: { cert?: string; key?: string },
    extra: { idScope?: string; payload?: unknown } = {},
  ) {
    return runAzureProvision({
      caPath: server.serverCaPath!,
      idScope: extra.idScope ?? server.idScope,
      registrationId,
      ...(files.cert ? { certFile: files.cert } : {}),
      ...(files.key ? { keyFile: files.key } : {}),
      ...(extra.payload !== undefined ? { payload: extra.payload } : {}),
    });
  }

  async function lastAttempt(registrationId: string): Promise<Attempt> {
    const res = await server.api<{ value: Attempt[] }>(
      'GET',
      `/api/provisioning/attempts?registrationId=${encodeURIComponent(registrationId)}`,
    );
    assert.equal(res.status, 200);
    const first = res.body.value[0];
    assert.ok(first, `an attempt is recorded for ${registrationId}`);
    return first;
  }

  async function expectRefused(
    registrationId: string,
    files: { cert?: string; key?: string },
    code: string,
    extra: { idScope?: string } = {},
  ) {
    const r = await provision(registrationId, files, extra);
    assert.equal(r.ok, false, `registration of ${registrationId} must be refused`);
    assert.equal(
      r.error?.name,
      'UnauthorizedError',
      `the SDK reports 401 as UnauthorizedError (got ${r.error?.name}: ${r.error?.message})`,
    );
    const attempt = await lastAttempt(registrationId);
    assert.equal(attempt.reason.code, code, attempt.reason.message);
    return attempt;
  }

  async function createGroup(id: string, ca: Issued, options: { verify?: boolean; enabled?: boolean } = {}) {
    let res = await server.api('PUT', `/api/enrollmentGroups/${id}`, {
      displayName: id,
      type: 'iot',
      attestation: { type: 'x509' },
      enabled: options.enabled ?? true,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    res = await server.api('PUT', `/api/enrollmentGroups/${id}/certificates/primary`, {
      certificate: base64Pem(ca.certificate),
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    if (options.verify !== false) {
      const code = await server.api<{ verificationCode: string }>(
        'POST',
        `/api/enrollmentGroups/${id}/certificates/primary/generateVerificationCode`,
      );
      assert.equal(code.status, 200);
      const verification = await createVerificationCertificate({ nonce: code.body.verificationCode, ca });
      const v = await server.api('POST', `/api/enrollmentGroups/${id}/certificates/primary/verify`, {
        certificate: verification.certificate.pem,
      });
      assert.equal(v.status, 204, JSON.stringify(v.body));
    }
  }

  it('(a) the how-to group flow: root, verification, device registers and learns its hub and device ID', async () => {
    await createGroup('MyX509Group', root);
    const group = await server.api<{
      attestation: { x509: { signingCertificates: { primary: { verified: boolean } } } };
    }>('GET', '/api/enrollmentGroups/MyX509Group');
    assert.equal(group.body.attestation.x509.signingCertificates.primary.verified, true);

    const device = await createDeviceCertificate({ commonName: 'mytestdevice', issuer: root });
    const files = await writeIssued(dir, 'mytestdevice', device);
    const r = await provision('mytestdevice', files, {
      payload: { modelId: 'dtmi:com:example:Thermostat;1' },
    });
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.equal(r.result?.assignedHub, 'localhost');
    assert.equal(r.result?.deviceId, 'mytestdevice');
    assert.equal(r.result?.status, 'assigned');
    assert.equal(r.result?.substatus, 'initialAssignment');
    assert.deepEqual(r.result?.payload, { modelId: 'dtmi:com:example:Thermostat;1' });
    assert.equal((r.result?.x509 as { enrollmentGroupId?: string }).enrollmentGroupId, 'MyX509Group');

    const d = await server.api<{ provisioned: boolean; enabled: boolean }>(
      'GET',
      '/api/devices/mytestdevice',
    );
    assert.equal(d.status, 200);
    assert.equal(d.body.provisioned, true);

    // Registering again returns the same device.
    const again = await provision('mytestdevice', { cert: files.fullchain, key: files.key });
    assert.equal(again.ok, true, JSON.stringify(again.error));
    assert.equal(again.result?.deviceId, 'mytestdevice');
  });

  it('(b) a group on an intermediate, the root verified elsewhere, the device presenting its fullchain', async () => {
    const root2 = await createRootCa({ commonName: 'root-b' });
    await createGroup('RootB', root2);
    const inter = await createIntermediateCa({ commonName: 'intermediate-b', issuer: root2 });
    await createGroup('IntermediateB', inter, { verify: false });
    const device = await createDeviceCertificate({
      commonName: 'device-b',
      issuer: inter,
      issuerChain: inter.chain,
    });
    const files = await writeIssued(dir, 'device-b', device);
    const r = await provision('device-b', { cert: files.fullchain, key: files.key });
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.equal(r.result?.deviceId, 'device-b');
    assert.equal((r.result?.x509 as { enrollmentGroupId?: string }).enrollmentGroupId, 'IntermediateB');

    // Presenting only its leaf works too: the group holds the intermediate, and
    // the intermediate's signature by the verified root is checked server-side.
    const leafOnly = await provision('device-b', { cert: files.cert, key: files.key });
    assert.equal(leafOnly.ok, true, JSON.stringify(leafOnly.error));

    // A device under an intermediate that no group holds must present it: with
    // only its leaf, the intermediate is missing.
    const inter2 = await createIntermediateCa({ commonName: 'intermediate-c', issuer: root2 });
    const deviceC = await createDeviceCertificate({
      commonName: 'device-c',
      issuer: inter2,
      issuerChain: inter2.chain,
    });
    const cFiles = await writeIssued(dir, 'device-c', deviceC);
    await expectRefused('device-c', { cert: cFiles.cert, key: cFiles.key }, 'ERR_DPS_INTERMEDIATE_MISSING');
    const full = await provision('device-c', { cert: cFiles.fullchain, key: cFiles.key });
    assert.equal(full.ok, true, JSON.stringify(full.error));
    assert.equal((full.result?.x509 as { enrollmentGroupId?: string }).enrollmentGroupId, 'RootB');
  });

  it(
    '(c) an individual enrollment: a self-signed primary and a secondary signed by it each register',
    { skip: hasOpenssl() ? false : 'openssl is not installed' },
    async () => {
      const primary = await createDeviceCertificate({ commonName: 'mytestprimarycert' });
      const pFiles = await writeIssued(dir, 'mytestprimarycert', primary);
      // A certificate signed by a non-CA self-signed certificate, as create_test_cert.js
      // makes it for `device mytestsecondarycert mytestprimarycert` (openssl, no key
      // identifiers); `gatehouse cert device` makes the same pair (cert-individual.test.ts).
      const secKey = await PrivateKey.generate();
      const secKeyFile = join(dir, 'mytestsecondarycert_key.pem');
      await writeFile(secKeyFile, secKey.toPem(), { mode: 0o600 });
      const extFile = join(dir, 'client.ext');
      await writeFile(extFile, 'extendedKeyUsage = critical, clientAuth\n');
      const csr = execFileSync(
        'openssl',
        ['req', '-new', '-key', secKeyFile, '-subj', '/CN=mytestsecondarycert'],
        { stdio: ['pipe', 'pipe', 'ignore'] },
      );
      const secPem = execFileSync(
        'openssl',
        [
          'x509',
          '-req',
          '-CA',
          pFiles.cert,
          '-CAkey',
          pFiles.key,
          '-set_serial',
          '4242',
          '-days',
          '2',
          '-extfile',
          extFile,
        ],
        { input: csr, stdio: ['pipe', 'pipe', 'ignore'] },
      ).toString();
      const secCertFile = join(dir, 'mytestsecondarycert_cert.pem');
      await writeFile(secCertFile, secPem);
      assert.ok(readCertificate(secPem).isSignedBy(primary.certificate));

      const put = await server.api('PUT', '/api/devices/mytestprimarycert/attestation', {
        type: 'x509',
        x509: {
          clientCertificates: {
            primary: { certificate: primary.certificate.pem },
            secondary: { certificate: Buffer.from(secPem).toString('base64') },
          },
        },
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));

      const p = await provision('mytestprimarycert', pFiles);
      assert.equal(p.ok, true, JSON.stringify(p.error));
      assert.equal(p.result?.deviceId, 'mytestprimarycert');

      const s = await provision('mytestsecondarycert', { cert: secCertFile, key: secKeyFile });
      assert.equal(s.ok, true, JSON.stringify(s.error));
      assert.equal(s.result?.deviceId, 'mytestprimarycert');

      // A third self-signed certificate with the enrolled device's CN is refused.
      const impostor = await createDeviceCertificate({ commonName: 'mytestprimarycert' });
      const iFiles = await writeIssued(dir, 'impostor', impostor);
      await expectRefused('mytestprimarycert', iFiles, 'ERR_DPS_CERTIFICATE_MISMATCH');

      // A blocked device (the enrollment disabled) is refused.
      await server.db
        .updateTable('devices')
        .set({ enabled: 0 })
        .where('id', '=', 'mytestprimarycert')
        .execute();
      await expectRefused('mytestprimarycert', pFiles, 'ERR_DPS_DEVICE_DISABLED');
    },
  );

  async function provisionSas(registrationId: string, symmetricKey: string) {
    return runAzureProvision({
      caPath: server.serverCaPath!,
      idScope: server.idScope,
      registrationId,
      symmetricKey,
    });
  }

  it('(e) symmetric keys: a device of the default SAS-IoT-Devices group signs with its derived key', async () => {
    const group = await server.api<{
      attestation: { symmetricKey: { primaryKey: string; secondaryKey: string } };
    }>('GET', '/api/enrollmentGroups/SAS-IoT-Devices');
    assert.equal(group.status, 200, 'the default group exists on first start');
    const edge = await server.api('GET', '/api/enrollmentGroups/SAS-IoT-Edge-Devices');
    assert.equal(edge.status, 200);
    const { primaryKey, secondaryKey } = group.body.attestation.symmetricKey;
    const r = await provisionSas('sas-device-1', deriveDeviceKey(primaryKey, 'sas-device-1'));
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.equal(r.result?.deviceId, 'sas-device-1');
    assert.equal(r.result?.assignedHub, 'localhost');
    const withSecondary = await provisionSas('sas-device-1', deriveDeviceKey(secondaryKey, 'sas-device-1'));
    assert.equal(withSecondary.ok, true, JSON.stringify(withSecondary.error));
    const creds = await server.api<{ idScope: string; symmetricKey: { primaryKey: string } }>(
      'GET',
      '/api/devices/sas-device-1/credentials',
    );
    assert.equal(creds.body.idScope, server.idScope);
    assert.equal(creds.body.symmetricKey.primaryKey, deriveDeviceKey(primaryKey, 'sas-device-1'));

    const direct = await provisionSas('sas-device-2', primaryKey);
    assert.equal(direct.ok, false);
    assert.equal((await lastAttempt('sas-device-2')).reason.code, 'ERR_DPS_SAS_GROUP_KEY_USED');
    const wrong = await provisionSas('sas-device-3', Buffer.alloc(64, 1).toString('base64'));
    assert.equal(wrong.ok, false);
    assert.equal(wrong.error?.name, 'UnauthorizedError');
    assert.equal((await lastAttempt('sas-device-3')).reason.code, 'ERR_DPS_SAS_BAD_SIGNATURE');
  });

  it('(f) symmetric keys: an individual enrollment provisions with its primary or secondary key', async () => {
    const put = await server.api<{ symmetricKey: { primaryKey: string; secondaryKey: string } }>(
      'PUT',
      '/api/devices/sas-individual/attestation',
      { type: 'symmetricKey' },
    );
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const { primaryKey, secondaryKey } = put.body.symmetricKey;
    for (const key of [primaryKey, secondaryKey]) {
      const r = await provisionSas('sas-individual', key);
      assert.equal(r.ok, true, JSON.stringify(r.error));
      assert.equal(r.result?.deviceId, 'sas-individual');
    }
    // SAS on a device whose individual enrollment is X.509, and the reverse.
    const group = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      '/api/enrollmentGroups/SAS-IoT-Devices',
    );
    const onX509 = await provisionSas(
      'mytestdevice',
      deriveDeviceKey(group.body.attestation.symmetricKey.primaryKey, 'mytestdevice'),
    );
    assert.equal(onX509.ok, false);
    assert.equal((await lastAttempt('mytestdevice')).reason.code, 'ERR_DPS_ATTESTATION_MISMATCH');
    const cert = await createDeviceCertificate({ commonName: 'sas-individual', issuer: root });
    await expectRefused(
      'sas-individual',
      await writeIssued(dir, 'sas-individual', cert),
      'ERR_DPS_ATTESTATION_MISMATCH',
    );
  });

  describe('(d) refusals, each recorded in /api/provisioning/attempts', () => {
    it('CA uploaded but not verified', async () => {
      const ca = await createRootCa({ commonName: 'unverified-root' });
      await createGroup('Unverified', ca, { verify: false });
      const d = await createDeviceCertificate({ commonName: 'dev-unverified', issuer: ca });
      const a = await expectRefused(
        'dev-unverified',
        await writeIssued(dir, 'dev-unverified', d),
        'ERR_DPS_CA_NOT_VERIFIED',
      );
      assert.match(a.reason.message, /not verified/);
    });

    it('a chain to a CA never uploaded', async () => {
      const ca = await createRootCa({ commonName: 'stranger-root' });
      const d = await createDeviceCertificate({ commonName: 'dev-stranger', issuer: ca });
      const files = await writeIssued(dir, 'dev-stranger', d);
      await expectRefused('dev-stranger', { cert: files.fullchain, key: files.key }, 'ERR_DPS_NOT_ENROLLED');
    });

    it('leaf expired, and leaf not yet valid', async () => {
      const expired = await createDeviceCertificate({
        commonName: 'dev-expired',
        issuer: root,
        notBefore: new Date(Date.now() - 10 * DAY),
        days: 2,
      });
      await expectRefused(
        'dev-expired',
        await writeIssued(dir, 'dev-expired', expired),
        'ERR_DPS_CERTIFICATE_EXPIRED',
      );
      const future = await createDeviceCertificate({
        commonName: 'dev-future',
        issuer: root,
        notBefore: new Date(Date.now() + 10 * DAY),
        days: 2,
      });
      await expectRefused(
        'dev-future',
        await writeIssued(dir, 'dev-future', future),
        'ERR_DPS_CERTIFICATE_NOT_YET_VALID',
      );
    });

    it('CN differs from the registration ID', async () => {
      const d = await createDeviceCertificate({ commonName: 'dev-real-name', issuer: root });
      await expectRefused(
        'dev-other-name',
        await writeIssued(dir, 'dev-real-name', d),
        'ERR_DPS_CN_MISMATCH',
      );
    });

    it('disabled group', async () => {
      const ca = await createRootCa({ commonName: 'disabled-root' });
      await createGroup('Disabled', ca, { enabled: false });
      const d = await createDeviceCertificate({ commonName: 'dev-disabled-group', issuer: ca });
      await expectRefused(
        'dev-disabled-group',
        await writeIssued(dir, 'dev-disabled-group', d),
        'ERR_DPS_GROUP_DISABLED',
      );
    });

    it('certificate entry deleted', async () => {
      const ca = await createRootCa({ commonName: 'deleted-root' });
      await createGroup('Deleted', ca);
      const d = await createDeviceCertificate({ commonName: 'dev-deleted', issuer: ca });
      const files = await writeIssued(dir, 'dev-deleted', d);
      assert.equal((await provision('dev-deleted', files)).ok, true);
      const del = await server.api('DELETE', '/api/enrollmentGroups/Deleted/certificates/primary');
      assert.equal(del.status, 204);
      await expectRefused('dev-deleted', files, 'ERR_DPS_INTERMEDIATE_MISSING');
      await expectRefused('dev-deleted', { cert: files.fullchain, key: files.key }, 'ERR_DPS_NOT_ENROLLED');
    });

    it('self-signed leaf not enrolled', async () => {
      const d = await createDeviceCertificate({ commonName: 'dev-selfsigned' });
      await expectRefused(
        'dev-selfsigned',
        await writeIssued(dir, 'dev-selfsigned', d),
        'ERR_DPS_SELF_SIGNED_NOT_ENROLLED',
      );
    });

    it('wrong ID scope', async () => {
      const d = await createDeviceCertificate({ commonName: 'dev-wrong-scope', issuer: root });
      await expectRefused(
        'dev-wrong-scope',
        await writeIssued(dir, 'dev-wrong-scope', d),
        'ERR_DPS_WRONG_ID_SCOPE',
        { idScope: '0ne00000000' },
      );
    });
  });
});
