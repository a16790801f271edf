/**
 * What only PostgreSQL has to prove: migrations applied once when nodes open an empty
 * database at the same moment, telemetry partitions ready ahead, twins written from two
 * nodes, and the store errors for a URL that cannot be used.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';

import { TwinService } from '../src/hub/twins.js';
import { openStore, type Store } from '../src/store/open-store.js';
import { daysAhead, partitionName } from '../src/store/postgres-telemetry-schema.js';
import { openPostgres } from '../src/store/postgres.js';
import { CuttableProxy } from './helpers/cuttable-proxy.js';
import { postgresSkipReason, withPostgres } from './helpers/postgres.js';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('PostgreSQL store', { skip: postgresSkipReason() }, () => {
  const pg = withPostgres();

  it('three nodes opening an empty database at once apply each migration once', async () => {
    const url = await pg.fresh();
    const t0 = performance.now();
    const stores = await Promise.all(
      [1, 2, 3].map(() => openStore({ dataDir: '/unused', databaseUrl: url })),
    );
    const ms = performance.now() - t0;
    try {
      const [first] = stores as [Store];
      const rows = await first.db
        .selectFrom('kysely_migration' as never)
        .select(['name' as never])
        .execute();
      const names = (rows as Array<{ name: string }>).map((r) => r.name);
      assert.deepEqual(names, [...new Set(names)].sort(), 'each migration recorded once');
      assert.ok(names.length >= 4, names.join());
      // Every node sees the same schema: a row written through one is read through another.
      await stores[0]!.db.insertInto('settings').values({ key: 'k', value: 'v' }).execute();
      const read = await stores[2]!.db.selectFrom('settings').selectAll().where('key', '=', 'k').execute();
      assert.deepEqual(read, [{ key: 'k', value: 'v' }]);
      console.log(`# three concurrent opens of an empty database: ${ms.toFixed(0)} ms`);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('creates the telemetry partitions of today and the next two days at open', async () => {
    const store = await openStore({ dataDir: '/unused', databaseUrl: pg.url });
    await store.close();
    const rows = await pg.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'telemetry'::regclass ORDER BY 1`,
    );
    const names = rows.map((r) => r.name);
    for (const day of daysAhead(new Date()))
      assert.ok(names.includes(partitionName(day)), `${day}: ${names.join()}`);
    const [{ setting }] = (await pg.query<{ setting: string }>(
      "SELECT current_setting('synchronous_commit') AS setting",
    )) as [{ setting: string }];
    assert.equal(setting, 'on');
  });

  it('twins patched from two nodes at once lose no patch and number every version', async () => {
    const a = await openStore({ dataDir: '/unused', databaseUrl: pg.url });
    const b = await openStore({ dataDir: '/unused', databaseUrl: pg.url });
    try {
      const nodes = [new TwinService(a.db), new TwinService(b.db)];
      const writes = Array.from({ length: 40 }, (_, i) =>
        nodes[i % 2]!.patchDesired('two-node-twin', { [`k${i}`]: i }),
      );
      const versions = (await Promise.all(writes)).map((w) => w.version).sort((x, y) => x - y);
      assert.deepEqual(
        versions,
        Array.from({ length: 40 }, (_, i) => i + 2),
      );
      const twin = await nodes[0]!.read('two-node-twin');
      assert.equal(twin.desiredVersion, 41);
      assert.equal(Object.keys(twin.desired).length, 40);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('survives the database connection dropping while a pooled client is checked out (regression)', async () => {
    // Found with three real nodes, one losing its path to PostgreSQL: a client taken from the
    // pool (a transaction between statements) emitted 'error' with no listener — the pool
    // listens only to idle clients — and the whole process crashed instead of failing closed.
    const target = new URL(pg.url);
    const proxy = new CuttableProxy(await closedPort(), { host: target.hostname, port: Number(target.port) });
    await proxy.start();
    const via = new URL(pg.url);
    via.host = `127.0.0.1:${proxy.port}`;
    const store = await openPostgres({ url: via.toString() });
    try {
      const client = await store.pool.connect();
      await client.query('SELECT 1');
      proxy.cut();
      // Without a listener the 'error' event would be thrown here, outside any promise.
      await new Promise((r) => setTimeout(r, 300));
      await assert.rejects(client.query('SELECT 1'));
      client.release(true);
      proxy.restore();
      // The pool opens a new connection once the path is back.
      const rows = await store.db.selectFrom('settings').selectAll().execute();
      assert.ok(Array.isArray(rows));
    } finally {
      await store.close();
      await proxy.stop();
    }
  });

  it('refuses a URL it cannot use with a store error that says what to fix', async () => {
    const port = await closedPort();
    await assert.rejects(openPostgres({ url: `postgres://postgres@127.0.0.1:${port}/x` }), {
      code: 'ERR_DATABASE_UNREACHABLE',
      message: new RegExp(`127\\.0\\.0\\.1:${port}.*pg_isready`),
    });
    await assert.rejects(openPostgres({ url: 'http://example.com/db' }), {
      code: 'ERR_DATABASE_URL_INVALID',
    });
    const missing = new URL(pg.url);
    missing.pathname = '/gh_no_such_database';
    await assert.rejects(openPostgres({ url: missing.toString() }), {
      code: 'ERR_DATABASE_NOT_FOUND',
      message: /createdb/,
    });
    // PostgreSQL 15 lets only the database owner create tables in `public`: a role that may
    // connect but not create gets the migration error, not a half-made schema.
    const reader = `gh_reader_${Date.now()}`;
    await pg.query(`CREATE ROLE ${reader} LOGIN`);
    try {
      const asReader = new URL(await pg.fresh());
      asReader.username = reader;
      await assert.rejects(openPostgres({ url: asReader.toString() }), {
        code: 'ERR_DATABASE_MIGRATION_FAILED',
        message: /permission denied/,
      });
    } finally {
      await pg.query(`DROP ROLE ${reader}`);
    }
    const stranger = new URL(pg.url);
    stranger.username = 'gh_no_such_role';
    await assert.rejects(openPostgres({ url: stranger.toString() }), { code: 'ERR_DATABASE_AUTH_FAILED' });
  });
});
