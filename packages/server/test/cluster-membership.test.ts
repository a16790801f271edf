/**
 * Liveness and singleton work on PostgreSQL (CLUSTER.md §6.5, T8): a node that stops
 * heartbeating has its device sessions released by the reaper (devices read disconnected,
 * `disconnected` is told once); three nodes racing for a singleton job's period run it once per
 * period, and when the node that ran it stops, another takes the next period.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';

import { ClusterMembership } from '../src/cluster/membership.js';
import { SingletonScheduler, periodOf } from '../src/cluster/singleton.js';
import { DeviceSessions } from '../src/hub/device-sessions.js';
import { openPostgres, type PostgresStore } from '../src/store/postgres.js';
import { postgresSkipReason, withPostgres } from './helpers/postgres.js';

const logger = pino({ level: 'silent' });

describe('cluster membership and singleton jobs on PostgreSQL', { skip: postgresSkipReason() }, () => {
  const pg = withPostgres();
  let store: PostgresStore;

  before(async () => {
    store = await openPostgres({ url: pg.url });
  });
  after(async () => {
    await store?.close();
  });

  it('claims of one device from many nodes at once are serialised: every epoch once, in order', async () => {
    const nodes = ['n1', 'n2', 'n3'].map((n) => new DeviceSessions(store.db, n));
    const claims = await Promise.all(
      Array.from({ length: 30 }, (_, i) => nodes[i % 3]!.claim('race-device', '127.0.0.1')),
    );
    const epochs = claims.map((c) => c.epoch).sort((x, y) => x - y);
    assert.deepEqual(
      epochs,
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    // Each claim saw the one before it as the previous holder (one without: the very first).
    assert.equal(claims.filter((c) => c.previous === undefined).length, 1);
    for (const c of claims) if (c.previous) assert.equal(c.previous.epoch, c.epoch - 1);
    await store.db.deleteFrom('device_sessions').execute();
  });

  it('the reaper releases the sessions of a node whose heartbeat stopped, and only those', async () => {
    let clock = new Date('2026-12-01T00:00:00Z');
    const now = () => clock;
    const released: string[][] = [];
    const member = (nodeId: string) =>
      new ClusterMembership({
        db: store.db,
        nodeId,
        sessions: new DeviceSessions(store.db, nodeId, now),
        logger,
        now,
        heartbeatMs: 60_000,
        onReleased: (ids) => released.push(ids),
      });
    const alive = member('alive');
    const dead = member('dead');
    await alive.start();
    await dead.start();
    await new DeviceSessions(store.db, 'alive', now).claim('on-alive');
    await new DeviceSessions(store.db, 'dead', now).claim('on-dead');
    // 'dead' stops heartbeating; 'alive' writes its heartbeat 11 s later.
    clock = new Date(clock.getTime() + 11_000);
    await store.db
      .updateTable('cluster_nodes')
      .set({ heartbeat_at: clock.toISOString() })
      .where('node_id', '=', 'alive')
      .execute();
    const reaped = await alive.reap();
    assert.deepEqual(reaped, ['on-dead']);
    assert.deepEqual(released.at(-1), ['on-dead']);
    const sessions = new DeviceSessions(store.db, 'alive', now);
    assert.equal(await sessions.holder('on-dead'), undefined);
    assert.equal((await sessions.holder('on-alive'))?.nodeId, 'alive');
    const nodes = await store.db.selectFrom('cluster_nodes').select('node_id').execute();
    assert.deepEqual(
      nodes.map((n) => n.node_id),
      ['alive'],
    );
    // Reaping again releases nothing more.
    assert.deepEqual(await alive.reap(), []);
    await alive.stop();
    await dead.stop();
  });

  it('a node starting again under its old ID releases what its earlier run held', async () => {
    const sessions = new DeviceSessions(store.db, 'phoenix');
    await sessions.claim('held-by-phoenix');
    const released: string[] = [];
    const again = new ClusterMembership({
      db: store.db,
      nodeId: 'phoenix',
      sessions,
      logger,
      heartbeatMs: 60_000,
      onReleased: (ids) => released.push(...ids),
    });
    await again.start();
    assert.deepEqual(released, ['held-by-phoenix']);
    await again.stop();
  });

  it('three nodes racing for a singleton job run it once per period; the job moves when its node stops', async () => {
    let clock = new Date('2026-12-01T00:00:00.000Z');
    const runs: Array<{ node: string; period: string }> = [];
    const scheduler = (node: string) =>
      new SingletonScheduler(
        store.db,
        node,
        [
          {
            name: 'test-job',
            periodMs: 10_000,
            run: async () => {
              runs.push({ node, period: periodOf(clock, 10_000) });
              await new Promise((r) => setTimeout(r, 20));
            },
          },
        ],
        logger,
        () => clock,
      );
    const schedulers = ['s1', 's2', 's3'].map(scheduler);
    for (let period = 0; period < 5; period++) {
      // Every node ticks several times within the period.
      await Promise.all(schedulers.flatMap((s) => [s.tick(), s.tick()]));
      clock = new Date(clock.getTime() + 10_000);
    }
    assert.equal(runs.length, 5, JSON.stringify(runs));
    assert.equal(new Set(runs.map((r) => r.period)).size, 5, 'never twice in one period');
    // The node that ran the last period stops: the others still run the next ones.
    const last = runs.at(-1)!.node;
    const rest = schedulers.filter((_, i) => ['s1', 's2', 's3'][i] !== last);
    for (let period = 0; period < 3; period++) {
      await Promise.all(rest.flatMap((s) => [s.tick(), s.tick()]));
      clock = new Date(clock.getTime() + 10_000);
    }
    assert.equal(runs.length, 8);
    assert.ok(runs.slice(5).every((r) => r.node !== last));
  });
});
