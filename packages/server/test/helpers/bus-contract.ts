/**
 * The bus contract (events/bus.ts), one suite every implementation must pass (STYLE.md §9, like
 * MQTT.js's abstract store tests). `open()` gives two nodes on one broker. Channel names carry a
 * random prefix: the shared test Redis may serve other test files at the same time.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import type { Bus } from '../../src/events/bus.js';
import type { GatehouseError } from '../../src/errors.js';
import { eventually } from './hub-harness.js';

export interface BusPair {
  a: Bus;
  b: Bus;
  close(): Promise<void>;
}

type Received = Array<{ message: string; channel: string }>;

function collector(): { received: Received; handler: (m: Buffer, c: string) => void } {
  const received: Received = [];
  return { received, handler: (m, c) => void received.push({ message: m.toString('latin1'), channel: c }) };
}

export function busContract(name: string, open: () => Promise<BusPair>, skip: string | false = false): void {
  describe(`bus contract: ${name}`, { skip }, () => {
    let pair: BusPair;
    const prefix = `t:${randomUUID().slice(0, 8)}:`;
    const ch = (n: string) => prefix + n;

    before(async () => {
      pair = await open();
    });
    after(async () => {
      await pair?.close();
    });

    it('PUBLISH to a channel nobody listens to answers 0', async () => {
      assert.equal(await pair.a.publish(ch('nobody'), 'x'), 0);
    });

    it('delivers to a subscriber on the other node, bytes intact, and counts it', async () => {
      const c = collector();
      const unsubscribe = await pair.b.subscribe(ch('one'), c.handler);
      const binary = Buffer.from([0, 255, 10, 13, 0x80, 0x7f]);
      assert.equal(await pair.a.publish(ch('one'), 'héllo'), 1);
      assert.equal(await pair.a.publish(ch('one'), binary), 1);
      await eventually(() => c.received.length === 2);
      assert.deepEqual(c.received, [
        { message: Buffer.from('héllo').toString('latin1'), channel: ch('one') },
        { message: binary.toString('latin1'), channel: ch('one') },
      ]);
      await unsubscribe();
      assert.equal(await pair.a.publish(ch('one'), 'gone'), 0);
    });

    it('counts nodes, not handlers: two handlers on one node are one receiver, both called', async () => {
      const c1 = collector();
      const c2 = collector();
      const u1 = await pair.b.subscribe(ch('two'), c1.handler);
      const u2 = await pair.b.subscribe(ch('two'), c2.handler);
      const u3 = await pair.a.subscribe(ch('two'), collector().handler);
      assert.equal(await pair.a.publish(ch('two'), 'm'), 2);
      await eventually(() => c1.received.length === 1 && c2.received.length === 1);
      await u1();
      assert.equal(await pair.a.publish(ch('two'), 'm2'), 2, 'the other handler keeps the channel');
      await eventually(() => c2.received.length === 2);
      assert.equal(c1.received.length, 1);
      await u2();
      await u2(); // a second call is harmless
      assert.equal(await pair.a.publish(ch('two'), 'm3'), 1);
      await u3();
      assert.equal(await pair.a.publish(ch('two'), 'm4'), 0);
    });

    it('keeps the order of one publisher', async () => {
      const c = collector();
      const unsubscribe = await pair.b.subscribe(ch('order'), c.handler);
      await Promise.all(Array.from({ length: 200 }, (_, i) => pair.a.publish(ch('order'), String(i))));
      await eventually(() => c.received.length === 200);
      assert.deepEqual(
        c.received.map((r) => Number(r.message)),
        Array.from({ length: 200 }, (_, i) => i),
      );
      await unsubscribe();
    });

    it('pattern subscriptions see the matching channels, with the channel name', async () => {
      const c = collector();
      const unsubscribe = await pair.b.psubscribe(`${prefix}ev:{*}`, c.handler);
      assert.equal(await pair.a.publish(ch('ev:{d-1}'), 'one'), 1);
      assert.equal(await pair.a.publish(ch('ev:fleet'), 'not a device channel'), 0);
      assert.equal(await pair.a.publish(ch('ev:{d:2.x_y}'), 'two'), 1);
      await eventually(() => c.received.length === 2);
      assert.deepEqual(
        c.received.map((r) => r.channel),
        [ch('ev:{d-1}'), ch('ev:{d:2.x_y}')],
      );
      // A node with the channel and a matching pattern counts twice, as Redis does.
      const u2 = await pair.b.subscribe(ch('ev:{d-1}'), collector().handler);
      assert.equal(await pair.a.publish(ch('ev:{d-1}'), 'three'), 2);
      await u2();
      await unsubscribe();
      assert.equal(await pair.a.publish(ch('ev:{d-1}'), 'four'), 0);
    });

    it('a handler that throws does not stop the others', async () => {
      const c = collector();
      const u1 = await pair.b.subscribe(ch('throw'), () => {
        throw new Error('listener bug');
      });
      const u2 = await pair.b.subscribe(ch('throw'), c.handler);
      await pair.a.publish(ch('throw'), 'x');
      await pair.a.publish(ch('throw'), 'y');
      await eventually(() => c.received.length === 2);
      await u1();
      await u2();
    });

    it('reports health and counts subscriptions', async () => {
      assert.equal(pair.a.isHealthy(), true);
      const health = await pair.a.check();
      assert.equal(health.ok, true);
      assert.equal(health.state, 'up');
      const before = pair.b.subscriptionCount;
      const u = await pair.b.subscribe(ch('count'), () => undefined);
      const p = await pair.b.psubscribe(ch('count:*'), () => undefined);
      assert.equal(pair.b.subscriptionCount, before + 2);
      await u();
      await p();
      assert.equal(pair.b.subscriptionCount, before);
    });

    it('after close, publish and subscribe fail with ERR_BUS_CLOSED', async () => {
      const extra = await open();
      await extra.a.close();
      assert.equal(extra.a.isHealthy(), false);
      await assert.rejects(extra.a.publish(ch('closed'), 'x'), (err: GatehouseError) => {
        assert.equal(err.code, 'ERR_BUS_CLOSED');
        return true;
      });
      await assert.rejects(
        extra.a.subscribe(ch('closed'), () => undefined),
        { code: 'ERR_BUS_CLOSED' },
      );
      assert.equal((await extra.a.check()).ok, false);
      await extra.close();
    });
  });
}
