/**
 * Cross-node device routing (CLUSTER.md §6.3, T3): node A reaches a device held by node B
 * through the bus. Online → the owner's reply; held nowhere → `offline` at once (PUBLISH
 * answered 0), well under 100 ms; owner silent → `timeout`; released → `offline` again. Over
 * the in-memory bus and a real Redis.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { pino } from 'pino';

import type { Bus } from '../src/events/bus.js';
import { MemoryBus } from '../src/events/memory-bus.js';
import { RedisBus } from '../src/events/redis-bus.js';
import type { DeviceOwner, DeviceRequests } from '../src/hub/device-requests.js';
import { DeviceRouter } from '../src/hub/device-router.js';
import { eventually } from './helpers/hub-harness.js';
import { requireRedisUrl, skipWithoutRedis } from './helpers/redis.js';

const logger = pino({ level: 'silent' });

/** An owner that answers methods by name: `echo` echoes, `silent` never answers, `boom` throws. */
class FakeOwner implements DeviceOwner {
  readonly calls: Array<[string, string]> = [];
  method(deviceId: string, request: DeviceRequests['method']['request']) {
    this.calls.push([deviceId, `method:${request.name}`]);
    if (request.name === 'silent') return new Promise<never>(() => undefined);
    if (request.name === 'boom') return Promise.reject(new Error('owner bug'));
    return Promise.resolve({
      outcome: 'completed' as const,
      status: 200,
      payload: Buffer.from(JSON.stringify({ echo: JSON.parse(request.payload) as unknown, on: deviceId })),
    });
  }
  c2dWake(deviceId: string) {
    this.calls.push([deviceId, 'c2dWake']);
    return Promise.resolve({ delivered: true });
  }
  desired(deviceId: string, request: DeviceRequests['desired']['request']) {
    this.calls.push([deviceId, `desired:${request.version}`]);
    return Promise.resolve({ sent: true });
  }
  kick(deviceId: string, request: DeviceRequests['kick']['request']) {
    this.calls.push([deviceId, `kick:${request.epoch}`]);
    return Promise.resolve({ outcome: 'closed' as const });
  }
}

