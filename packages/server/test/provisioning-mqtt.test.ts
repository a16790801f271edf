/**
 * DPS over MQTT/TLS driven by a raw MQTT.js client (port 0): the refusals the
 * Azure SDK cannot produce on purpose — no client certificate, malformed JSON,
 * an unknown operation ID, a publish outside `$dps/registrations/`, QoS 2.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import {
  createDeviceCertificate,
  createRootCa,
  createVerificationCertificate,
  type Issued,
} from '@gatehouse/pki';
import { deriveDeviceKey, signSharedAccessSignature } from '@gatehouse/protocol';
import { base64Pem } from './helpers/pki-files.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

interface Reply {
  topic: string;
  status: number;
  body: Record<string, unknown>;
}

describe('DPS over MQTT: refusals a raw client can provoke', () => {
  let server: TestServer;
  let root: Issued;
  let device: Issued;

  before(async () => {
    server = await startTestServer();
    root = await createRootCa({ commonName: 'raw-root' });
    await server.api('PUT', '/api/enrollmentGroups/Raw', {
      displayName: 'Raw',
      type: 'iot',
      attestation: { type: 'x509' },
    });
    await server.api('PUT', '/api/enrollmentGroups/Raw/certificates/primary', {
      certificate: base64Pem(root.certificate),
    });
    const code = await server.api<{ verificationCode: string }>(
      'POST',
      '/api/enrollmentGroups/Raw/certificates/primary/generateVerificationCode',
    );
    const v = await createVerificationCertificate({ nonce: code.body.verificationCode, ca: root });
    await server.api('POST', '/api/enrollmentGroups/Raw/certificates/primary/verify', {
      certificate: v.certificate.pem,
    });
    device = await createDeviceCertificate({ commonName: 'raw-device', issuer: root });
  });

  after(async () => server?.stop());

  async function connect(registrationId: string, withCert: boolean, password?: string): Promise<MqttClient> {
    const client = mqtt.connect(`mqtts://127.0.0.1:${server.mqtt.port}`, {
      protocolVersion: 4,
      clientId: registrationId,
      username: `${server.idScope}/registrations/${registrationId}/api-version=2019-03-31`,
      clean: true,
      reconnectPeriod: 0,
      ca: readFileSync(server.serverCaPath!),
      servername: 'localhost',
      ...(withCert ? { cert: device.certificate.pem, key: device.privateKey.toPem() } : {}),
      ...(password !== undefined ? { password } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync('$dps/registrations/res/#', { qos: 1 });
    return client;
  }

  function nextReply(client: MqttClient): Promise<Reply> {
    return new Promise((resolve) => {
      client.once('message', (topic, payload) => {
        const status = Number(/res\/(\d+)\//.exec(topic)?.[1]);
        resolve({ topic, status, body: JSON.parse(payload.toString()) as Record<string, unknown> });
      });
    });
  }

  async function lastReason(registrationId: string): Promise<string | undefined> {
    const res = await server.api<{ value: Array<{ reason: { code: string } }> }>(
      'GET',
      `/api/provisioning/attempts?registrationId=${registrationId}`,
    );
    return res.body.value[0]?.reason.code;
  }

  /** The record is written as the server closes the connection; give it a moment. */
  async function eventually(
    read: () => Promise<string | undefined>,
    expected: string,
  ): Promise<string | undefined> {
    let value: string | undefined;
    for (let i = 0; i < 40; i++) {
      value = await read();
      if (value === expected) return value;
      await new Promise((r) => setTimeout(r, 50));
    }
    return value;
  }

  describe('SAS refusals (PROTOCOL.md §1.2, §6): 401 on the response topic, each recorded', () => {
    let groupKey: string;
    before(async () => {
      const g = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
        'GET',
        '/api/enrollmentGroups/SAS-IoT-Devices',
      );
      groupKey = g.body.attestation.symmetricKey.primaryKey;
    });

    const now = () => Math.floor(Date.now() / 1000);
    const token = (
      id: string,
      options: { key?: string; scope?: string; sr?: string; expiry?: number; keyName?: string } = {},
    ) =>
      signSharedAccessSignature({
        resource: options.sr ?? `${options.scope ?? server.idScope}/registrations/${id}`,
        key: options.key ?? deriveDeviceKey(groupKey, id),
        expiry: options.expiry ?? now() + 3600,
        keyName: options.keyName ?? 'registration',
      });

    async function refusedWith(id: string, password: string, code: string): Promise<void> {
      const client = await connect(id, false, password);
      const reply = nextReply(client);
      await client.publishAsync(
        '$dps/registrations/PUT/iotdps-register/?$rid=1',
        JSON.stringify({ registrationId: id }),
        { qos: 1 },
      );
      const r = await reply;
      assert.equal(r.status, 401, `${code}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body['errorCode'], 401000);
      assert.equal(await lastReason(id), code);
      await client.endAsync();
    }

    it('a valid derived-key token registers', async () => {
      const client = await connect('sas-raw-ok', false, token('sas-raw-ok'));
      const reply = nextReply(client);
      await client.publishAsync(
        '$dps/registrations/PUT/iotdps-register/?$rid=1',
        JSON.stringify({ registrationId: 'sas-raw-ok' }),
        { qos: 1 },
      );
      assert.equal((await reply).status, 202);
      await client.endAsync();
    });

    const cases: Array<[string, (id: string) => string, string]> = [
      ['expired token', (id) => token(id, { expiry: now() - 600 }), 'ERR_DPS_SAS_EXPIRED'],
      [
        'signed with the wrong key',
        (id) => token(id, { key: Buffer.alloc(64, 9).toString('base64') }),
        'ERR_DPS_SAS_BAD_SIGNATURE',
      ],
      ['the group key used directly', (id) => token(id, { key: groupKey }), 'ERR_DPS_SAS_GROUP_KEY_USED'],
      [
        'a token for another device',
        (id) => token(`${id}-other`, { key: deriveDeviceKey(groupKey, `${id}-other`) }),
        'ERR_DPS_SAS_WRONG_RESOURCE',
      ],
      [
        'a token for another scope',
        (id) => token(id, { scope: '0ne00000000' }),
        'ERR_DPS_SAS_WRONG_RESOURCE',
      ],
      [
        'a key name other than registration',
        (id) => token(id, { keyName: 'iothubowner' }),
        'ERR_DPS_SAS_WRONG_RESOURCE',
      ],
      [
        'missing sig',
        (id) =>
          `SharedAccessSignature sr=${server.idScope}/registrations/${id}&skn=registration&se=${now() + 60}`,
        'ERR_DPS_SAS_MALFORMED',
      ],
      ['missing se', (id) => token(id).replace(/&se=\d+/, ''), 'ERR_DPS_SAS_MALFORMED'],
      [
        'bad base64 signature',
        (id) => token(id).replace(/sig=[^&]+/, 'sig=%%%not-base64'),
        'ERR_DPS_SAS_MALFORMED',
      ],
      ['duplicate fields', (id) => `${token(id)}&se=${now() + 60}`, 'ERR_DPS_SAS_MALFORMED'],
      ['not a SharedAccessSignature', () => 'Bearer abc', 'ERR_DPS_SAS_MALFORMED'],
    ];
    for (const [name, make, code] of cases) {
      it(`${name} → ${code}`, async () => {
        const id = `sas-raw-${name.replace(/[^a-z]+/g, '-')}`.slice(0, 60).replace(/-$/, '');
        await refusedWith(id, make(id), code);
      });
    }
  });

  it('registers over the full exchange: 202 with operationId and retry-after, then 200 assigned', async () => {
    const client = await connect('raw-device', true);
    const reply = nextReply(client);
    await client.publishAsync(
      '$dps/registrations/PUT/iotdps-register/?$rid=1',
      JSON.stringify({ registrationId: 'raw-device' }),
      { qos: 1 },
    );
    const accepted = await reply;
    assert.equal(accepted.status, 202);
    assert.match(accepted.topic, /\?\$rid=1&retry-after=/);
    assert.equal(accepted.body['status'], 'assigning');
    const operationId = accepted.body['operationId'] as string;
    assert.match(operationId, /^[A-Za-z0-9.-]+$/);
    const done = nextReply(client);
    await client.publishAsync(
      `$dps/registrations/GET/iotdps-get-operationstatus/?$rid=2&operationId=${operationId}`,
      ' ',
      { qos: 1 },
    );
    const final = await done;
    assert.equal(final.status, 200);
    assert.equal(final.body['status'], 'assigned');
    const state = final.body['registrationState'] as Record<string, unknown>;
    for (const key of [
      'registrationId',
      'assignedHub',
      'deviceId',
      'status',
      'substatus',
      'createdDateTimeUtc',
      'lastUpdatedDateTimeUtc',
      'etag',
      'x509',
    ]) {
      assert.ok(key in state, `registrationState has ${key}`);
    }
    await client.endAsync();
  });

  it('no client certificate → 401 with a DPS error body, recorded', async () => {
    const client = await connect('raw-nocert', false);
    const reply = nextReply(client);
    await client.publishAsync(
      '$dps/registrations/PUT/iotdps-register/?$rid=9',
      JSON.stringify({ registrationId: 'raw-nocert' }),
      { qos: 1 },
    );
    const r = await reply;
    assert.equal(r.status, 401);
    assert.equal(r.body['errorCode'], 401002);
    assert.equal(typeof r.body['trackingId'], 'string');
    assert.equal(typeof r.body['timestampUtc'], 'string');
    assert.equal(await lastReason('raw-nocert'), 'ERR_DPS_NO_CREDENTIALS');
    await client.endAsync();
  });

  it('malformed register JSON → 400 (400004), recorded', async () => {
    const client = await connect('raw-device', true);
    const reply = nextReply(client);
    await client.publishAsync('$dps/registrations/PUT/iotdps-register/?$rid=3', '{not json', { qos: 1 });
    const r = await reply;
    assert.equal(r.status, 400);
    assert.equal(r.body['errorCode'], 400004);
    assert.equal(await lastReason('raw-device'), 'ERR_DPS_MALFORMED_REQUEST');
    await client.endAsync();
  });

  it('unknown operationId → 404, recorded', async () => {
    const client = await connect('raw-device', true);
    const reply = nextReply(client);
    await client.publishAsync(
      '$dps/registrations/GET/iotdps-get-operationstatus/?$rid=4&operationId=5.nope.nope',
      ' ',
      { qos: 1 },
    );
    const r = await reply;
    assert.equal(r.status, 404);
    assert.equal(await lastReason('raw-device'), 'ERR_DPS_UNKNOWN_OPERATION');
    await client.endAsync();
  });

  it('a publish outside $dps/registrations/ closes the connection', async () => {
    const client = await connect('raw-device', true);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('devices/raw-device/messages/events/', 'x', { qos: 1 });
    await closed;
    client.end(true);
    assert.equal(
      await eventually(() => lastReason('raw-device'), 'ERR_MQTT_TOPIC_FORBIDDEN'),
      'ERR_MQTT_TOPIC_FORBIDDEN',
    );
  });

  it('a QoS 2 publish closes the connection', async () => {
    const client = await connect('raw-device', true);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish(
      '$dps/registrations/PUT/iotdps-register/?$rid=5',
      JSON.stringify({ registrationId: 'raw-device' }),
      { qos: 2 },
    );
    await closed;
    client.end(true);
    assert.equal(
      await eventually(() => lastReason('raw-device'), 'ERR_MQTT_QOS2_NOT_SUPPORTED'),
      'ERR_MQTT_QOS2_NOT_SUPPORTED',
    );
  });
});
