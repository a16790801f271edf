/**
 * The lease a cluster uses for work one node must do (a job's loop): `Store.tryLock` gives a
 * named lock to one holder at a time across processes on PostgreSQL, hands it on once released
 * (or once its connection ends, as when the node dies), and is always granted on SQLite.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { openStore, type Store } from '../src/store/open-store.js';
import { postgresSkipReason, withPostgres } from './helpers/postgres.js';

describe('Store.tryLock on PostgreSQL', { skip: postgresSkipReason() }, () => {
  const pg = withPostgres();
  let dir: string;
  let a: Store;
  let b: Store;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-trylock-'));
    a = await openStore({ dataDir: dir, databaseUrl: pg.url });
    b = await openStore({ dataDir: dir, databaseUrl: pg.url });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('one holder per name; released, the next taker gets it; other names are independent', async () => {
    const held = await a.tryLock('job:one');
    assert.ok(held, 'a takes job:one');
    assert.equal(await b.tryLock('job:one'), undefined, 'b does not while a holds it');
    const other = await b.tryLock('job:two');
    assert.ok(other, 'another name is free');
    await held();
    const next = await b.tryLock('job:one');
    assert.ok(next, 'b takes job:one once a released it');
    await next();
    await other();
  });

  it('a holder whose connection ends (its node died) gives the lock up', async () => {
    const held = await a.tryLock('job:dead');
    assert.ok(held);
    // The holder's session ends without a release, as when its process is killed.
    await pg.query(
      `SELECT pg_terminate_backend(l.pid) FROM pg_locks l
       WHERE l.locktype = 'advisory' AND l.objid = hashtext('gatehouse:job:dead')::oid`,
    );
    let next: (() => Promise<void>) | undefined;
    for (let i = 0; i < 50 && !next; i++) {
      next = await b.tryLock('job:dead');
      if (!next) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(next, 'b takes it after the holder is gone');
    await next();
    await held();
  });
});

describe('Store.tryLock on SQLite', () => {
  it('is always granted (one process per data folder)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-trylock-sqlite-'));
    const s = await openStore({ dataDir: dir });
    try {
      const one = await s.tryLock('job:x');
      const two = await s.tryLock('job:x');
      assert.ok(one && two);
    } finally {
      await s.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
