/**
 * The server-wide bound on uncommitted telemetry (hub/telemetry-budget.ts): while the store
 * cannot commit, devices together get no further than the bound before the hub stops reading
 * from them (each device's own limit of 512 is far away); once commits resume, every message
 * is acknowledged and stored, and a device that left while held back does not stop the others.
 * Real TLS devices and the real SQLite telemetry store; its commits are held at a gate, as a
 * slow or stuck disk would hold them.
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';

import type { TelemetryInput, TelemetryStore } from '../src/hub/telemetry-store.js';
import { SqliteTelemetryStore } from '../src/hub/telemetry-store.js';
import {
  connectDevice,
  createHubPki,
  eventually,
  insertDevice,
  selfSigned,
  startHub,
  type HubHarness,
  type HubPki,
} from './helpers/hub-harness.js';

const BUDGET = 10;
const DEVICES = 3;
const EACH = 20;

/** The real store behind a gate: `appendBatch` waits while the gate is shut. */
function gatedStore(): { store: TelemetryStore; bind(inner: TelemetryStore): void; open(): void } {
  let inner: TelemetryStore | undefined;
  let opened!: () => void;
  const gate = new Promise<void>((resolve) => (opened = resolve));
  const store = new Proxy({} as TelemetryStore, {
    get(_target, name: keyof TelemetryStore) {
      if (name === 'appendBatch') {
        return async (messages: readonly TelemetryInput[]) => {
          await gate;
          return inner!.appendBatch(messages);
        };
      }
      const value = inner?.[name];
      return typeof value === 'function' ? value.bind(inner) : value;
    },
  });
  return { store, bind: (s) => (inner = s), open: () => opened() };
}

function uncommitted(h: HubHarness): number {
  const line = h.metrics
    .render()
    .split('\n')
    .find((l) => l.startsWith('gatehouse_hub_telemetry_uncommitted'));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('hub: the server-wide bound on uncommitted telemetry', () => {
  let pki: HubPki;
  let h: HubHarness;
  const gated = gatedStore();
  const open: MqttClient[] = [];

  before(async () => {
    pki = await createHubPki();
    h = await startHub(pki, { hub: { telemetryStore: gated.store, maxUncommittedTelemetry: BUDGET } });
    gated.bind(new SqliteTelemetryStore(h.store.sqlite));
  });
  after(async () => {
    for (const c of open) c.end(true);
    await h.destroy();
  });

  it('stops reading at the bound while commits are held, then acknowledges and stores everything', async () => {
    const clients: MqttClient[] = [];
    for (let d = 0; d < DEVICES; d++) {
      const id = `budget-${d}`;
      const cert = await selfSigned(id);
      await insertDevice(h, id, { primary: cert });
      clients.push(await connectDevice(h, pki, id, { identity: cert }));
      open.push(clients[d]!);
    }
    const leaving = await (async () => {
      const id = 'budget-leaves';
      const cert = await selfSigned(id);
      await insertDevice(h, id, { primary: cert });
      return connectDevice(h, pki, id, { identity: cert });
    })();
    open.push(leaving);

    const acks: Array<Promise<unknown>> = [];
    // One message at a time, a few ms apart, so each arrives in a read of its own.
    for (let i = 0; i < EACH; i++) {
      for (const [d, client] of clients.entries())
        acks.push(
          client.publishAsync(`devices/budget-${d}/messages/events/`, JSON.stringify({ i }), { qos: 1 }),
        );
      leaving.publish('devices/budget-leaves/messages/events/', JSON.stringify({ i }), { qos: 1 });
      await delay(5);
    }
    // Everything was written by the devices; the hub took what the bound allows and stopped.
    await delay(300);
    const held = uncommitted(h);
    assert.ok(held >= BUDGET, `the hub read ${held} messages; it should read up to the bound (${BUDGET})`);
    // At most one read per device past the bound: the one that took it over.
    assert.ok(
      held <= BUDGET + DEVICES + 1,
      `${held} uncommitted messages with a bound of ${BUDGET}: the hub kept reading`,
    );
    assert.ok(held < (DEVICES + 1) * EACH);

    // A device held back leaves: it must not keep the others waiting.
    leaving.end(true);
    gated.open();
    await Promise.all(acks);
    await eventually(() => uncommitted(h) === 0, 5000);
    for (let d = 0; d < DEVICES; d++) {
      const stored = h.store.sqlite
        .prepare('SELECT COUNT(*) AS n FROM telemetry WHERE device_id = ?')
        .get(`budget-${d}`) as { n: number };
      assert.equal(stored.n, EACH, `budget-${d}: every acknowledged message is stored`);
    }
  });
});