function suite(name: string, open: () => Promise<[Bus, Bus]>, skip: string | false = false): void {
  describe(`device routing across nodes: ${name}`, { skip }, () => {
    let buses: [Bus, Bus];
    let a: DeviceRouter;
    let b: DeviceRouter;
    const ownerA = new FakeOwner();
    const ownerB = new FakeOwner();
    const id = (n: string) => `${n}-${randomUUID().slice(0, 8)}`;

    before(async () => {
      buses = await open();
      a = new DeviceRouter({ bus: buses[0], nodeId: `a-${randomUUID()}`, owner: ownerA, logger });
      b = new DeviceRouter({ bus: buses[1], nodeId: `b-${randomUUID()}`, owner: ownerB, logger });
    });
    after(async () => {
      await a?.close();
      await b?.close();
      await Promise.all(buses?.map((bus) => bus.close()) ?? []);
    });

    it('a device held by B answers a request made on A', async () => {
      const d = id('online');
      await b.owned(d);
      const request = { name: 'echo', payload: '{"x":1}', connectWaitMs: 0, responseTimeoutMs: 1000 };
      const result = await a.invoke(d, 'method', request, 2000);
      assert.equal(result.status, 'ok');
      assert.ok(result.status === 'ok' && result.reply.outcome === 'completed');
      if (result.status === 'ok' && result.reply.outcome === 'completed') {
        assert.equal(result.reply.status, 200);
        assert.ok(Buffer.isBuffer(result.reply.payload), 'bytes survive the bus');
        assert.deepEqual(JSON.parse(result.reply.payload.toString()), { echo: { x: 1 }, on: d });
      }
      assert.deepEqual(ownerB.calls.at(-1), [d, 'method:echo']);
      assert.equal(ownerA.calls.length, 0);
      assert.equal(a.waiting, 0);
      b.released(d);
    });

    it('a device held nowhere is offline at once (PUBLISH reached nobody)', async () => {
      const d = id('nowhere');
      const request = { name: 'echo', payload: 'null', connectWaitMs: 0, responseTimeoutMs: 5000 };
      const times: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        const result = await a.invoke(d, 'method', request, 5000);
        times.push(performance.now() - t0);
        assert.deepEqual(result, { status: 'offline' });
      }
      times.sort((x, y) => x - y);
      // The median (a loaded machine adds noise); a wait on the 5 s timeout would show in all.
      const median = times[10]!;
      assert.ok(median < 100, `offline answers: median ${median.toFixed(1)} ms`);
      assert.ok(times.at(-1)! < 1000, `slowest offline answer ${times.at(-1)!.toFixed(1)} ms`);
      assert.equal(a.waiting, 0);
    });

    it('a silent owner ends in timeout; a failing one in failed', async () => {
      const d = id('silent');
      await b.owned(d);
      const request = { name: 'silent', payload: 'null', connectWaitMs: 0, responseTimeoutMs: 100 };
      const t0 = performance.now();
      assert.deepEqual(await a.invoke(d, 'method', request, 300), { status: 'timeout' });
      const took = performance.now() - t0;
      assert.ok(took >= 290 && took < 1000, `timed out after ${took.toFixed(0)} ms`);
      const failed = await a.invoke(d, 'method', { ...request, name: 'boom' }, 2000);
      assert.deepEqual(failed, { status: 'failed', error: 'owner bug' });
      assert.equal(a.waiting, 0);
      b.released(d);
    });

    it('after release the device is offline again; owning twice subscribes once', async () => {
      const d = id('released');
      const before = buses[1].subscriptionCount;
      await b.owned(d);
      await b.owned(d);
      assert.equal(buses[1].subscriptionCount, before + 1);
      assert.equal(b.owns(d), true);
      assert.equal(await a.notify(d, 'c2dWake', {}), true);
      await eventually(() => ownerB.calls.some((c) => c[0] === d && c[1] === 'c2dWake'));
      b.released(d);
      assert.equal(b.owns(d), false);
      await eventually(async () => (await a.notify(d, 'c2dWake', {})) === false);
      assert.equal(buses[1].subscriptionCount, before);
    });

    it('carries desired pushes and kicks to the owner', async () => {
      const d = id('kinds');
      await b.owned(d);
      assert.equal(await a.notify(d, 'desired', { version: 7, body: '{"$version":7}' }), true);
      const kicked = await a.invoke(d, 'kick', { epoch: 42, reason: 'test' }, 2000);
      assert.deepEqual(kicked, { status: 'ok', reply: { outcome: 'closed' } });
      await eventually(() => ownerB.calls.some((c) => c[0] === d && c[1] === 'desired:7'));
      assert.ok(ownerB.calls.some((c) => c[0] === d && c[1] === 'kick:42'));
      b.released(d);
    });

    it('ignores malformed and unknown requests', async () => {
      const d = id('junk');
      await b.owned(d);
      const count = ownerB.calls.length;
      await buses[0].publish(`gh:dev:{${d}}`, 'not json');
      await buses[0].publish(`gh:dev:{${d}}`, JSON.stringify({ from: 'x', req: { kind: 'constructor' } }));
      await buses[0].publish(`gh:dev:{${d}}`, JSON.stringify({ from: 'x', req: null }));
      const ok = await a.invoke(
        d,
        'method',
        { name: 'echo', payload: '1', connectWaitMs: 0, responseTimeoutMs: 500 },
        1000,
      );
      assert.equal(ok.status, 'ok');
      assert.equal(ownerB.calls.length, count + 1);
      b.released(d);
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
      RedisBus.connect({ url, logger, nodeId: 'router-a' }),
      RedisBus.connect({ url, logger, nodeId: 'router-b' }),
    ]);
  },
  skipWithoutRedis(),
);
