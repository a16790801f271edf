/**
 * Data export end to end, run on SQLite and on PostgreSQL (export-delivery-*.test.ts): real
 * devices over MQTT/TLS through DPS and the hub, a real HTTP receiver on loopback, and the
 * server restarted on its data. Proves each message format, filter and enrichments, at-least-once
 * delivery through an outage and a restart, and the backlog bound.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';

import type { MqttClient } from 'mqtt';

import { THERMOSTAT_MODEL } from '../../src/app/device-templates-builtin.js';
import type { ServerOptions } from '../../src/index.js';
import { sasFleet } from './sas-device.js';
import { startTestServer, type TestServer } from './test-server.js';
import { startWebhookReceiver, type Received, type WebhookReceiver } from './webhook-receiver.js';

const V = '?api-version=2022-10-31-preview';
const TEMPLATE = 'dtmi:test:ExportedTemplate;1';
type Msg = Record<string, unknown>;

export interface SuiteStore {
  /** A database URL for a new server (PostgreSQL), or undefined for SQLite in the data folder. */
  database(): Promise<string | undefined>;
}

async function connectDevice(server: TestServer, id: string): Promise<MqttClient> {
  const group = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
    'GET',
    '/api/enrollmentGroups/SAS-IoT-Devices',
  );
  return sasFleet(server, group.body.attestation.symmetricKey.primaryKey).connect(id);
}

async function send(client: MqttClient, id: string, body: unknown, props = ''): Promise<void> {
  await client.publishAsync(`devices/${id}/messages/events/${props}`, JSON.stringify(body), { qos: 1 });
}

function messagesOf(received: Received[], deviceId: string, source = 'telemetry'): Msg[] {
  return received
    .map((r) => r.body as Msg)
    .filter((m) => m['deviceId'] === deviceId && m['messageSource'] === source);
}

