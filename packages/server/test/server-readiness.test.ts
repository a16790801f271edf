/**
 * `/healthz`, `/readyz` and the fail-closed watchdog on a real server (port 0, real TLS, SAS
 * devices over MQTT): a registered check that fails makes `/readyz` 503 and name it; failing
 * continuously past the limit closes the device connections so they move to a healthy node;
 * a short blip does not.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { readFileSync } from 'node:fs';

import mqtt, { type MqttClient } from 'mqtt';

import { Readiness } from '../src/lifecycle/readiness.js';
import { sasFleet, type SasFleet } from './helpers/sas-device.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const FAIL_AFTER_MS = 800;

async function get(
  server: TestServer,
  path: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(server.baseUrl + path);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function closedWithin(client: MqttClient, ms: number): Promise<boolean> {
  if (!client.connected) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    client.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe('readiness: /readyz and the watchdog on a real server', () => {
  let server: TestServer;
  let fleet: SasFleet;
  let wssFleet: SasFleet;
  let storeUp = true;
  const clients: MqttClient[] = [];

  before(async () => {
    server = await startTestServer({ readinessFailAfterMs: FAIL_AFTER_MS, readinessIntervalMs: 100 });
    const group = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      '/api/enrollmentGroups/SAS-IoT-Devices',
    );
    fleet = sasFleet(server, group.body.attestation.symmetricKey.primaryKey);
    wssFleet = sasFleet(server, group.body.attestation.symmetricKey.primaryKey, {
      url: `wss://127.0.0.1:${server.https!.port}/$iothub/websocket`,
    });
    // Stands for the PostgreSQL check another part of the server registers.
    server.readiness.register('fake-store', async () => {
      if (!storeUp) throw new Error('connection refused');
      return true;
    });
  });
  after(async () => {
    for (const c of clients) c.end(true);
    await server?.stop();
  });

  it('answers 200 ready, without authentication, naming the checks', async () => {
    const r = await get(server, '/readyz');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'ready', checks: { 'fake-store': { ok: true } } });
  });

  it('a short failure answers 503 with the failing check, and leaves devices connected', async () => {
    const device = await fleet.connect('ready-blip');
    clients.push(device);
    storeUp = false;
    try {
      const r = await get(server, '/readyz');
      assert.equal(r.status, 503);
      assert.equal(r.body['status'], 'unready');
      assert.deepEqual(r.body['failing'], ['fake-store']);
      assert.deepEqual(r.body['checks'], { 'fake-store': { ok: false, error: 'connection refused' } });
      assert.equal((await get(server, '/healthz')).status, 200, 'liveness is not readiness');
      await sleep(FAIL_AFTER_MS / 2);
    } finally {
      storeUp = true;
    }
    await sleep(300);
    assert.equal(device.connected, true);
    assert.equal((await get(server, '/readyz')).status, 200);
  });

  it(`failing for ${FAIL_AFTER_MS} ms closes every device connection; ready again afterwards`, async () => {
    const a = await fleet.connect('ready-a');
    const b = await fleet.connect('ready-b');
    const overWss = await wssFleet.connect('ready-wss');
    // A provisioning connection that has not registered yet: not a hub session, closed too.
    const dps = await mqtt.connectAsync(`mqtts://127.0.0.1:${server.mqtt.port}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      ca: readFileSync(server.serverCaPath!),
      servername: 'localhost',
      clientId: 'ready-dps',
      username: `${server.idScope}/registrations/ready-dps/api-version=2019-03-31`,
    });
    clients.push(a, b, overWss, dps);
    assert.equal(server.hub.registry.size >= 3, true);
    const started = Date.now();
    storeUp = false;
    try {
      const closedAll = await Promise.all([a, b, overWss, dps].map((c) => closedWithin(c, 5_000)));
      assert.deepEqual(closedAll, [true, true, true, true], 'MQTT, WSS and DPS connections were closed');
      assert.ok(Date.now() - started >= FAIL_AFTER_MS - 150, 'not before the limit');
      assert.equal(server.hub.registry.size, 0);
    } finally {
      storeUp = true;
    }
    await sleep(300);
    assert.equal((await get(server, '/readyz')).status, 200);
    const back = await fleet.connect('ready-a');
    clients.push(back);
    assert.equal(back.connected, true);
  });

  it('answers 503 draining once the node drains', async () => {
    const readiness = new Readiness();
    readiness.register('never-run', () => {
      throw new Error('a draining node runs no checks');
    });
    readiness.setDraining();
    assert.deepEqual(await readiness.evaluate(), { status: 'draining', checks: {}, failing: [] });
  });
});

describe('Readiness checks', () => {
  it('a check returning false, throwing or hanging fails with the reason', async () => {
    const readiness = new Readiness({ checkTimeoutMs: 50 });
    readiness.register('false', () => false);
    readiness.register('throws', () => Promise.reject(new Error('redis down')));
    readiness.register('hangs', () => new Promise<boolean>(() => undefined));
    readiness.register('fine', () => true);
    const report = await readiness.evaluate();
    assert.equal(report.status, 'unready');
    assert.deepEqual(report.failing, ['false', 'throws', 'hangs']);
    assert.deepEqual(report.checks, {
      false: { ok: false, error: 'returned false' },
      throws: { ok: false, error: 'redis down' },
      hangs: { ok: false, error: 'timed out after 50 ms' },
      fine: { ok: true },
    });
  });

  it('refuses a second check under the same name', () => {
    const readiness = new Readiness();
    readiness.register('store', () => true);
    assert.throws(() => readiness.register('store', () => true), /already registered/);
  });
});
