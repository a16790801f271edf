/**
 * `GET /api/certificates` and `GET /api/stats` over a real server (ui-contract §B): every
 * stored certificate read from its PEM with days left and a status (a CA expiring in 10
 * days is expiringSoon, one past its notAfter is expired), and the KPI counts driven by a
 * real SAS device over MQTT/TLS.
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
import { ROLE_IDS } from '../src/api/index.js';
import { base64Pem } from './helpers/pki-files.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { userSession } from './helpers/users.js';

const DAY_MS = 86_400_000;

interface CertificateEntry {
  kind: string;
  owner: string;
  ownerDisplayName: string;
  entry: string;
  subject: string;
  issuer: string;
  sha1Thumbprint: string;
  notBefore: string;
  notAfter: string;
  daysLeft: number;
  status: string;
  verified?: boolean;
}

interface Stats {
  devicesTotal: number;
  devicesConnected: number;
  messagesPerMinute: number;
  messagesLastHour: number;
}

async function until(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('certificates over REST', () => {
  let server: TestServer;
  let soon: Issued;
  let year: Issued;
  let device: Issued;
  let shortLived: Issued;
  let shortLivedUploaded: number;

  before(async () => {
    server = await startTestServer();
    soon = await createRootCa({ commonName: 'expiring-ca', days: 10 });
    year = await createRootCa({ commonName: 'yearly-ca', days: 365 });
    device = await createDeviceCertificate({ commonName: 'cert-device', issuer: year, days: 90 });
    // Valid for 3 more seconds: stored while valid (uploads of expired certificates are
    // refused), expired by the time the list is read.
    shortLived = await createRootCa({
      commonName: 'short-lived-ca',
      notBefore: new Date(Date.now() - 5 * DAY_MS),
      days: 5 + 3 / 86_400,
    });
    for (const [id, name] of [
      ['plant-a', 'Plant A'],
      ['plant-b', 'Plant B'],
    ]) {
      const g = await server.api('PUT', `/api/enrollmentGroups/${id}`, {
        displayName: name,
        type: 'iot',
        attestation: { type: 'x509' },
      });
      assert.equal(g.status, 200, JSON.stringify(g.body));
    }
    const put = (path: string, body: unknown) =>
      server.api('PUT', path, body).then((r) => assert.equal(r.status, 200, JSON.stringify(r.body)));
    await put('/api/enrollmentGroups/plant-a/certificates/primary', {
      certificate: base64Pem(soon.certificate),
      verified: true,
    });
    await put('/api/enrollmentGroups/plant-a/certificates/secondary', {
      certificate: base64Pem(year.certificate),
    });
    await put('/api/enrollmentGroups/plant-b/certificates/primary', {
      certificate: base64Pem(shortLived.certificate),
      verified: true,
    });
    shortLivedUploaded = Date.now();
    await put('/api/devices/cert-device', { displayName: 'Cert device' });
    await put('/api/devices/cert-device/attestation', {
      type: 'x509',
      x509: { clientCertificates: { primary: { certificate: base64Pem(device.certificate) } } },
    });
  });
  after(async () => server?.stop());

  it('lists every stored certificate with its facts, soonest expiry first', async () => {
    const wait = shortLived.certificate.notAfter.getTime() - Date.now() + 50;
    assert.ok(Date.now() - shortLivedUploaded < 3000, 'the short-lived CA was stored while valid');
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));

    const res = await server.api<{ value: CertificateEntry[] }>('GET', '/api/certificates');
    assert.equal(res.status, 200);
    const value = res.body.value;
    assert.deepEqual(
      value.map((c) => [c.kind, c.owner, c.entry, c.status]),
      [
        ['enrollmentGroup', 'plant-b', 'primary', 'expired'],
        ['enrollmentGroup', 'plant-a', 'primary', 'expiringSoon'],
        ['individualEnrollment', 'cert-device', 'primary', 'valid'],
        ['enrollmentGroup', 'plant-a', 'secondary', 'valid'],
      ],
    );
    const [expired, expiring, individual, valid] = value as [
      CertificateEntry,
      CertificateEntry,
      CertificateEntry,
      CertificateEntry,
    ];
    assert.deepEqual(expiring, {
      kind: 'enrollmentGroup',
      owner: 'plant-a',
      ownerDisplayName: 'Plant A',
      entry: 'primary',
      subject: soon.certificate.subject,
      issuer: soon.certificate.issuer,
      sha1Thumbprint: soon.certificate.sha1Thumbprint,
      notBefore: soon.certificate.notBefore.toISOString(),
      notAfter: soon.certificate.notAfter.toISOString(),
      // Ten days from its creation, a few seconds ago: nine whole days left.
      daysLeft: 9,
      status: 'expiringSoon',
      verified: true,
    });
    assert.match(expiring.subject, /CN=expiring-ca/);
    assert.equal(expired.daysLeft, -1);
    assert.equal(expired.ownerDisplayName, 'Plant B');
    assert.equal(valid.verified, false);
    assert.equal(valid.daysLeft, 364);
    assert.equal(individual.ownerDisplayName, 'Cert device');
    assert.equal(individual.issuer, year.certificate.subject);
    assert.equal(individual.verified, undefined, 'verification is for group CAs only');
    assert.equal(individual.daysLeft, 89);
  });

  it('follows removals: a deleted certificate is no longer listed', async () => {
    assert.equal(
      (await server.api('DELETE', '/api/enrollmentGroups/plant-b/certificates/primary')).status,
      204,
    );
    const res = await server.api<{ value: CertificateEntry[] }>('GET', '/api/certificates');
    assert.ok(!res.body.value.some((c) => c.owner === 'plant-b'));
  });

  it('any role may read the list; without credentials it is 401', async () => {
    const operator = await userSession(server, 'cert-reader', [ROLE_IDS.operator]);
    assert.equal((await server.api('GET', '/api/certificates', undefined, operator)).status, 200);
    assert.equal((await fetch(`${server.baseUrl}/api/certificates`)).status, 401);
  });
});

describe('stats over REST', () => {
  let server: TestServer;
  let groupKey: string;
  const now = () => Math.floor(Date.now() / 1000);
  const stats = async () => (await server.api<Stats>('GET', '/api/stats')).body;

  before(async () => {
    server = await startTestServer();
    const g = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      '/api/enrollmentGroups/SAS-IoT-Devices',
    );
    groupKey = g.body.attestation.symmetricKey.primaryKey;
  });
  after(async () => server?.stop());

  const tls = () => ({
    protocolVersion: 4 as const,
    reconnectPeriod: 0,
    ca: readFileSync(server.serverCaPath!),
    servername: 'localhost',
  });

  /** DPS registration over MQTT with the device's derived key (PROTOCOL.md §2). */
  async function provision(id: string): Promise<void> {
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${server.mqtt.port}`, {
      ...tls(),
      clientId: id,
      username: `${server.idScope}/registrations/${id}/api-version=2019-03-31`,
      password: signSharedAccessSignature({
        resource: dpsSasResource(server.idScope, id),
        key: deriveDeviceKey(groupKey, id),
        expiry: now() + 600,
        keyName: 'registration',
      }),
      clean: true,
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

  function connectHub(id: string): Promise<mqtt.MqttClient> {
    return mqtt.connectAsync(`mqtts://127.0.0.1:${server.mqtt.port}`, {
      ...tls(),
      clientId: id,
      username: `localhost/${id}/?api-version=2021-04-12`,
      password: signSharedAccessSignature({
        resource: encodeURIComponent(hubSasResource('localhost', id)),
        key: deriveDeviceKey(groupKey, id),
        expiry: now() + 3600,
      }),
      clean: true,
    });
  }

  it('a fresh application has nothing', async () => {
    assert.deepEqual(await stats(), {
      devicesTotal: 0,
      devicesConnected: 0,
      messagesPerMinute: 0,
      messagesLastHour: 0,
    });
  });

  it('counts devices, connected devices, and messages of the last minute and hour', async () => {
    await provision('stats-1');
    await server.api('PUT', '/api/devices/stats-2', { displayName: 'Never connects' });
    const client = await connectHub('stats-1');
    try {
      for (let i = 0; i < 3; i++) {
        await client.publishAsync('devices/stats-1/messages/events/', JSON.stringify({ temp: 20 + i }), {
          qos: 1,
        });
      }
      // A message stored five minutes ago: in the last hour, not in the last minute.
      await server.db
        .insertInto('telemetry')
        .values({
          device_id: 'stats-1',
          enqueued_at: new Date(Date.now() - 5 * 60_000).toISOString(),
          component: null,
          body: Buffer.from('{"temp":1}'),
          content_type: 'application/json',
          system_properties: '{}',
          properties: '{}',
        })
        .execute();
      await until(async () => (await stats()).messagesPerMinute === 3);
      assert.deepEqual(await stats(), {
        devicesTotal: 2,
        devicesConnected: 1,
        messagesPerMinute: 3,
        messagesLastHour: 4,
      });
    } finally {
      await client.endAsync();
    }
    await until(async () => (await stats()).devicesConnected === 0);
  });

  it('any role may read the stats', async () => {
    const operator = await userSession(server, 'stats-reader', [ROLE_IDS.operator]);
    const res = await server.api<Stats>('GET', '/api/stats', undefined, operator);
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), [
      'devicesConnected',
      'devicesTotal',
      'messagesLastHour',
      'messagesPerMinute',
    ]);
  });
});
