/**
 * The rules firing on a real server (run on SQLite by rules-sqlite.test.ts and on PostgreSQL by
 * rules-postgres.test.ts): devices connect through DPS over MQTT/TLS and send telemetry and
 * reported properties; the webhook goes to an HTTP receiver and the e-mail to an SMTP server on
 * loopback. The rules engine reads a clock the tests move (windows, disconnections, rate
 * limits), and its periodic work runs when the test calls `tick()`.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import type { MqttClient } from 'mqtt';

import { CloudPropertyStore } from '../../src/app/cloud-properties.js';
import type { ServerOptions } from '../../src/index.js';
import type { Firing } from '../../src/rules/rule-store.js';
import { eventually } from './hub-harness.js';
import { twinPatchReported } from './hub-device.js';
import {
  RULE_TEMPLATE,
  TestClock,
  prepareRules,
  ruleDevice,
  send,
  smtpReceiver,
  webhookReceiver,
} from './rules-fixtures.js';
import type { SasFleet } from './sas-device.js';
import type { TestServer } from './test-server.js';

export type StartRulesServer = (overrides: Partial<ServerOptions>) => Promise<TestServer>;

const only = (deviceId: string) => ({
  template: RULE_TEMPLATE,
  filter: `SELECT * FROM devices WHERE $id = "${deviceId}"`,
});
const telemetry = (
  capability: string,
  operator: string,
  value: unknown,
  more: Record<string, unknown> = {},
) => ({
  capability,
  operator,
  value,
  ...more,
});

/**
 * The message as a reader sees it: header encoded words (RFC 2047 Q) and quoted-printable
 * bodies (RFC 2045 §6.7) decoded, as nodemailer encodes long or non-ASCII lines.
 */
function decodeMail(raw: string): string {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw
    .slice(0, split)
    .replace(/\r\n[ \t]/g, ' ')
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?Q\?(.*?)\?=/gi, (_, q: string) =>
      q
        .replace(/_/g, ' ')
        .replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
    );
  const body = raw
    .slice(split)
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return head + body;
}

