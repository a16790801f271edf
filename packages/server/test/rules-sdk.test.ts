/**
 * Rules on the how-to's device built from the real Azure SDK (azure-iot-device +
 * azure-iot-device-mqtt, provisioned through DPS with its derived SAS key): `temperature > 30`
 * fires on its telemetry, the webhook gets IoT Central's fired-rule payload and an SMTP server
 * (smtp-server) on loopback the e-mail, the rate limits hold, and "disconnected for N minutes"
 * fires when the device goes away. The rules engine reads a clock the test moves. The SDK
 * speaks only to 8883, so the file holds the 8883 lock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { deriveDeviceKey } from '@gatehouse/protocol';

import type { Firing } from '../src/rules/rule-store.js';
import { runAzureProvision } from './helpers/azure-device.js';
import { AzureHubDevice } from './helpers/azure-hub.js';
import { eventually } from './helpers/hub-harness.js';
import { withPortLock } from './helpers/port-lock.js';
import {
  RULE_TEMPLATE,
  TestClock,
  prepareRules,
  smtpReceiver,
  webhookReceiver,
} from './helpers/rules-fixtures.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const DEVICE = 'sdk-rules';

describe(
  'rules on a real Azure SDK device: webhook, e-mail, rate limits, disconnection',
  { timeout: 180_000 },
  () => {
    let server: TestServer;
    let release: () => void = () => undefined;
    let device: AzureHubDevice | undefined;
    let hook: Awaited<ReturnType<typeof webhookReceiver>>;
    let smtp: Awaited<ReturnType<typeof smtpReceiver>>;
    const clock = new TestClock();

    const putRule = async (id: string, body: Record<string, unknown>) => {
      const r = await server.api('PUT', `/api/rules/${id}`, { displayName: id, actions: [], ...body });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const history = async (id: string) =>
      (await server.api<{ value: Firing[] }>('GET', `/api/rules/${id}/history`)).body.value;
    const send = async (body: Record<string, unknown>) => {
      const sent = device!.next((e) => e.event === 'sent', 20_000, `sent ${JSON.stringify(body)}`);
      device!.send({ cmd: 'send', body: JSON.stringify(body) });
      await sent;
    };
    const target = { template: RULE_TEMPLATE, filter: `SELECT * FROM devices WHERE $id = "${DEVICE}"` };

    before(async () => {
      await new Promise<void>((ready, fail) => {
        withPortLock(8883, () => new Promise<void>((done) => ((release = done), ready()))).catch(fail);
      });
      hook = await webhookReceiver();
      smtp = await smtpReceiver();
      server = await startTestServer({
        mqttPort: 8883,
        webRoot: '',
        smtpUrl: smtp.url,
        smtpFrom: 'alerts@gatehouse.test',
        rulesClock: clock.now,
        rulesTickMs: 3_600_000,
      });
      await prepareRules(server);
    });

    after(async () => {
      await device?.stop();
      await server?.stop();
      release();
      await hook?.close();
      await smtp?.close();
    });

    it('the SDK device provisions and connects with the rules template', async () => {
      await putRule('hot', {
        displayName: 'Too hot',
        target,
        conditions: { items: [{ capability: 'temperature', operator: '>', value: 30 }] },
        actions: [
          { id: 'hook', type: 'webhook', displayName: 'Webhook 1', url: hook.url },
          { id: 'mail', type: 'email', displayName: 'Mail ops', to: ['ops@example.com'] },
        ],
      });
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
      await device.waitFor((e) => e.event === 'reported', 20_000, 'start-up report');
      assert.equal(server.hub.registry.isConnected(DEVICE), true);
    });

    it('temperature > 30 fires: the webhook gets the payload and the SMTP server the e-mail', async () => {
      await send({ temperature: 25 });
      await send({ temperature: 35.5 });
      await eventually(() => hook.received.length === 1 && smtp.mails.length === 1, 15_000);
      await server.rules.engine.idle();
      const fired = await history('hot');
      assert.equal(fired.length, 1, 'only the message over 30');
      assert.deepEqual(fired[0]!.detail, { telemetry: [{ name: 'temperature', key: 'value', value: 35.5 }] });
      const payload = hook.received[0]!.body as Record<string, Record<string, unknown>>;
      assert.equal(payload['timestamp'] as unknown, fired[0]!.time);
      assert.deepEqual(payload['rule'], { id: 'hot', displayName: 'Too hot' });
      assert.deepEqual(payload['action'], {
        id: 'hook',
        type: 'WebhookAction',
        rules: ['hot'],
        displayName: 'Webhook 1',
        url: hook.url,
      });
      const dev = payload['device']!;
      assert.equal(dev['id'], DEVICE);
      assert.equal(dev['instanceOf'], RULE_TEMPLATE);
      assert.equal(dev['provisioned'], true);
      assert.deepEqual(dev['telemetry'], { _: { temperature: { value: 35.5 } } });
      assert.deepEqual((dev['properties'] as Record<string, unknown>)['_'], { state: { value: 'true' } });
      const mail = smtp.mails[0]!;
      assert.equal(mail.from, 'alerts@gatehouse.test');
      assert.deepEqual(mail.to, ['ops@example.com']);
      // nodemailer writes the body quoted-printable (RFC 2045 §6.7): read it as a mail reader does.
      const text = mail.raw
        .replace(/=\r?\n/g, '')
        .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
      assert.match(text, /Rule: Too hot \(hot\)/);
      assert.match(text, new RegExp(`Device: ${DEVICE} \\(${DEVICE}\\)`));
      assert.match(text, /Value: temperature = 35\.5/);
      assert.ok(text.includes(`Device page: http://localhost:${server.http.port}/devices/${DEVICE}`), text);
    });

    it('the rate limits hold: webhook once per 10 s, e-mail once a minute, the rest counted', async () => {
      for (const t of [36, 37, 38]) await send({ temperature: t });
      await eventually(async () => (await history('hot')).length >= 4, 15_000);
      await server.rules.engine.idle();
      assert.equal(hook.received.length, 1);
      assert.equal(smtp.mails.length, 1);
      const status = async () =>
        (await server.api<{ actionStatus: Record<string, unknown> }>('GET', '/api/rules/hot')).body
          .actionStatus;
      assert.deepEqual(await status(), {
        hook: { sent: 1, suppressed: 3, failed: 0 },
        mail: { sent: 1, suppressed: 3, failed: 0 },
      });
      clock.advance(10_000);
      await send({ temperature: 39 });
      await eventually(() => hook.received.length === 2, 15_000);
      await server.rules.engine.idle();
      assert.equal(smtp.mails.length, 1, 'no second e-mail within the minute');
      clock.advance(50_000);
      await send({ temperature: 40 });
      await eventually(() => hook.received.length === 3 && smtp.mails.length === 2, 15_000);
      await server.rules.engine.idle();
      assert.deepEqual(await status(), {
        hook: { sent: 3, suppressed: 3, failed: 0 },
        mail: { sent: 2, suppressed: 4, failed: 0 },
      });
    });

    it('disconnected for 2 minutes fires when the SDK device goes away, not before', async () => {
      await putRule('offline', {
        displayName: 'Gone',
        target,
        conditions: { items: [{ type: 'disconnected', minutes: 2 }] },
        actions: [{ id: 'gone-hook', type: 'webhook', url: hook.url }],
      });
      const hooksBefore = hook.received.length;
      await device!.stop();
      await eventually(() => !server.hub.registry.isConnected(DEVICE), 15_000);
      await server.rules.engine.idle();
      await server.rules.engine.tick();
      clock.advance(60_000);
      await server.rules.engine.tick();
      assert.equal((await history('offline')).length, 0, 'not before 2 minutes');
      clock.advance(61_000);
      await server.rules.engine.tick();
      await server.rules.engine.tick();
      const fired = await history('offline');
      assert.equal(fired.length, 1, 'once per disconnection');
      assert.equal(fired[0]!.deviceId, DEVICE);
      assert.equal(typeof fired[0]!.detail['disconnectedSince'], 'string');
      await eventually(() => hook.received.length === hooksBefore + 1, 15_000);
      const payload = hook.received.at(-1)!.body as Record<string, Record<string, unknown>>;
      assert.deepEqual(payload['rule'], { id: 'offline', displayName: 'Gone' });
      assert.equal(payload['device']!['id'], DEVICE);
    });
  },
);
