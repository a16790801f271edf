/**
 * Hub SAS authentication (PROTOCOL.md §3.1, §6.1) with raw MQTT.js clients on
 * port 0: a provisioned SAS device connects with its derived key; every bad
 * token is refused with CONNACK 5 and the device never gets in.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { createDeviceCertificate, createRootCa, type Issued } from '@gatehouse/pki';
import {
  deriveDeviceKey,
  dpsSasResource,
  hubSasResource,
  signSharedAccessSignature,
} from '@gatehouse/protocol';
import { base64Pem } from './helpers/pki-files.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

describe('hub: SAS device authentication', () => {
  let server: TestServer;
  let groupKey: string;
  let root: Issued;
  const now = () => Math.floor(Date.now() / 1000);

  before(async () => {
    server = await startTestServer();
    const g = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      '/api/enrollmentGroups/SAS-IoT-Devices',
    );
    groupKey = g.body.attestation.symmetricKey.primaryKey;
    // Provision sas-hub-1 over DPS with its derived key (the hub device gets that key).
    await provisionSas('sas-hub-1');
    // An X.509 device through a verified group.
    root = await createRootCa({ commonName: 'sas-test-root' });
    await server.api('PUT', '/api/enrollmentGroups/x509g', {
      displayName: 'x509g',
      type: 'iot',
      attestation: { type: 'x509' },
    });
    await server.api('PUT', '/api/enrollmentGroups/x509g/certificates/primary', {
      certificate: base64Pem(root.certificate),
      verified: true,
    });
    await server.api('PUT', '/api/devices/x509-only', {});
  });
  after(async () => server?.stop());

  async function provisionSas(id: string): Promise<void> {
    const password = signSharedAccessSignature({
      resource: dpsSasResource(server.idScope, id),
      key: deriveDeviceKey(groupKey, id),
      expiry: now() + 600,
      keyName: 'registration',
    });
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${server.mqtt.port}`, {
      protocolVersion: 4,
      clientId: id,
      username: `${server.idScope}/registrations/${id}/api-version=2019-03-31`,
      password,
      clean: true,
      reconnectPeriod: 0,
      ca: readFileSync(server.serverCaPath!),
      servername: 'localhost',
    });
    await client.subscribeAsync('$dps/registrations/res/#', { qos: 1 });
    const reply = new Promise<string>((resolve) => client.once('message', (topic) => resolve(topic)));
    await client.publishAsync(
      '$dps/registrations/PUT/iotdps-register/?$rid=1',
      JSON.stringify({ registrationId: id }),
      { qos: 1 },
    );
    assert.match(await reply, /res\/202\//);
    await client.endAsync();
  }

  function hubToken(
    id: string,
    o: { key?: string; host?: string; expiry?: number; sr?: string; keyName?: string } = {},
  ): string {
    return signSharedAccessSignature({
      resource: o.sr ?? encodeURIComponent(hubSasResource(o.host ?? 'localhost', id)),
      key: o.key ?? deriveDeviceKey(groupKey, id),
      expiry: o.expiry ?? now() + 3600,
      ...(o.keyName ? { keyName: o.keyName } : {}),
    });
  }

  async function connect(
    id: string,
    password: string | undefined,
    cert?: Issued,
  ): Promise<{ client?: mqtt.MqttClient; code?: number }> {
    try {
      const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${server.mqtt.port}`, {
        protocolVersion: 4,
        clientId: id,
        username: `localhost/${id}/?api-version=2021-04-12`,
        clean: false,
        reconnectPeriod: 0,
        ca: readFileSync(server.serverCaPath!),
        servername: 'localhost',
        ...(password !== undefined ? { password } : {}),
        ...(cert ? { cert: cert.certificate.pem, key: cert.privateKey.toPem() } : {}),
      });
      return { client };
    } catch (err) {
      return { code: (err as { code?: number }).code ?? -1 };
    }
  }

  it('a provisioned SAS device connects with its derived key and its telemetry is stored', async () => {
    const { client } = await connect('sas-hub-1', hubToken('sas-hub-1'));
    assert.ok(client);
    await client.publishAsync('devices/sas-hub-1/messages/events/', JSON.stringify({ temp: 7 }), { qos: 1 });
    const latest = await server.api<{ value: number }>('GET', '/api/devices/sas-hub-1/telemetry/temp');
    assert.equal(latest.body.value, 7);
    await client.endAsync();
  });

  const refusals: Array<[string, () => [string, string | undefined, Issued?]]> = [
    ['an expired token', () => ['sas-hub-1', hubToken('sas-hub-1', { expiry: now() - 120 })]],
    [
      'a token signed with the wrong key',
      () => ['sas-hub-1', hubToken('sas-hub-1', { key: Buffer.alloc(32, 3).toString('base64') })],
    ],
    ['the group key used directly', () => ['sas-hub-1', hubToken('sas-hub-1', { key: groupKey })]],
    [
      "another device's token",
      () => ['sas-hub-1', hubToken('sas-hub-2', { key: deriveDeviceKey(groupKey, 'sas-hub-1') })],
    ],
    [
      'a DPS token presented to the hub',
      () => [
        'sas-hub-1',
        signSharedAccessSignature({
          resource: dpsSasResource(server.idScope, 'sas-hub-1'),
          key: deriveDeviceKey(groupKey, 'sas-hub-1'),
          expiry: now() + 600,
          keyName: 'registration',
        }),
      ],
    ],
    [
      'a malformed token (missing sig)',
      () => [
        'sas-hub-1',
        `SharedAccessSignature sr=${encodeURIComponent('localhost/devices/sas-hub-1')}&se=${now() + 60}`,
      ],
    ],
    [
      'a malformed token (duplicate fields)',
      () => ['sas-hub-1', `${hubToken('sas-hub-1')}&se=${now() + 60}`],
    ],
    [
      'a malformed token (bad base64)',
      () => ['sas-hub-1', hubToken('sas-hub-1').replace(/sig=[^&]+/, 'sig=***')],
    ],
    ['SAS on an X.509-only device', () => ['x509-only', hubToken('x509-only')]],
    ['an unknown device', () => ['nobody', hubToken('nobody')]],
  ];
  for (const [name, make] of refusals) {
    it(`refuses ${name} with CONNACK 5`, async () => {
      const [id, password, cert] = make();
      const r = await connect(id, password, cert);
      r.client?.end(true);
      assert.equal(r.code, 5);
    });
  }

  it('refuses a certificate on a SAS device, and accepts the X.509 device with its certificate', async () => {
    const wrong = await createDeviceCertificate({ commonName: 'sas-hub-1', issuer: root });
    const r = await connect('sas-hub-1', undefined, wrong);
    r.client?.end(true);
    assert.equal(r.code, 5);
    const right = await createDeviceCertificate({ commonName: 'x509-only', issuer: root });
    const ok = await connect('x509-only', undefined, right);
    assert.ok(ok.client);
    await ok.client.endAsync();
  });
});
