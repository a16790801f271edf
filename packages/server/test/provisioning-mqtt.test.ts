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

  async function connect(registrationId: string, withCert: boolean): Promise<MqttClient> {
    const client = mqtt.connect(`mqtts://127.0.0.1:${server.mqtt.port}`, {
      protocolVersion: 4,
      clientId: registrationId,
      username: `${server.idScope}/registrations/${registrationId}/api-version=2019-03-31`,
      clean: true,
      reconnectPeriod: 0,
      ca: readFileSync(server.serverCaPath!),
      servername: 'localhost',
      ...(withCert ? { cert: device.certificate.pem, key: device.privateKey.toPem() } : {}),
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
