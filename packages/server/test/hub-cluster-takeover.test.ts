/**
 * One connection per device across the cluster (CLUSTER.md §6.2, T1–T2): a device that
 * connects to node A while node B holds it takes it over — B's connection is closed, the
 * session row names A with a higher epoch — however the two race; a late cleanup of the old
 * connection never releases the new one; node A shows a device connected to B as connected.
 * Over the in-memory bus and a real Redis.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import type { MqttClient } from 'mqtt';
import { pino } from 'pino';

import type { Bus } from '../src/events/bus.js';
import { MemoryBus } from '../src/events/memory-bus.js';
import { RedisBus } from '../src/events/redis-bus.js';
import {
  closed,
  connectDevice,
  createHubPki,
  eventually,
  insertDevice,
  selfSigned,
  startHub,
  type HubHarness,
  type HubPki,
} from './helpers/hub-harness.js';
import { requireRedisUrl, skipWithoutRedis } from './helpers/redis.js';

const logger = pino({ level: 'silent' });

function suite(name: string, open: () => Promise<[Bus, Bus]>, skip: string | false = false): void {
  describe(`device takeover between two nodes: ${name}`, { skip, concurrency: false }, () => {
    let pki: HubPki;
    let buses: [Bus, Bus];
    let a: HubHarness;
    let b: HubHarness;
    const clients: MqttClient[] = [];

    before(async () => {
      pki = await createHubPki();
      buses = await open();
      a = await startHub(pki, { hub: { bus: buses[0], nodeId: `a-${randomUUID()}` } });
      b = await startHub(pki, { dir: a.dir, hub: { bus: buses[1], nodeId: `b-${randomUUID()}` } });
    });

    after(async () => {
      for (const client of clients) client.end(true);
      await b?.stop();
      await a?.destroy();
      await Promise.all(buses?.map((bus) => bus.close()) ?? []);
    });

    async function device(base: string) {
      const id = `${base}-${randomUUID().slice(0, 6)}`;
      const cert = await selfSigned(id);
      await insertDevice(a, id, { primary: cert });
      return { id, cert };
    }

    const row = (id: string) =>
      a.store.db
        .selectFrom('device_sessions')
        .select(['node_id', 'epoch'])
        .where('device_id', '=', id)
        .executeTakeFirstOrThrow();

    it('a connection on A closes the one on B, and the session row moves to A with the next epoch', async () => {
      const { id, cert } = await device('takeover');
      const onB = await connectDevice(b, pki, id, { identity: cert });
      clients.push(onB);
      const first = await row(id);
      assert.equal(first.node_id, b.hub.nodeId);
      // A sees it connected, on B.
      assert.equal((await a.hub.devices.get(id)).status.connected, true);
      assert.equal(a.hub.isConnected(id), false);

      const bClosed = closed(onB, 5000);
      const onA = await connectDevice(a, pki, id, { identity: cert });
      clients.push(onA);
      await bClosed;
      const second = await row(id);
      assert.equal(second.node_id, a.hub.nodeId);
      assert.equal(Number(second.epoch), Number(first.epoch) + 1);
      await eventually(() => !b.hub.isConnected(id));
      assert.equal(a.hub.isConnected(id), true);
      assert.equal((await b.hub.devices.get(id)).status.connected, true, 'B sees it connected, on A');

      // B's cleanup of the old connection came after A's claim: the row still names A.
      await sleep(100);
      assert.equal((await row(id)).node_id, a.hub.nodeId);
      // The device leaves: nowhere connected, and the epoch stays (it only grows).
      onA.end(true);
      await eventually(async () => (await row(id)).node_id === null);
      assert.equal(Number((await row(id)).epoch), Number(second.epoch));
      assert.equal((await b.hub.devices.get(id)).status.connected, false);
    });

    it('a late release of an old epoch leaves the newer session alone (fencing)', async () => {
      const { id, cert } = await device('fence');
      const client = await connectDevice(a, pki, id, { identity: cert });
      clients.push(client);
      const current = await row(id);
      assert.equal(await b.hub.deviceSessions.release(id, Number(current.epoch) - 1), false);
      // Another node's release of the current epoch is fenced by the node too.
      assert.equal(await b.hub.deviceSessions.release(id, Number(current.epoch)), false);
      assert.equal((await row(id)).node_id, a.hub.nodeId);
      client.end(true);
    });

    it('a C2D message whose wake-up was lost on the bus is delivered by the sweep of the node holding the device', async () => {
      const { id, cert } = await device('sweep');
      const client = await connectDevice(b, pki, id, { identity: cert });
      clients.push(client);
      await client.subscribeAsync(`devices/${id}/messages/devicebound/#`, { qos: 1 });
      const got: string[] = [];
      client.on('message', (topic, payload) => {
        if (topic.startsWith(`devices/${id}/messages/devicebound/`)) got.push(payload.toString());
      });
      // Fault injection: the wake-up from A never reaches B (Redis restarting, say).
      const router = a.hub.router!;
      const notify = router.notify.bind(router);
      router.notify = () => Promise.resolve(false);
      try {
        await a.hub.sendMessage(id, { body: 'kept in the store' });
      } finally {
        router.notify = notify;
      }
      await sleep(300);
      assert.deepEqual(got, [], 'no wake-up, no delivery yet');
      assert.deepEqual(await b.hub.c2d.sweep(), [id]);
      await eventually(() => got.length === 1);
      assert.deepEqual(got, ['kept in the store']);
      await eventually(async () => (await a.hub.listMessages(id))[0]?.state === 'delivered');
      // Nothing queued any more: the next sweep finds nothing to do.
      assert.deepEqual(await b.hub.c2d.sweep(), []);
      client.end(true);
    });

    it('a connection superseded before its node listened for kicks is refused, not left open (T1 regression)', async () => {
      // Two real nodes, parallel CONNECTs: A claimed a newer epoch and sent its kick while B
      // was not yet subscribed to the device's channel, so the kick reached nobody and both
      // connections stayed open. Here A's claim lands exactly there (its kick goes nowhere).
      const { id, cert } = await device('superseded');
      const registry = b.hub.registry;
      const reachable = registry.reachable.bind(registry);
      let newer = 0;
      registry.reachable = async (deviceId: string) => {
        newer = (await a.hub.deviceSessions.claim(deviceId)).epoch;
        return reachable(deviceId);
      };
      try {
        await assert.rejects(connectDevice(b, pki, id, { identity: cert }));
      } finally {
        registry.reachable = reachable;
      }
      const r = await row(id);
      assert.equal(r.node_id, a.hub.nodeId);
      assert.equal(Number(r.epoch), newer);
      await eventually(() => !b.hub.isConnected(id));
    });

    it('racing connections of one device on both nodes end with exactly one live, epochs strictly growing', async () => {
      const { id, cert } = await device('race');
      let lastEpoch = 0;
      for (let round = 0; round < 10; round++) {
        const results = await Promise.allSettled([
          connectDevice(a, pki, id, { identity: cert }),
          connectDevice(b, pki, id, { identity: cert }),
        ]);
        const connected = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        clients.push(...connected);
        // Each node closes what it replaced; at most one connection stays, on the row's node.
        await eventually(() => Number(a.hub.isConnected(id)) + Number(b.hub.isConnected(id)) <= 1, 5000);
        const r = await row(id);
        assert.ok(Number(r.epoch) > lastEpoch, `round ${round}: epoch ${r.epoch} after ${lastEpoch}`);
        lastEpoch = Number(r.epoch);
        const holder = r.node_id === a.hub.nodeId ? a : r.node_id === b.hub.nodeId ? b : undefined;
        if (holder) {
          await eventually(() => holder.hub.isConnected(id), 5000);
          const other = holder === a ? b : a;
          assert.equal(
            other.hub.isConnected(id),
            false,
            `round ${round}: only ${String(r.node_id)} holds it`,
          );
        }
        for (const c of connected) c.end(true);
        await eventually(() => !a.hub.isConnected(id) && !b.hub.isConnected(id), 5000);
      }
    });
  });
}

suite('memory', async () => {
  const one = new MemoryBus({ logger });
  return [one, new MemoryBus({ logger, broker: one.broker })];
});

suite(
  'redis',
  async () => {
    const url = requireRedisUrl();
    return Promise.all([
      RedisBus.connect({ url, logger, nodeId: 'takeover-a' }),
      RedisBus.connect({ url, logger, nodeId: 'takeover-b' }),
    ]);
  },
  skipWithoutRedis(),
);
