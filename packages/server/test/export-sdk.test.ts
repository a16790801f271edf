/**
 * Data export with the how-to's device built from the real Azure SDK (azure-iot-device +
 * azure-iot-device-mqtt, provisioned through DPS with its derived SAS key): its telemetry and
 * reported properties reach a local HTTP receiver in IoT Central's exact format with the
 * export's enrichments, and the same messages reach a second HTTP receiver, a real mosquitto
 * (mqtt@v1) and a real RabbitMQ queue (amqp@v1) through the same jq transform. The SDK speaks
 * only to 8883, so the file holds the 8883 lock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createRootCa, createServerCertificate } from '@gatehouse/pki';
import { deriveDeviceKey } from '@gatehouse/protocol';
import amqp from 'amqplib';
import mqtt, { type MqttClient } from 'mqtt';

import { runAzureProvision } from './helpers/azure-device.js';
import { AzureHubDevice } from './helpers/azure-hub.js';
import { eventually } from './helpers/hub-harness.js';
import { skipWithoutMosquitto, startTestMosquitto, type TestMosquitto } from './helpers/mosquitto.js';
import { tempDir, writeIssued } from './helpers/pki-files.js';
import { withPortLock } from './helpers/port-lock.js';
import { skipWithoutRabbitmq, testAmqpUrl } from './helpers/rabbitmq.js';
import { RULE_TEMPLATE, prepareRules } from './helpers/rules-fixtures.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const V = '?api-version=2022-10-31-preview';
const DEVICE = 'sdk-sensor';
const skip = skipWithoutMosquitto() || skipWithoutRabbitmq();
/** IoT Central's transform input: telemetry as a name/value array, the device as an object. */
const TRANSFORM = `{
  device: .device.id,
  template: .device.templateName,
  source: .messageSource,
  site: .enrichments.site,
  data: (if .messageSource == "telemetry"
         then ([.telemetry[] | {(.name): .value}] | add)
         else ([.properties[] | {(.name): .value}] | add) end)
}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

type Body = Record<string, unknown>;

describe(
  'data export of a real Azure SDK device to a webhook, mosquitto and RabbitMQ',
  { skip, timeout: 180_000 },
  () => {
    let server: TestServer;
    let release: () => void = () => undefined;
    let broker: TestMosquitto;
    let subscriber: MqttClient;
    let amqpConnection: amqp.ChannelModel;
    let raw: WebhookReceiver;
    let shaped: WebhookReceiver;
    let device: AzureHubDevice | undefined;
    const fromMqtt: { topic: string; body: Body }[] = [];
    const fromAmqp: { key: string; body: Body }[] = [];

    const put = async (path: string, body: unknown) => {
      const r = await server.api('PUT', `/api/dataExport/${path}${V}`, body);
      assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
    };

    before(async () => {
      await new Promise<void>((ready, fail) => {
        withPortLock(8883, () => new Promise<void>((done) => ((release = done), ready()))).catch(fail);
      });
      const dir = await tempDir('gatehouse-export-sdk-');
      const root = await createRootCa({ commonName: 'export-sdk-root' });
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
        fromMqtt.push({ topic, body: JSON.parse(payload.toString()) as Body }),
      );
      await subscriber.subscribeAsync('sdk/#', { qos: 1 });

      amqpConnection = await amqp.connect(testAmqpUrl()!);
      const channel = await amqpConnection.createChannel();
      await channel.assertExchange('gatehouse-sdk', 'topic', { durable: false });
      const q = await channel.assertQueue('', { exclusive: true });
      await channel.bindQueue(q.queue, 'gatehouse-sdk', '#');
      await channel.consume(
        q.queue,
        (m) => {
          if (m) fromAmqp.push({ key: m.fields.routingKey, body: JSON.parse(m.content.toString()) as Body });
        },
        { noAck: true },
      );
      raw = await startWebhookReceiver('/raw');
      shaped = await startWebhookReceiver('/shaped');
      server = await startTestServer({ mqttPort: 8883 });
      await prepareRules(server);
    });

    after(async () => {
      await device?.stop();
      await server?.stop();
      release();
      await raw?.close();
      await shaped?.close();
      await subscriber?.endAsync(true);
      await broker?.stop();
      await amqpConnection?.close();
    });

    it('configures four destinations and two exports (telemetry, properties) with enrichments', async () => {
      await put('destinations/raw', { displayName: 'Raw', type: 'webhook@v1', url: raw.url });
      await put('destinations/shaped', { displayName: 'Shaped', type: 'webhook@v1', url: shaped.url });
      await put('destinations/broker', {
        displayName: 'Broker',
        type: 'mqtt@v1',
        url: `mqtt://127.0.0.1:${broker.plainPort}`,
        topic: 'sdk/{messageSource}/{deviceId}',
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
        exchange: 'gatehouse-sdk',
        routingKey: '{messageSource}.{deviceId}',
      });
      for (const source of ['telemetry', 'properties']) {
        await put(`exports/sdk-${source}`, {
          displayName: `SDK ${source}`,
          enabled: true,
          source,
          filter: `SELECT * FROM devices WHERE $id = "${DEVICE}"`,
          enrichments: {
            site: { value: 'lab-7' },
            name: { path: '$displayName' },
            model: { path: '$templateDisplayName' },
          },
          destinations: [
            { id: 'raw' },
            { id: 'shaped', transform: TRANSFORM },
            { id: 'broker', transform: TRANSFORM },
            { id: 'rabbit', transform: TRANSFORM },
          ],
        });
      }
    });

    it('the SDK device provisions, connects, sends telemetry and reports properties', async () => {
      const g = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
        'GET',
        '/api/enrollmentGroups/SAS-IoT-Devices',
      );
      const key = deriveDeviceKey(g.body.attestation.symmetricKey.primaryKey, DEVICE);
      const reg = await runAzureProvision({
        caPath: server.serverCaPath!,
        idScope: server.idScope,
        registrationId: DEVICE,
        symmetricKey: key,
      });
      assert.equal(reg.ok, true, JSON.stringify(reg.error));
      const t = await server.api('PATCH', `/api/devices/${DEVICE}`, { template: RULE_TEMPLATE });
      assert.equal(t.status, 200, JSON.stringify(t.body));
      device = new AzureHubDevice(
        { HUB_HOST: reg.result!.assignedHub, DEVICE_ID: DEVICE, SHARED_ACCESS_KEY: key },
        server.serverCaPath!,
      );
      // The how-to device reports { state: 'true' } once its twin is open.
      await device.waitFor((e) => e.event === 'reported', 20_000, 'start-up report');
      device.send({
        cmd: 'send',
        body: JSON.stringify({ temperature: 21.5, humidity: 40 }),
        properties: { seq: '1' },
      });
      await device.waitFor((e) => e.event === 'sent', 20_000, 'telemetry sent');
      device.send({ cmd: 'report', patch: { firmware: '2.0.1' } });
      await device.waitFor(
        (e) => e.event === 'reported' && (e['patch'] as Body)['firmware'] === '2.0.1',
        20_000,
        'firmware reported',
      );
    });

    it("the raw webhook gets telemetry and the property changes in IoT Central's exact format", async () => {
      const bodies = () => raw.received.map((r) => r.body as Body);
      const telemetry = () => bodies().find((b) => b['messageSource'] === 'telemetry');
      const firmware = () =>
        bodies().find(
          (b) =>
            b['messageSource'] === 'properties' && JSON.stringify(b['properties']).includes('"firmware"'),
        );
      await raw
        .waitFor(() => telemetry() !== undefined && firmware() !== undefined, 20_000)
        .catch((err: Error) => {
          throw new Error(`${err.message}: ${JSON.stringify(bodies()).slice(0, 3000)}`);
        });
      const enrichments = { site: 'lab-7', name: DEVICE, model: 'Rule sensor' };
      const tm = telemetry()!;
      assert.deepEqual(Object.keys(tm), [
        'applicationId',
        'messageSource',
        'deviceId',
        'schema',
        'templateId',
        'enqueuedTime',
        'telemetry',
        'enrichments',
        'messageProperties',
      ]);
      assert.match(tm['applicationId'] as string, UUID);
      assert.match(tm['enqueuedTime'] as string, ISO_MS);
      assert.deepEqual(
        { ...tm, applicationId: 'x', enqueuedTime: 'x' },
        {
          applicationId: 'x',
          messageSource: 'telemetry',
          deviceId: DEVICE,
          schema: 'default@v1',
          templateId: RULE_TEMPLATE,
          enqueuedTime: 'x',
          telemetry: { temperature: 21.5, humidity: 40 },
          enrichments,
          messageProperties: { seq: '1' },
        },
      );
      const pr = firmware()!;
      assert.equal(pr['applicationId'], tm['applicationId']);
      assert.match(pr['enqueuedTime'] as string, ISO_MS);
      assert.deepEqual(
        { ...pr, enqueuedTime: 'x' },
        {
          applicationId: tm['applicationId'],
          messageSource: 'properties',
          messageType: 'devicePropertyReportedChange',
          deviceId: DEVICE,
          schema: 'default@v1',
          templateId: RULE_TEMPLATE,
          enqueuedTime: 'x',
          properties: [{ name: 'firmware', value: '2.0.1' }],
          enrichments,
        },
      );
      assert.equal(raw.received.find((r) => r.body === tm)!.headers['content-type'], 'application/json');
    });

    it('the transformed webhook, mosquitto and RabbitMQ get the jq output of the same messages', async () => {
      const telemetry = {
        device: DEVICE,
        template: 'Rule sensor',
        source: 'telemetry',
        site: 'lab-7',
        data: { temperature: 21.5, humidity: 40 },
      };
      const firmware = {
        device: DEVICE,
        template: 'Rule sensor',
        source: 'properties',
        site: 'lab-7',
        data: { firmware: '2.0.1' },
      };
      const has = (list: Body[], want: Body) => list.some((b) => JSON.stringify(b) === JSON.stringify(want));
      await eventually(() => {
        const hooked = shaped.received.map((r) => r.body as Body);
        const m = fromMqtt.map((x) => x.body);
        const a = fromAmqp.map((x) => x.body);
        return [hooked, m, a].every((l) => has(l, telemetry) && has(l, firmware));
      }, 20_000).catch((err: Error) => {
        throw new Error(
          `${err.message}: ${JSON.stringify({ shaped: shaped.received.map((r) => r.body), mqtt: fromMqtt, amqp: fromAmqp }).slice(0, 3000)}`,
        );
      });
      const topicOf = (want: Body) =>
        fromMqtt.find((x) => JSON.stringify(x.body) === JSON.stringify(want))!.topic;
      const keyOf = (want: Body) =>
        fromAmqp.find((x) => JSON.stringify(x.body) === JSON.stringify(want))!.key;
      assert.equal(topicOf(telemetry), `sdk/telemetry/${DEVICE}`);
      assert.equal(topicOf(firmware), `sdk/properties/${DEVICE}`);
      assert.equal(keyOf(telemetry), `telemetry.${DEVICE}`);
      assert.equal(keyOf(firmware), `properties.${DEVICE}`);
      // The start-up report went the same way, through the same program.
      const state = { ...firmware, data: { state: 'true' } };
      assert.ok(
        has(
          fromMqtt.map((x) => x.body),
          state,
        ),
        JSON.stringify(fromMqtt),
      );
    });
  },
);