async function waitStatus(
  server: TestServer,
  id: string,
  ok: (e: Msg) => boolean,
  timeoutMs = 15_000,
): Promise<Msg> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await server.api<Msg>('GET', `/api/dataExport/exports/${id}${V}`);
    if (ok(r.body)) return r.body;
    if (Date.now() > end) assert.fail(`export ${id} status not reached: ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

export function exportDeliverySuite(store: SuiteStore): void {
  let hook: WebhookReceiver;
  const dirs: string[] = [];
  const servers: TestServer[] = [];
  const clients: MqttClient[] = [];

  const start = async (
    dataDir: string,
    databaseUrl: string | undefined,
    extra: Partial<ServerOptions> = {},
  ) => {
    const s = await startTestServer({ dataDir, ...(databaseUrl ? { databaseUrl } : {}), ...extra });
    servers.push(s);
    return s;
  };
  const fresh = async (extra: Partial<ServerOptions> = {}) => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-export-'));
    dirs.push(dir);
    const db = await store.database();
    return { server: await start(dir, db, extra), dir, db };
  };
  const device = async (server: TestServer, id: string) => {
    const c = await connectDevice(server, id);
    clients.push(c);
    return c;
  };
  const setUp = async (server: TestServer, exportBody: Msg, id = 'e1') => {
    const d = await server.api('PUT', `/api/dataExport/destinations/hook${V}`, {
      displayName: 'Receiver',
      type: 'webhook@v1',
      url: hook.url,
    });
    assert.equal(d.status, 200, JSON.stringify(d.body));
    const e = await server.api('PUT', `/api/dataExport/exports/${id}${V}`, {
      displayName: id,
      enabled: true,
      destinations: [{ id: 'hook' }],
      ...exportBody,
    });
    assert.equal(e.status, 200, JSON.stringify(e.body));
  };

  before(async () => {
    hook = await startWebhookReceiver();
  });
  after(async () => {
    for (const c of clients) c.end(true);
    for (const s of servers) await s.stop().catch(() => undefined);
    await hook?.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("telemetry arrives in IoT Central's format, filtered and enriched", async () => {
    const { server } = await fresh();
    await setUp(server, {
      source: 'telemetry',
      filter: 'SELECT * FROM devices WHERE temperature > 20 AND $id = "fmt-dev"',
      enrichments: {
        fixed: { value: 'sampleValue' },
        name: { path: '$displayName' },
        firmware: { target: 'any', path: 'fw' },
        missing: { target: 'any', path: 'nothingHere' },
      },
    });
    const c = await device(server, 'fmt-dev');
    await c.publishAsync('$iothub/twin/PATCH/properties/reported/?$rid=1', JSON.stringify({ fw: '1.2.3' }), {
      qos: 0,
    });
    await new Promise((r) => setTimeout(r, 300));
    await send(c, 'fmt-dev', { temperature: 10 });
    await send(c, 'fmt-dev', { temperature: 25, humidity: 40 }, 'k1=v1');
    await hook.waitFor((r) => messagesOf(r, 'fmt-dev').length >= 1);
    await new Promise((r) => setTimeout(r, 500));
    const got = messagesOf(hook.received, 'fmt-dev');
    assert.equal(got.length, 1, 'the message with temperature 10 is filtered out');
    const m = got[0]!;
    const app = await server.api<Msg>('GET', `/api/dataExport/destinations/hook${V}`);
    assert.equal(app.status, 200);
    assert.deepEqual(Object.keys(m), [
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
    assert.match(String(m['applicationId']), /^[0-9a-f-]{36}$/);
    assert.equal(m['schema'], 'default@v1');
    assert.match(String(m['enqueuedTime']), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.deepEqual(m['telemetry'], { temperature: 25, humidity: 40 });
    assert.deepEqual(m['enrichments'], { fixed: 'sampleValue', name: 'fmt-dev', firmware: '1.2.3' });
    assert.equal((m['messageProperties'] as Msg)['k1'], 'v1');
  });

  it('properties, connectivity and lifecycle arrive in their formats', async () => {
    const { server } = await fresh();
    await setUp(server, { source: 'properties', enrichments: { fixed: { value: 'p' } } }, 'props');
    await setUp(server, { source: 'deviceConnectivity' }, 'conn');
    await setUp(server, { source: 'deviceLifecycle' }, 'life');
    const c = await device(server, 'src-dev');
    await c.publishAsync(
      '$iothub/twin/PATCH/properties/reported/?$rid=2',
      JSON.stringify({ swVersion: '12', thermostat1: { __t: 'c', maxTemp: 40 } }),
      { qos: 0 },
    );
    await hook.waitFor(
      (r) =>
        messagesOf(r, 'src-dev', 'properties').length >= 1 &&
        messagesOf(r, 'src-dev', 'deviceConnectivity').length >= 1,
    );
    const p = messagesOf(hook.received, 'src-dev', 'properties')[0]!;
    assert.equal(p['messageType'], 'devicePropertyReportedChange');
    assert.equal(p['schema'], 'default@v1');
    assert.deepEqual(p['properties'], [
      { name: 'swVersion', value: '12' },
      { component: 'thermostat1', name: 'maxTemp', value: 40 },
    ]);
    assert.deepEqual(p['enrichments'], { fixed: 'p' });
    const conn = messagesOf(hook.received, 'src-dev', 'deviceConnectivity')[0]!;
    assert.deepEqual(
      { ...conn, applicationId: 'x', enqueuedTime: 'x', templateId: 'x' },
      {
        applicationId: 'x',
        messageSource: 'deviceConnectivity',
        messageType: 'connected',
        deviceId: 'src-dev',
        schema: 'default@v1',
        templateId: 'x',
        enqueuedTime: 'x',
        enrichments: {},
      },
    );
    c.end(true);
    await hook.waitFor((r) =>
      messagesOf(r, 'src-dev', 'deviceConnectivity').some((m) => m['messageType'] === 'disconnected'),
    );
    assert.equal((await server.api('PUT', '/api/devices/life-dev', { displayName: 'Life' })).status, 200);
    assert.equal((await server.api('PATCH', '/api/devices/life-dev', { enabled: false })).status, 200);
    assert.equal(
      (await server.api('PATCH', '/api/devices/life-dev', { displayName: 'Renamed' })).status,
      200,
    );
    assert.equal((await server.api('DELETE', '/api/devices/life-dev')).status, 204);
    const types = ['registered', 'disabled', 'displayNameChanged', 'deleted'];
    await hook.waitFor((r) => messagesOf(r, 'life-dev', 'deviceLifecycle').length >= types.length);
    assert.deepEqual(
      messagesOf(hook.received, 'life-dev', 'deviceLifecycle').map((m) => m['messageType']),
      types,
    );
  });

  it('template lifecycle arrives without a deviceId', async () => {
    const { server } = await fresh();
    await setUp(server, { source: 'deviceTemplateLifecycle', filter: `SELECT * FROM ${TEMPLATE}` }, 'tmpl');
    const path = `/api/deviceTemplates/${encodeURIComponent(TEMPLATE)}`;
    const created = await server.api('PUT', path, { ...THERMOSTAT_MODEL, '@id': TEMPLATE });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    // Another template, outside the filter.
    await server.api('PUT', `/api/deviceTemplates/${encodeURIComponent('dtmi:test:Other;1')}`, {
      ...THERMOSTAT_MODEL,
      '@id': 'dtmi:test:Other;1',
    });
    const ofTemplate = (r: Received[]) =>
      r.map((x) => x.body as Msg).filter((m) => m['messageSource'] === 'deviceTemplateLifecycle');
    await hook.waitFor((r) => ofTemplate(r).length >= 1, 20_000);
    assert.equal((await server.api('DELETE', path)).status, 204);
    await hook.waitFor((r) => ofTemplate(r).length >= 2, 20_000);
    const [c, d] = ofTemplate(hook.received);
    assert.deepEqual(Object.keys(c!).sort(), [
      'applicationId',
      'enqueuedTime',
      'enrichments',
      'messageSource',
      'messageType',
      'schema',
      'templateId',
    ]);
    assert.deepEqual([c!['messageType'], c!['templateId']], ['created', TEMPLATE]);
    assert.deepEqual([d!['messageType'], d!['templateId']], ['deleted', TEMPLATE]);
    assert.equal(ofTemplate(hook.received).length, 2);
  });

  it('destination down (refused, then 500s) then up: every stored message arrives', async () => {
    const { server } = await fresh();
    await setUp(server, { source: 'telemetry', filter: 'SELECT * FROM devices WHERE $id = "outage-dev"' });
    const c = await device(server, 'outage-dev');
    await hook.down();
    for (let i = 0; i < 20; i++) await send(c, 'outage-dev', { n: i });
    const failing = await waitStatus(server, 'e1', (e) => e['status'] === 'error');
    assert.match(JSON.stringify(failing['errors']), /connection refused by 127\.0\.0\.1/);
    assert.ok(Number(failing['backlog']) > 0, 'the backlog is shown');
    await hook.up();
    hook.mode = 'fail';
    for (let i = 20; i < 30; i++) await send(c, 'outage-dev', { n: i });
    await waitStatus(server, 'e1', (e) =>
      JSON.stringify(e['errors']).includes('HTTP 500: receiver is failing'),
    );
    hook.mode = 'ok';
    await hook.waitFor(
      (r) => new Set(messagesOf(r, 'outage-dev').map((m) => (m['telemetry'] as Msg)['n'])).size === 30,
      40_000,
    );
    const healthy = await waitStatus(server, 'e1', (e) => e['status'] === 'healthy' && e['backlog'] === 0);
    assert.ok(Number(healthy['delivered']) >= 30);
    assert.equal(healthy['dropped'], 0);
    assert.ok(typeof healthy['lastExportTime'] === 'string');
  });

  it('a destination that answers 4xx forever shows its backlog and blocks nothing else', async () => {
    const { server } = await fresh();
    const refusing = createServer((_req, res) => res.writeHead(403).end('Forbidden: bad key\nmore'));
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
    try {
      await setUp(
        server,
        { source: 'telemetry', filter: 'SELECT * FROM devices WHERE $id = "four-dev"' },
        'good',
      );
      const bad = await server.api('PUT', `/api/dataExport/destinations/refusing${V}`, {
        displayName: 'Refusing',
        type: 'webhook@v1',
        url: `http://127.0.0.1:${(refusing.address() as AddressInfo).port}/hook`,
      });
      assert.equal(bad.status, 200);
      await server.api('PUT', `/api/dataExport/exports/bad${V}`, {
        displayName: 'bad',
        enabled: true,
        source: 'telemetry',
        destinations: [{ id: 'refusing' }],
      });
      const c = await device(server, 'four-dev');
      for (let i = 0; i < 5; i++) await send(c, 'four-dev', { n: i });
      await hook.waitFor((r) => messagesOf(r, 'four-dev').length >= 5);
      const failing = await waitStatus(
        server,
        'bad',
        (e) => e['status'] === 'error' && Number(e['backlog']) >= 5,
      );
      assert.match(JSON.stringify(failing['errors']), /HTTP 403: Forbidden: bad key/);
      await waitStatus(server, 'good', (e) => e['status'] === 'healthy' && e['delivered'] === 5);
    } finally {
      refusing.closeAllConnections();
      refusing.close();
    }
  });

  it('a restart mid-backlog loses nothing', async () => {
    const { server, dir, db } = await fresh();
    await setUp(server, { source: 'telemetry', filter: 'SELECT * FROM devices WHERE $id = "restart-dev"' });
    const c = await device(server, 'restart-dev');
    await hook.down();
    for (let i = 0; i < 15; i++) await send(c, 'restart-dev', { n: i });
    c.end(true);
    await server.stop();
    await hook.up();
    const again = await start(dir, db);
    await hook.waitFor(
      (r) => new Set(messagesOf(r, 'restart-dev').map((m) => (m['telemetry'] as Msg)['n'])).size === 15,
      40_000,
    );
    const s = await waitStatus(again, 'e1', (e) => e['backlog'] === 0 && e['status'] === 'healthy');
    assert.equal(s['dropped'], 0);
  });

  it('over the backlog bound the oldest are dropped, counted and shown', async () => {
    const { server } = await fresh({ exportBacklogMs: 2000 });
    await setUp(server, { source: 'telemetry', filter: 'SELECT * FROM devices WHERE $id = "bound-dev"' });
    const c = await device(server, 'bound-dev');
    await hook.down();
    for (let i = 0; i < 5; i++) await send(c, 'bound-dev', { n: i });
    await new Promise((r) => setTimeout(r, 2500));
    for (let i = 5; i < 8; i++) await send(c, 'bound-dev', { n: i });
    await hook.up();
    await hook.waitFor((r) => messagesOf(r, 'bound-dev').length >= 3, 40_000);
    const s = await waitStatus(server, 'e1', (e) => e['dropped'] === 5 && e['backlog'] === 0);
    assert.equal(s['delivered'], 3);
    assert.deepEqual(
      messagesOf(hook.received, 'bound-dev').map((m) => (m['telemetry'] as Msg)['n']),
      [5, 6, 7],
    );
    const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
    assert.match(metrics, /gatehouse_export_dropped_total\{destination="hook",export="e1"\} 5/);
    assert.match(metrics, /gatehouse_export_delivered_total\{destination="hook",export="e1"\} 3/);
    assert.match(metrics, /gatehouse_export_backlog\{destination="hook",export="e1"\} 0/);
  });
}