export function defineRulesSuite(start: StartRulesServer): void {
  let server: TestServer;
  let fleet: SasFleet;
  const clock = new TestClock();
  const clients: MqttClient[] = [];
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;
  let smtp: Awaited<ReturnType<typeof smtpReceiver>>;

  const putRule = async (id: string, body: Record<string, unknown>) => {
    const r = await server.api('PUT', `/api/rules/${id}`, { displayName: id, actions: [], ...body });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  const history = async (id: string) =>
    (await server.api<{ value: Firing[] }>('GET', `/api/rules/${id}/history`)).body.value;
  const device = async (id: string) => {
    const c = await ruleDevice(server, fleet, id);
    clients.push(c);
    return c;
  };
  /** Waits until `rules` fired `counts` times in total, then a moment more so extras would show. */
  const settle = async (total: () => Promise<number>, expected: number) => {
    await eventually(async () => (await total()) >= expected, 10_000);
    await server.rules.engine.idle();
  };

  before(async () => {
    hook = await webhookReceiver();
    smtp = await smtpReceiver();
    server = await start({
      webRoot: '',
      smtpUrl: smtp.url,
      smtpFrom: 'alerts@gatehouse.test',
      rulesClock: clock.now,
      rulesTickMs: 3_600_000,
    });
    fleet = await prepareRules(server);
  });
  after(async () => {
    for (const c of clients) await c.endAsync().catch(() => undefined);
    await server.stop();
    await hook.close();
    await smtp.close();
  });

  it('each telemetry operator fires on the messages it matches, and only on the filtered device', async () => {
    const rules: Record<string, [Record<string, unknown>, number]> = {
      'op-gt': [telemetry('temperature', '>', 30), 1],
      'op-ge': [telemetry('temperature', '>=', 30), 2],
      'op-lt': [telemetry('temperature', '<', 30), 0],
      'op-le': [telemetry('temperature', '<=', 30), 1],
      'op-eq': [telemetry('temperature', '==', 30), 1],
      'op-ne': [telemetry('temperature', '!=', 30), 1],
      'op-contains': [telemetry('status', 'contains', 'err'), 1],
    };
    for (const [id, [condition]] of Object.entries(rules)) {
      await putRule(id, { target: only('ops-1'), conditions: { match: 'all', items: [condition] } });
    }
    const c = await device('ops-1');
    const other = await device('ops-2');
    await send(other, 'ops-2', { temperature: 99, status: 'error' });
    for (const body of [{ temperature: 30 }, { temperature: 31 }, { status: 'error 5' }, { status: 'ok' }]) {
      await send(c, 'ops-1', body);
    }
    const total = async () => {
      let n = 0;
      for (const id of Object.keys(rules)) n += (await history(id)).length;
      return n;
    };
    await settle(total, 7);
    for (const [id, [, expected]] of Object.entries(rules)) {
      const fired = await history(id);
      assert.equal(fired.length, expected, `${id} fired ${fired.length} times`);
      for (const f of fired) assert.equal(f.deviceId, 'ops-1');
    }
    const gt = (await history('op-gt'))[0]!;
    assert.deepEqual(gt.detail, { telemetry: [{ name: 'temperature', key: 'value', value: 31 }] });
  });

  it('all needs every condition in the message, any one of them', async () => {
    const items = [telemetry('temperature', '>', 30), telemetry('humidity', '<', 50)];
    await putRule('match-all', { target: only('match-1'), conditions: { match: 'all', items } });
    await putRule('match-any', { target: only('match-1'), conditions: { match: 'any', items } });
    const c = await device('match-1');
    await send(c, 'match-1', { temperature: 35, humidity: 60 });
    await send(c, 'match-1', { temperature: 35, humidity: 40 });
    await send(c, 'match-1', { temperature: 20, humidity: 70 });
    await settle(async () => (await history('match-all')).length + (await history('match-any')).length, 3);
    assert.equal((await history('match-all')).length, 1);
    assert.equal((await history('match-any')).length, 2);
  });

  it("a cloud property is the threshold: the device's own maxTemp", async () => {
    await new CloudPropertyStore(server.db).set('cloud-1', undefined, 'maxTemp', 25);
    await putRule('cloud-threshold', {
      target: only('cloud-1'),
      conditions: { items: [{ capability: 'temperature', operator: '>', cloudProperty: 'maxTemp' }] },
    });
    const c = await device('cloud-1');
    await send(c, 'cloud-1', { temperature: 24 });
    await send(c, 'cloud-1', { temperature: 26 });
    await settle(async () => (await history('cloud-threshold')).length, 1);
    const fired = await history('cloud-threshold');
    assert.equal(fired.length, 1);
    assert.deepEqual(fired[0]!.detail['telemetry'], [{ name: 'temperature', key: 'value', value: 26 }]);
  });

  it("the webhook gets IoT Central's fired-rule payload and the e-mail names device, rule, value and link", async () => {
    await new CloudPropertyStore(server.db).set('hot-1', undefined, 'city', 'Seattle');
    await putRule('hot', {
      displayName: 'Too hot',
      target: only('hot-1'),
      conditions: { items: [telemetry('temperature', '>', 30)] },
      actions: [
        { id: 'hook', type: 'webhook', displayName: 'Webhook 1', url: hook.url },
        {
          id: 'mail',
          type: 'email',
          displayName: 'Mail ops',
          to: ['ops@example.com'],
          note: 'Check the fan.',
        },
      ],
    });
    const c = await device('hot-1');
    await twinPatchReported(c, JSON.stringify({ firmware: '1.2.3' }));
    await send(c, 'hot-1', { temperature: 35.5 });
    await eventually(() => hook.received.length === 1 && smtp.mails.length === 1, 10_000);
    await server.rules.engine.idle();
    const payload = hook.received[0]!.body as Record<string, Record<string, unknown>>;
    const dev = (await server.api<{ etag: string }>('GET', '/api/devices/hot-1')).body;
    const fired = await history('hot');
    assert.deepEqual(payload, {
      timestamp: fired[0]!.time,
      action: { id: 'hook', type: 'WebhookAction', rules: ['hot'], displayName: 'Webhook 1', url: hook.url },
      application: {
        id: server.idScope,
        displayName: 'Gatehouse',
        subdomain: 'localhost',
        host: 'localhost',
      },
      device: {
        id: 'hot-1',
        etag: dev.etag,
        displayName: 'hot-1',
        instanceOf: RULE_TEMPLATE,
        simulated: false,
        provisioned: true,
        approved: true,
        cloudProperties: { city: { value: 'Seattle' } },
        properties: { _: { firmware: { value: '1.2.3' } } },
        telemetry: { _: { temperature: { value: 35.5 } } },
      },
      rule: { id: 'hot', displayName: 'Too hot' },
    });
    const mail = smtp.mails[0]!;
    assert.equal(mail.from, 'alerts@gatehouse.test');
    assert.deepEqual(mail.to, ['ops@example.com']);
    const text = decodeMail(mail.raw);
    assert.match(text, /Subject: Gatehouse alert: "Too hot" triggered on "hot-1"/);
    assert.match(text, /Content-Type: text\/plain/);
    assert.match(text, /Content-Type: text\/html/);
    assert.match(text, /Rule: Too hot \(hot\)/);
    assert.match(text, /Device: hot-1 \(hot-1\)/);
    assert.match(text, /Value: temperature = 35.5/);
    assert.match(text, /Check the fan\./);
    const link = `http://localhost:${server.http.port}/devices/hot-1`;
    assert.ok(text.includes(`Device page: ${link}`), text);
    assert.ok(text.includes(`<a href="${link}">`), text);
    assert.ok(text.includes('<th align="left">Value</th><td>temperature = 35.5</td>'), text);
  });

  it('rate limits: webhook once per 10 s, e-mail once a minute, each suppressed alert counted and shown', async () => {
    const c = clients.find((x) => x.options.clientId === 'hot-1')!;
    for (const t of [36, 37, 38]) await send(c, 'hot-1', { temperature: t });
    await settle(async () => (await history('hot')).length, 4);
    assert.equal(hook.received.length, 1);
    assert.equal(smtp.mails.length, 1);
    const status = async () =>
      (await server.api<{ actionStatus: Record<string, unknown> }>('GET', '/api/rules/hot')).body
        .actionStatus;
    assert.deepEqual(await status(), {
      hook: { sent: 1, suppressed: 3, failed: 0 },
      mail: { sent: 1, suppressed: 3, failed: 0 },
    });
    const latest = (await history('hot'))[0]!;
    assert.deepEqual(
      latest.actions.map((a) => a.outcome),
      ['suppressed', 'suppressed'],
    );

    clock.advance(10_000);
    await send(c, 'hot-1', { temperature: 39 });
    await eventually(() => hook.received.length === 2, 10_000);
    await server.rules.engine.idle();
    assert.equal(smtp.mails.length, 1);
    clock.advance(50_000);
    await send(c, 'hot-1', { temperature: 40 });
    await eventually(() => hook.received.length === 3 && smtp.mails.length === 2, 10_000);
    await server.rules.engine.idle();
    assert.deepEqual(await status(), {
      hook: { sent: 3, suppressed: 3, failed: 0 },
      mail: { sent: 2, suppressed: 4, failed: 0 },
    });
  });

  it('a failed delivery is recorded in words: connection refused, and an HTTP 500 with its first line', async () => {
    const closed = await webhookReceiver();
    await closed.close();
    const broken = await webhookReceiver();
    broken.status = 500;
    await putRule('failing', {
      target: only('fail-1'),
      conditions: { items: [telemetry('temperature', '>', 0)] },
      actions: [
        { id: 'refused', type: 'webhook', url: closed.url },
        { id: 'broken', type: 'webhook', url: broken.url },
      ],
    });
    const c = await device('fail-1');
    await send(c, 'fail-1', { temperature: 1 });
    await settle(async () => (await history('failing')).length, 1);
    await broken.close();
    const [firing] = await history('failing');
    const port = (u: string) => new URL(u).host;
    assert.deepEqual(firing!.actions, [
      {
        id: 'refused',
        type: 'webhook',
        outcome: 'failed',
        error: `connection refused by ${port(closed.url)}`,
      },
      {
        id: 'broken',
        type: 'webhook',
        outcome: 'failed',
        error: `HTTP 500 from ${port(broken.url)}: receiver broken`,
      },
    ]);
    const view = await server.api<{ actionStatus: Record<string, { failed: number; lastError: string }> }>(
      'GET',
      '/api/rules/failing',
    );
    assert.equal(view.body.actionStatus['refused']!.failed, 1);
    assert.equal(
      view.body.actionStatus['broken']!.lastError,
      `HTTP 500 from ${port(broken.url)}: receiver broken`,
    );
  });

  it('a windowed rule evaluates once per tumbling window, at its end', async () => {
    await putRule('window-avg', {
      target: only('win-1'),
      conditions: {
        match: 'all',
        aggregationWindow: 'PT5M',
        items: [
          telemetry('temperature', '>', 30, { aggregation: 'avg' }),
          telemetry('temperature', '>=', 3, { aggregation: 'count' }),
        ],
      },
      actions: [{ id: 'hook', type: 'webhook', url: hook.url }],
    });
    const c = await device('win-1');
    // Into the first second of a window, so the three messages share it.
    const FIVE = 300_000;
    clock.advance(FIVE - (clock.now() % FIVE) + 1000);
    const before = hook.received.length;
    for (const t of [20, 40, 50]) await send(c, 'win-1', { temperature: t });
    await eventually(async () => {
      await server.rules.engine.idle();
      await server.rules.engine.tick();
      return (
        (await server.api<{ value: unknown[] }>('GET', '/api/devices/win-1/telemetry/temperature')).status ===
        200
      );
    });
    await server.rules.engine.idle();
    await server.rules.engine.tick();
    assert.equal((await history('window-avg')).length, 0, 'nothing before the window ends');
    clock.advance(FIVE);
    await server.rules.engine.tick();
    await server.rules.engine.tick();
    const fired = await history('window-avg');
    assert.equal(fired.length, 1);
    assert.deepEqual(fired[0]!.detail['telemetry'], [
      { name: 'temperature', key: 'avg', value: 110 / 3 },
      { name: 'temperature', key: 'count', value: 3 },
    ]);
    await eventually(() => hook.received.length === before + 1);
    const payload = hook.received[before]!.body as { device: { telemetry: unknown } };
    assert.deepEqual(payload.device.telemetry, { _: { temperature: { avg: 110 / 3, count: 3 } } });
    // The next window's average is 10: no firing.
    for (const t of [10, 10, 10]) await send(c, 'win-1', { temperature: t });
    await new Promise((r) => setTimeout(r, 300));
    await server.rules.engine.idle();
    clock.advance(FIVE);
    await server.rules.engine.tick();
    assert.equal((await history('window-avg')).length, 1);
  });

  it('a property condition fires on the reported change that makes it true', async () => {
    await putRule('firmware', {
      target: only('prop-1'),
      conditions: { items: [{ type: 'property', capability: 'firmware', operator: '==', value: '2.0' }] },
    });
    const c = await device('prop-1');
    await twinPatchReported(c, JSON.stringify({ firmware: '1.0' }));
    await twinPatchReported(c, JSON.stringify({ firmware: '2.0' }));
    await twinPatchReported(c, JSON.stringify({ battery: 50 }));
    await settle(async () => (await history('firmware')).length, 1);
    await new Promise((r) => setTimeout(r, 200));
    await server.rules.engine.idle();
    const fired = await history('firmware');
    assert.equal(fired.length, 1);
    assert.deepEqual(fired[0]!.detail['properties'], [{ name: 'firmware', value: '2.0' }]);
  });

  it('disconnected for N minutes fires once per disconnection, N minutes after it', async () => {
    await putRule('offline', {
      target: only('gone-1'),
      conditions: { items: [{ type: 'disconnected', minutes: 2 }] },
      actions: [{ id: 'hook', type: 'webhook', url: hook.url }],
    });
    const c = await device('gone-1');
    await c.endAsync();
    await eventually(async () => {
      const d = await server.api<{ status?: string }>('GET', '/api/devices/gone-1');
      return !server.hub.registry.isConnected('gone-1') && d.status === 200;
    });
    await server.rules.engine.idle();
    await server.rules.engine.tick();
    assert.equal((await history('offline')).length, 0, 'not before 2 minutes');
    clock.advance(121_000);
    await server.rules.engine.tick();
    await server.rules.engine.tick();
    const fired = await history('offline');
    assert.equal(fired.length, 1);
    assert.equal(typeof fired[0]!.detail['disconnectedSince'], 'string');
    // A second disconnection fires again.
    const again = await fleet.connect('gone-1');
    await eventually(() => server.hub.registry.isConnected('gone-1'));
    await again.endAsync();
    await eventually(() => !server.hub.registry.isConnected('gone-1'));
    await server.rules.engine.idle();
    clock.advance(121_000);
    await server.rules.engine.tick();
    assert.equal((await history('offline')).length, 2);
  });

  it('history per device lists every rule that fired on it, newest first, with paging', async () => {
    const all = await server.api<{ value: Firing[] }>('GET', '/api/devices/ops-1/ruleHistory');
    assert.equal(all.body.value.length, 7);
    assert.ok(all.body.value.every((f) => f.deviceId === 'ops-1'));
    const ids = all.body.value.map((f) => f.id);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => b - a),
    );
    const page = await server.api<{ value: Firing[]; nextLink?: string }>(
      'GET',
      '/api/devices/ops-1/ruleHistory?maxpagesize=4',
    );
    assert.equal(page.body.value.length, 4);
    const next = new URL(page.body.nextLink!);
    const rest = await server.api<{ value: Firing[] }>('GET', next.pathname + next.search);
    assert.deepEqual(
      [...page.body.value, ...rest.body.value].map((f) => f.id),
      ids,
    );
  });
}
