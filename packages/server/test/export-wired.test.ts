/**
 * Data export as a running server wires it: a device's telemetry reaches a real mosquitto
 * (mqtt@v1) and a real RabbitMQ (amqp@v1) after a jq transform run by Debian's jq, and a REST
 * change reaches a webhook as an `audit` message. The parts are tested alone in their own
 * files; this proves the server plugs them together.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createRootCa, createServerCertificate } from '@gatehouse/pki';
import amqp from 'amqplib';
import mqtt, { type MqttClient } from 'mqtt';

import { eventually } from './helpers/hub-harness.js';
import { skipWithoutMosquitto, startTestMosquitto, type TestMosquitto } from './helpers/mosquitto.js';
import { tempDir, writeIssued } from './helpers/pki-files.js';
import { skipWithoutRabbitmq, testAmqpUrl } from './helpers/rabbitmq.js';
import { sasFleet } from './helpers/sas-device.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const V = '?api-version=2022-10-31-preview';
const skip = skipWithoutMosquitto() || skipWithoutRabbitmq();
const TRANSFORM =
  '{device: .device.id, temperature: (.telemetry[] | select(.name == "temperature") | .value)}';

describe('data export, wired in the server', { skip, timeout: 120_000 }, () => {
  let server: TestServer;
  let broker: TestMosquitto;
  let subscriber: MqttClient;
  let hook: WebhookReceiver;
  let amqpConnection: amqp.ChannelModel;
  const fromMqtt: { topic: string; body: unknown }[] = [];
  const fromAmqp: { key: string; body: unknown }[] = [];

  before(async () => {
    const dir = await tempDir('gatehouse-export-wired-');
    const root = await createRootCa({ commonName: 'wired-root' });
    const srv = await createServerCertificate({
      commonName: '127.0.0.1',
      ipAddresses: ['127.0.0.1'],
      issuer: root,
    });
    const ca = await writeIssued(dir, 'root', root);
    const s = await writeIssued(dir, 'server', srv);
    broker = await startTestMosquitto(dir, {}, { cafile: ca.cert, certfile: s.fullchain, keyfile: s.key });
    subscriber = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.plainPort}`, { reconnectPeriod: 200 });
    subscriber.on('message', (topic, payload) =>
      fromMqtt.push({ topic, body: JSON.parse(payload.toString()) }),
    );
    await subscriber.subscribeAsync('wired/#', { qos: 1 });

    amqpConnection = await amqp.connect(testAmqpUrl()!);
    const channel = await amqpConnection.createChannel();
    await channel.assertExchange('gatehouse-wired', 'topic', { durable: false });
    const q = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(q.queue, 'gatehouse-wired', '#');
    await channel.consume(
      q.queue,
      (m) => {
        if (m) fromAmqp.push({ key: m.fields.routingKey, body: JSON.parse(m.content.toString()) });
      },
      { noAck: true },
    );

    hook = await startWebhookReceiver();
    server = await startTestServer();
  });
  after(async () => {
    await server?.stop();
    await hook?.close();
    await subscriber?.endAsync(true);
    await broker?.stop();
    await amqpConnection?.close();
  });

  it('telemetry goes to mosquitto and RabbitMQ through a jq transform', async () => {
    const put = async (path: string, body: unknown) => {
      const r = await server.api('PUT', `/api/dataExport/${path}${V}`, body);
      assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
    };
    await put('destinations/broker', {
      displayName: 'Broker',
      type: 'mqtt@v1',
      url: `mqtt://127.0.0.1:${broker.plainPort}`,
      topic: 'wired/{messageSource}/{deviceId}',
    });
    // Credentials go in `authorization`, never in the URL.
    const rabbit = new URL(testAmqpUrl()!);
    const [userName, password] = [decodeURIComponent(rabbit.username), decodeURIComponent(rabbit.password)];
    rabbit.username = '';
    rabbit.password = '';
    await put('destinations/rabbit', {
      displayName: 'Rabbit',
      type: 'amqp@v1',
      url: rabbit.toString(),
      authorization: { type: 'userNamePassword', userName, password },
      exchange: 'gatehouse-wired',
      routingKey: '{messageSource}.{deviceId}',
    });
    await put('exports/hot', {
      displayName: 'Hot path',
      enabled: true,
      source: 'telemetry',
      destinations: [
        { id: 'broker', transform: TRANSFORM },
        { id: 'rabbit', transform: TRANSFORM },
      ],
    });
    const group = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      '/api/enrollmentGroups/SAS-IoT-Devices',
    );
    const device = await sasFleet(server, group.body.attestation.symmetricKey.primaryKey).connect('wired-1');
    await device.publishAsync('devices/wired-1/messages/events/', JSON.stringify({ temperature: 21.5 }), {
      qos: 1,
    });
    await device.endAsync();
    await eventually(() => fromMqtt.length >= 1 && fromAmqp.length >= 1, 15_000);
    assert.deepEqual(fromMqtt[0], {
      topic: 'wired/telemetry/wired-1',
      body: { device: 'wired-1', temperature: 21.5 },
    });
    assert.deepEqual(fromAmqp[0], {
      key: 'telemetry.wired-1',
      body: { device: 'wired-1', temperature: 21.5 },
    });
  });

  it('a jq program that does not compile is a 400 naming the destination transform', async () => {
    const r = await server.api<{ error?: { message?: string } }>('PUT', `/api/dataExport/exports/bad${V}`, {
      displayName: 'Bad',
      enabled: true,
      source: 'telemetry',
      destinations: [{ id: 'broker', transform: '{device: .device.id' }],
    });
    assert.equal(r.status, 400);
    assert.match(JSON.stringify(r.body), /destinations\[0\]\.transform/);
    assert.equal((await server.api('GET', `/api/dataExport/exports/bad${V}`)).status, 404);
  });

  it('a REST change reaches a webhook as an audit message', async () => {
    const d = await server.api('PUT', `/api/dataExport/destinations/audit-hook${V}`, {
      displayName: 'Audit receiver',
      type: 'webhook@v1',
      url: hook.url,
    });
    assert.equal(d.status, 200, JSON.stringify(d.body));
    const e = await server.api('PUT', `/api/dataExport/exports/audit${V}`, {
      displayName: 'Audit',
      enabled: true,
      source: 'audit',
      destinations: [{ id: 'audit-hook' }],
    });
    assert.equal(e.status, 200, JSON.stringify(e.body));
    const made = await server.api('PUT', '/api/devices/audited-1', { displayName: 'Audited' });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    const change = await server.api('PATCH', '/api/devices/audited-1', { displayName: 'Audited one' });
    assert.equal(change.status, 200, JSON.stringify(change.body));
    await hook
      .waitFor(
        (all) =>
          all.some(
            (r) =>
              JSON.stringify(r.body).includes('"messageSource":"audit"') &&
              JSON.stringify(r.body).includes('"messageType":"updated"'),
          ),
        15_000,
      )
      .catch((err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify(hook.received.map((r) => r.body)).slice(0, 3000)}`);
      });
    const audit = hook.received
      .map((r) => r.body as Record<string, unknown>)
      .find((b) => b['messageType'] === 'updated' && b['deviceId'] === 'audited-1')!;
    assert.ok(audit, 'the update of audited-1 was exported');
    assert.equal(audit['messageSource'], 'audit');
    assert.deepEqual((audit['resource'] as Record<string, unknown>)['id'], 'audited-1');
    assert.deepEqual((audit['updated'] as { fields: string[] }).fields, ['displayName']);
  });
});
