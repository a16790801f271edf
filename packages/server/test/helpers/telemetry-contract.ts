/**
 * The telemetry store contract: what the hub relies on from `TelemetryStore`, run against
 * SQLite and PostgreSQL alike (store-contract-*.test.ts). Times are relative to now, so the
 * PostgreSQL store works within and outside the partitions it prepared at open.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import type { TelemetryInput } from '../../src/hub/telemetry-store.js';
import type { Store } from '../../src/store/open-store.js';

const DAY = 86_400_000;

/** A message as the hub's ingest builds it (fields = the top-level JSON object, if any). */
export function message(
  deviceId: string,
  at: Date,
  body: unknown,
  extra: Partial<TelemetryInput> = {},
): TelemetryInput {
  const raw = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  const fields =
    !Buffer.isBuffer(body) && body !== null && typeof body === 'object' && !Array.isArray(body)
      ? (body as Record<string, unknown>)
      : undefined;
  return {
    deviceId,
    enqueuedAt: at.toISOString(),
    component: null,
    body: raw,
    contentType: 'application/json',
    systemProperties: { '$.ct': 'application/json' },
    properties: { n: String(at.getTime()) },
    ...(fields ? { fields } : {}),
    ...extra,
  };
}

export function defineTelemetryContract(
  open: () => Promise<{ store: Store; cleanup(): Promise<void> }>,
): void {
  let store: Store;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ store, cleanup } = await open());
  });
  after(async () => cleanup?.());

  const now = Date.now();
  const at = (msAgo: number) => new Date(now - msAgo);

  it('stores a batch atomically and reads it back oldest first, bodies and bags intact', async () => {
    const binary = Buffer.from([0, 255, 1, 254]);
    await store.telemetry.appendBatch([
      message('t-1', at(3000), { temp: 20, hum: 40 }),
      message('t-1', at(2000), { temp: 21 }, { component: 'thermostat1' }),
      message('t-1', at(1000), binary, { contentType: 'application/octet-stream' }),
      message('t-other', at(1000), { temp: 99 }),
    ]);
    const all = await store.telemetry.history('t-1', { limit: 10 });
    assert.equal(all.length, 3);
    assert.deepEqual(
      all.map((m) => m.enqueuedAt),
      [at(3000), at(2000), at(1000)].map((d) => d.toISOString()),
    );
    assert.ok(all.every((m) => typeof m.id === 'number'));
    assert.ok(all[0]!.id < all[1]!.id && all[1]!.id < all[2]!.id, 'ids grow');
    assert.deepEqual(JSON.parse(all[0]!.body.toString()), { temp: 20, hum: 40 });
    assert.deepEqual(Buffer.from(all[2]!.body), binary);
    assert.deepEqual(all[0]!.systemProperties, { '$.ct': 'application/json' });
    assert.equal(all[0]!.properties['n'], String(now - 3000));
    assert.equal(all[1]!.component, 'thermostat1');
  });

  it('filters history by time, component and field name, and keeps the newest `limit`', async () => {
    const h = (filter: Parameters<Store['telemetry']['history']>[1]) =>
      store.telemetry.history('t-1', filter).then((rows) => rows.map((m) => m.enqueuedAt));
    assert.deepEqual(
      await h({ limit: 2 }),
      [at(2000), at(1000)].map((d) => d.toISOString()),
    );
    assert.deepEqual(
      await h({ limit: 10, from: at(2000).toISOString() }),
      [at(2000), at(1000)].map((d) => d.toISOString()),
    );
    assert.deepEqual(await h({ limit: 10, to: at(2000).toISOString() }), [at(3000).toISOString()]);
    assert.deepEqual(await h({ limit: 10, component: 'thermostat1' }), [at(2000).toISOString()]);
    assert.deepEqual(
      await h({ limit: 10, component: '' }),
      [at(3000), at(1000)].map((d) => d.toISOString()),
    );
    assert.deepEqual(await h({ limit: 10, name: 'hum' }), [at(3000).toISOString()]);
    assert.deepEqual(
      await h({ limit: 10, name: 'temp' }),
      [at(3000), at(2000)].map((d) => d.toISOString()),
    );
    assert.deepEqual(await h({ limit: 10, name: 'nothing' }), []);
  });

  it('keeps the latest value per device, component and field; an older message does not win', async () => {
    assert.deepEqual(await store.telemetry.latest('t-1', 'temp', ''), {
      value: 20,
      enqueuedAt: at(3000).toISOString(),
    });
    assert.equal((await store.telemetry.latest('t-1', 'temp', 'thermostat1'))?.value, 21);
    await store.telemetry.appendBatch([
      message('t-1', at(5000), { temp: 1 }),
      // Two values of one field in one batch: the newer one wins.
      message('t-1', at(500), { hum: 41 }),
      message('t-1', at(600), { hum: 42 }),
    ]);
    assert.equal((await store.telemetry.latest('t-1', 'temp', ''))?.value, 20);
    assert.equal((await store.telemetry.latest('t-1', 'hum', ''))?.value, 41);
    assert.equal(await store.telemetry.latest('t-1', 'none', ''), undefined);
  });

  it('retention deletes the days older than the cutoff and keeps the rest', async () => {
    await store.telemetry.appendBatch([
      message('t-old', at(40 * DAY), { temp: 1 }),
      message('t-old', at(35 * DAY), { temp: 2 }),
      message('t-old', at(10 * DAY), { temp: 3 }),
      message('t-old', at(0), { temp: 4 }),
    ]);
    const cutoff = new Date(now - 30 * DAY);
    // The PostgreSQL store drops whole days: cut at midnight so both stores agree exactly.
    cutoff.setUTCHours(0, 0, 0, 0);
    const deleted = await store.telemetry.deleteOlderThan(cutoff.toISOString());
    assert.equal(deleted, 2);
    const left = await store.telemetry.history('t-old', { limit: 10 });
    assert.deepEqual(
      left.map((m) => JSON.parse(m.body.toString()).temp),
      [3, 4],
    );
    assert.equal(await store.telemetry.deleteOlderThan(cutoff.toISOString()), 0);
    assert.equal((await store.telemetry.history('t-1', { limit: 10 })).length, 6, 'recent rows stay');
  });

  it('deletes everything of one device', async () => {
    await store.telemetry.deleteDevice('t-1');
    assert.deepEqual(await store.telemetry.history('t-1', { limit: 10 }), []);
    assert.equal(await store.telemetry.latest('t-1', 'temp', ''), undefined);
    assert.equal((await store.telemetry.history('t-other', { limit: 10 })).length, 1);
  });

  it('stores a large batch in one call', async () => {
    const batch = Array.from({ length: 2000 }, (_, i) => message('t-bulk', at(10_000 - i), { i }));
    await store.telemetry.appendBatch(batch);
    const last = await store.telemetry.history('t-bulk', { limit: 3 });
    assert.deepEqual(
      last.map((m) => JSON.parse(m.body.toString()).i),
      [1997, 1998, 1999],
    );
    assert.equal((await store.telemetry.latest('t-bulk', 'i', ''))?.value, 1999);
  });
}
