/**
 * The live event bus across two nodes (CLUSTER.md §6.4): an event emitted on node A reaches
 * all-devices and per-device listeners on node B; the emitting node's listeners get it once;
 * bus subscriptions follow the listeners (counted per channel). Run over the in-memory bus
 * (two nodes on one broker) and over a real Redis.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import { pino } from 'pino';

import { channels, type Bus } from '../src/events/bus.js';
import { EventBus, UNWATCHED_RECHECK_MS } from '../src/events/event-bus.js';
import { MemoryBus } from '../src/events/memory-bus.js';
import { RedisBus } from '../src/events/redis-bus.js';
import type { HubEvent } from '../src/hub/hub-api.js';
import { eventually } from './helpers/hub-harness.js';
import { requireRedisUrl, skipWithoutRedis } from './helpers/redis.js';

const logger = pino({ level: 'silent' });

function connected(deviceId: string): HubEvent {
  return { type: 'connected', deviceId, time: new Date().toISOString() };
}

function suite(name: string, open: () => Promise<[Bus, Bus]>, skip: string | false = false): void {
  describe(`live events across nodes: ${name}`, { skip }, () => {
    let busA: Bus;
    let busB: Bus;
    let a: EventBus;
    let b: EventBus;
    // Device IDs unique per run: the shared test Redis may serve other files at once.
    const id = (n: string) => `${n}-${randomUUID().slice(0, 8)}`;

    before(async () => {
      [busA, busB] = await open();
      a = new EventBus(logger, { bus: busA, nodeId: 'node-a' });
      b = new EventBus(logger, { bus: busB, nodeId: 'node-b' });
    });
    after(async () => {
      await a?.close();
      await b?.close();
      await busA?.close();
      await busB?.close();
    });

    it('an event emitted on A reaches all-devices and per-device listeners on B, once each', async () => {
      const d1 = id('d1');
      const onAll: HubEvent[] = [];
      const onDevice: HubEvent[] = [];
      const offAll = b.subscribe((e) => onAll.push(e));
      const offDevice = b.subscribe((e) => onDevice.push(e), d1);
      await b.settled();
      const event = connected(d1);
      a.emit(event);
      await eventually(() => onAll.length === 1 && onDevice.length === 1);
      assert.deepEqual(onAll[0], event);
      assert.deepEqual(onDevice[0], event);
      await sleep(50);
      assert.equal(onAll.length, 1, 'the pattern copy and the channel copy feed different listeners');
      assert.equal(onDevice.length, 1);
      offAll();
      offDevice();
    });

    it('the emitting node calls its own listeners once, never again from the bus', async () => {
      const d2 = id('d2');
      const onAll: HubEvent[] = [];
      const onDevice: HubEvent[] = [];
      const offAll = a.subscribe((e) => onAll.push(e));
      const offDevice = a.subscribe((e) => onDevice.push(e), d2);
      await a.settled();
      a.emit(connected(d2));
      // Delivered synchronously, as in one process.
      assert.equal(onAll.length, 1);
      assert.equal(onDevice.length, 1);
      await sleep(100);
      assert.equal(onAll.length, 1);
      assert.equal(onDevice.length, 1);
      offAll();
      offDevice();
    });

    it('a per-device listener gets only its device', async () => {
      const d3 = id('d3');
      const other = id('other');
      const onDevice: HubEvent[] = [];
      const off = b.subscribe((e) => onDevice.push(e), d3);
      await b.settled();
      a.emit(connected(other));
      a.emit(connected(d3));
      await eventually(() => onDevice.length === 1);
      await sleep(50);
      assert.deepEqual(
        onDevice.map((e) => e.deviceId),
        [d3],
      );
      off();
    });

    it('subscribes a device channel only while someone on the node watches it', async () => {
      const d4 = id('d4');
      const base = busB.subscriptionCount;
      const l1 = () => undefined;
      const l2 = () => undefined;
      const off1 = b.subscribe(l1, d4);
      const off2 = b.subscribe(l2, d4);
      await b.settled();
      assert.equal(busB.subscriptionCount, base + 1, 'two listeners, one channel');
      assert.equal(await busA.publish(channels.deviceEvents(d4), '{}'), 1);
      off1();
      await sleep(20);
      assert.equal(busB.subscriptionCount, base + 1);
      off2();
      await eventually(async () => (await busA.publish(channels.deviceEvents(d4), '{}')) === 0);
      assert.equal(busB.subscriptionCount, base);
      // Subscribed and dropped before the bus answered: nothing is left behind.
      const off3 = b.subscribe(l1, d4);
      off3();
      const off4 = b.subscribe(l2, d4);
      await b.settled();
      assert.equal(busB.subscriptionCount, base + 1);
      off4();
      await eventually(() => busB.subscriptionCount === base);
    });

    it('the all-devices pattern is held while any all-devices listener is there', async () => {
      const base = busB.subscriptionCount;
      const offs = [b.subscribe(() => undefined), b.subscribe(() => undefined)];
      await b.settled();
      assert.equal(busB.subscriptionCount, base + 1);
      offs[0]!();
      offs[1]!();
      await eventually(() => busB.subscriptionCount === base);
      assert.equal(b.listenerCount, 0);
    });

    it('skips a device nobody watches, and resumes at once when a node starts watching it', async () => {
      const d6 = id('d6');
      let clock = 1_000_000;
      const emitter = new EventBus(logger, { bus: busA, nodeId: 'node-c' }, () => clock);
      await emitter.settled();
      assert.equal(emitter.hasListeners(d6), true, 'unknown yet: published');
      emitter.emit(connected(d6));
      await eventually(() => !emitter.hasListeners(d6));
      // The mark expires: published again (and marked again, still nobody).
      clock += UNWATCHED_RECHECK_MS + 1;
      assert.equal(emitter.hasListeners(d6), true);
      emitter.emit(connected(d6));
      await eventually(() => !emitter.hasListeners(d6));
      // Node B starts watching: its note reaches the emitter before the recheck.
      const onDevice: HubEvent[] = [];
      const off = b.subscribe((e) => onDevice.push(e), d6);
      await b.settled();
      await eventually(() => emitter.hasListeners(d6));
      emitter.emit(connected(d6));
      await eventually(() => onDevice.length === 1);
      off();
      // Someone watching everything: every device is published.
      await eventually(() => {
        if (emitter.hasListeners(d6)) emitter.emit(connected(d6));
        return !emitter.hasListeners(d6);
      });
      const offAll = b.subscribe(() => undefined);
      await b.settled();
      await eventually(() => emitter.hasListeners(d6));
      offAll();
      await emitter.close();
    });

    it("does not count the emitting node's own subscription as someone watching elsewhere", async () => {
      const d7 = id('d7');
      const emitter = new EventBus(logger, { bus: busA, nodeId: 'node-d' });
      const here: HubEvent[] = [];
      const off = emitter.subscribe((e) => here.push(e), d7);
      const offAll = emitter.subscribe(() => undefined);
      await emitter.settled();
      await eventually(() => {
        emitter.emit(connected(d7));
        return emitter.remoteSubscriptions === 2 && !emitter.watchedByOthers(d7);
      });
      assert.ok(here.length >= 1, 'local listeners still get every event');
      assert.equal(emitter.hasListeners(d7), true);
      off();
      offAll();
      await emitter.close();
    });

    it('ignores a malformed message and keeps delivering', async () => {
      const d5 = id('d5');
      const onDevice: HubEvent[] = [];
      const off = b.subscribe((e) => onDevice.push(e), d5);
      await b.settled();
      await busA.publish(channels.deviceEvents(d5), 'not json');
      await busA.publish(channels.deviceEvents(d5), JSON.stringify({ n: 'x' }));
      a.emit(connected(d5));
      await eventually(() => onDevice.length === 1);
      off();
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
      RedisBus.connect({ url, logger, nodeId: 'events-a' }),
      RedisBus.connect({ url, logger, nodeId: 'events-b' }),
    ]);
  },
  skipWithoutRedis(),
);
