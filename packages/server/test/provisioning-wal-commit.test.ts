/**
 * The assignment commit whose WAL fsync runs off the event loop (wal-commit.ts): the rows are
 * committed and readable by another connection when it resolves, the connection is back at
 * `synchronous = FULL` afterwards (also after a failed transaction), and nothing scheduled on
 * the event loop meanwhile (the telemetry writer's path) ever sees the connection at NORMAL.
 * SQLite on a file, as the server runs it; an in-memory store commits as before.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';

import { WalCommit } from '../src/provisioning/wal-commit.js';
import { openSqlite, openSqliteWithHandle } from '../src/store/sqlite.js';

const NOW = '2026-01-01T00:00:00.000Z';

function setting(key: string) {
  return { key, value: `v-${key}` };
}

async function fileStore(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-wal-commit-'));
  const file = join(dir, 'store.db');
  const store = await openSqliteWithHandle({ filename: file });
  t.after(async () => {
    await store.db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  return { ...store, file };
}

test('resolves once committed: another connection reads the rows; FULL is restored', async (t) => {
  const { db, sqlite, file } = await fileStore(t);
  const commit = new WalCommit(db);
  const result = await commit.run(async (trx) => {
    await trx.insertInto('settings').values(setting('a')).execute();
    await trx.insertInto('settings').values(setting('b')).execute();
    return 'done';
  });
  assert.equal(result, 'done');
  assert.ok(existsSync(`${file}-wal`), 'the store is in WAL mode');
  assert.equal(sqlite.pragma('synchronous', { simple: true }), 2, 'back at FULL');
  const other = new BetterSqlite3(file, { readonly: true });
  try {
    const rows = other.prepare("SELECT key FROM settings WHERE key IN ('a', 'b') ORDER BY key").all();
    assert.deepEqual(rows, [{ key: 'a' }, { key: 'b' }]);
  } finally {
    other.close();
  }
});

test('a failed transaction rolls back, rejects, and leaves the connection at FULL', async (t) => {
  const { db, sqlite } = await fileStore(t);
  const commit = new WalCommit(db);
  await assert.rejects(
    commit.run(async (trx) => {
      await trx.insertInto('settings').values(setting('c')).execute();
      await trx.insertInto('settings').values(setting('c')).execute(); // primary key violation
    }),
    /UNIQUE|PRIMARY/,
  );
  assert.equal(sqlite.pragma('synchronous', { simple: true }), 2);
  assert.deepEqual(sqlite.prepare("SELECT count(*) AS n FROM settings WHERE key = 'c'").get(), { n: 0 });
  // The next commit works.
  await commit.run((trx) => trx.insertInto('settings').values(setting('d')).execute());
  assert.deepEqual(sqlite.prepare("SELECT value FROM settings WHERE key = 'd'").get(), { value: 'v-d' });
});

test('work scheduled on the event loop during commits never sees synchronous = NORMAL', async (t) => {
  const { db, sqlite } = await fileStore(t);
  const commit = new WalCommit(db);
  const seen: unknown[] = [];
  let probing = true;
  // The telemetry writer commits on the raw handle from I/O callbacks and timers: probe there.
  const probe = () => {
    if (!probing) return;
    seen.push(sqlite.pragma('synchronous', { simple: true }));
    sqlite.prepare('INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)').run('probe', NOW);
    if (probing) setImmediate(probe);
  };
  setImmediate(probe);
  const timer = setInterval(() => seen.push(sqlite.pragma('synchronous', { simple: true })), 0);
  try {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        commit.run(async (trx) => {
          for (let j = 0; j < 5; j++)
            await trx
              .insertInto('settings')
              .values(setting(`k${i}-${j}`))
              .execute();
        }),
      ),
    );
  } finally {
    probing = false;
    clearInterval(timer);
  }
  assert.ok(seen.length > 5, `probes ran while committing (${seen.length})`);
  assert.deepEqual([...new Set(seen)], [2], 'every probe saw FULL');
  const n = await sql<{ n: number }>`SELECT count(*) AS n FROM settings WHERE key LIKE 'k%'`.execute(db);
  assert.equal(Number(n.rows[0]?.n), 100);
});

test('an in-memory store commits as before', async (t) => {
  const db = await openSqlite({ filename: ':memory:' });
  t.after(() => db.destroy());
  const commit = new WalCommit(db);
  await commit.run((trx) => trx.insertInto('settings').values(setting('m')).execute());
  const row = await db.selectFrom('settings').select('value').where('key', '=', 'm').executeTakeFirst();
  assert.equal(row?.value, 'v-m');
});
