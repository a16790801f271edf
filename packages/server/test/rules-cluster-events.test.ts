/**
 * Where rules are evaluated in a cluster (docs/rules.md): the engine listens with
 * `EventBus.subscribeLocal`, which hears the events emitted on its own node and never the
 * copies other nodes receive over the bus. Two nodes on one in-process broker: an event
 * emitted on node A reaches A's local listener once, reaches B's fleet-wide listener (live
 * views still see it), and never B's local listener; so each event is evaluated once.
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it } from 'node:test';

import { EventBus } from '../src/events/event-bus.js';
import { MemoryBus } from '../src/events/memory-bus.js';
import type { HubEvent } from '../src/hub/hub-api.js';
import { eventually } from './helpers/hub-harness.js';

describe("rules hear only their own node's events", () => {
  it('subscribeLocal gets local events once, and none that came over the bus', async () => {
    const busA = new MemoryBus();
    const busB = new MemoryBus({ broker: busA.broker });
    const a = new EventBus(undefined, { bus: busA, nodeId: 'node-a' });
    const b = new EventBus(undefined, { bus: busB, nodeId: 'node-b' });
    const seen = { aLocal: [] as HubEvent[], bLocal: [] as HubEvent[], bAll: [] as HubEvent[] };
    a.subscribeLocal((e) => seen.aLocal.push(e));
    b.subscribeLocal((e) => seen.bLocal.push(e));
    b.subscribe((e) => seen.bAll.push(e));
    await a.settled();
    await b.settled();

    const event: HubEvent = {
      type: 'telemetry',
      deviceId: 'dev-1',
      component: null,
      enqueuedTime: new Date().toISOString(),
      body: { temperature: 35 },
      properties: {},
    };
    a.emit(event);
    await eventually(() => seen.bAll.length === 1);
    await delay(50);
    assert.deepEqual(seen.aLocal, [event]);
    assert.deepEqual(seen.bLocal, []);
    assert.deepEqual(seen.bAll, [event]);

    const unsubscribe = b.subscribeLocal((e) => seen.bLocal.push(e));
    unsubscribe();
    b.emit({ ...event, deviceId: 'dev-2' });
    await delay(50);
    assert.deepEqual(
      (seen.bLocal as HubEvent[]).map((e) => e.deviceId),
      ['dev-2'],
      'the first listener hears it once; the removed one not at all',
    );
    assert.equal(seen.aLocal.length, 1);
    await a.close();
    await b.close();
  });
});
