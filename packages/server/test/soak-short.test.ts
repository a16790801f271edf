/**
 * `npm run soak` at CI size (HARDENING.md §8 S1–S2): the same code as the long runs, on a small
 * fleet. Assertions are on correctness only (no error, nothing lost, no descriptor leaked, no
 * session left); the speed and memory figures belong to the long runs (docs/security.md).
 * The last case checks that the harness does count what it reports as 0 here: refused
 * connects and connections the server closes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { BENCH_TOKEN, makeFleet } from '../bench/fleet.js';
import { runChurn } from '../soak/churn.js';
import { startServerUnderTest, waitFor } from '../soak/server-under-test.js';
import { runSoak } from '../soak/soak.js';
import { FleetConnections } from '../soak/telemetry-load.js';
import { postgresSkipReason } from './helpers/postgres.js';

describe('soak and churn at CI size', { concurrency: false }, () => {
  it('200 devices × 1 QoS 1 message/s for 20 s: no error, every acknowledged message stored, no session left', async () => {
    const r = await runSoak({
      devices: 200,
      seconds: 20,
      connectRate: 200,
      postgres: false,
      baselineSeconds: 0,
    });
    assert.deepEqual(r.errors, { connectFailures: 0, disconnects: 0, pubackTimeouts: 0, total: 0 });
    assert.ok(r.messages.sent >= 200 * 20 * 0.95, `sent ${r.messages.sent}`);
    assert.equal(r.messages.acknowledged, r.messages.sent);
    assert.equal(r.messages.stored, r.messages.sent, 'every acknowledged message is a row');
    assert.equal(r.messages.storedCounter, r.messages.stored);
    assert.equal(r.messages.lost, 0);
    assert.deepEqual(r.sessionsAfter, { mqttConnections: 0, hubConnectedDevices: 0 });
    for (const t of r.tenths) assert.ok(t.acknowledged > 0 && t.rssMiB > 0, JSON.stringify(t));
    assert.ok(r.heap && r.heap.afterGcEndMiB > 0, 'the heap after GC is read from the server');
  });

  it('1,000 connect/disconnect cycles: no failure, no descriptor leaked, sessions back to 0', async () => {
    const r = await runChurn({ cycles: 1000, parallel: 20, postgres: false, baselineCycles: 0 });
    assert.equal(r.run.cycles, 1000);
    assert.equal(r.run.failures, 0);
    assert.ok(r.fds.leaked <= 0, `fds ${r.fds.before} → ${r.fds.after}`);
    assert.equal(r.sessions.after.hubConnectedDevices, 0);
    assert.equal(r.sessions.after.mqttConnections, 0);
  });

  it(
    'on PostgreSQL: 100 devices × 10 s, every acknowledged message stored',
    { skip: postgresSkipReason() },
    async () => {
      const r = await runSoak({
        devices: 100,
        seconds: 10,
        connectRate: 200,
        postgres: true,
        baselineSeconds: 0,
      });
      assert.equal(r.store, 'postgres');
      assert.equal(r.errors.total, 0);
      assert.ok(r.messages.sent > 0);
      assert.equal(r.messages.stored, r.messages.acknowledged);
      assert.equal(r.messages.lost, 0);
      assert.deepEqual(r.sessionsAfter, { mqttConnections: 0, hubConnectedDevices: 0 });
    },
  );

  it('counts refused connects and connections the server closes', async () => {
    const enrolled = await makeFleet(3, 'soak-counted');
    const stranger = await makeFleet(2, 'soak-stranger');
    const server = await startServerUnderTest(enrolled, false);
    try {
      const target = {
        port: server.serve.mqttPort,
        ca: server.tls.ca,
        username: (id: string) => `localhost/${id}/?api-version=2021-04-12`,
        clean: true,
      };
      // Devices of a root the server does not know: each attempt (1 + 3 retries) fails.
      const refused = await FleetConnections.open(stranger, target, 100);
      assert.equal(refused.connected, 0);
      assert.equal(refused.errors.connectFailures, 2 * 4);

      const conns = await FleetConnections.open(enrolled, target, 100);
      assert.equal(conns.connected, 3);
      const res = await fetch(`http://127.0.0.1:${server.serve.httpPort}/api/devices/soak-counted-0`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ enabled: false }),
      });
      assert.equal(res.status, 200);
      assert.ok(
        await waitFor(async () => conns.errors.disconnects >= 1, 5000),
        'the closed connection is counted',
      );
      // Its reconnects are refused (the device is disabled), and counted as well.
      assert.ok(await waitFor(async () => conns.errors.connectFailures >= 1, 5000));
      await conns.close();
      assert.ok(
        await waitFor(async () => (await server.metrics()).hubConnectedDevices === 0, 5000),
        'the gauge the churn reads goes back to 0',
      );
    } finally {
      await server.stop();
    }
  });
});
