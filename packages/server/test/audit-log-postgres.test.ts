/**
 * The audit log on PostgreSQL: the shared suite (helpers/audit-suite.ts), and the feed's
 * promise that id order is commit order, so an export reading "after the last id" never
 * skips an entry whose transaction committed late.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { AuditLog } from '../src/audit/audit-log.js';
import { openPostgres } from '../src/store/postgres.js';
import type { NewAuditEntry } from '../src/audit/audit-entry.js';
import { auditSuite, retentionAtStartSuite } from './helpers/audit-suite.js';
import { createTestDatabase, dropTestDatabase, postgresSkipReason } from './helpers/postgres.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const skip = postgresSkipReason();

describe('PostgreSQL', { skip }, () => {
  const databases: string[] = [];
  after(async () => {
    for (const name of databases) await dropTestDatabase(name);
  });
  const onNewDatabase = async () => {
    const db = await createTestDatabase();
    databases.push(db.name);
    return startTestServer({ databaseUrl: db.url });
  };

  auditSuite('PostgreSQL', onNewDatabase);

  retentionAtStartSuite('PostgreSQL', async () => {
    const database = await createTestDatabase();
    databases.push(database.name);
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-audit-retention-'));
    const store = await openPostgres({ url: database.url });
    return {
      dataDir,
      databaseUrl: database.url,
      db: store.db,
      close: () => store.close(),
      dispose: () => rm(dataDir, { recursive: true, force: true }),
    };
  });

  describe('commit order', () => {
    let server: TestServer;
    before(async () => {
      server = await onNewDatabase();
    });
    after(async () => server?.stop());

    const entry = (id: string): NewAuditEntry => ({
      time: new Date().toISOString(),
      actor: { type: 'apiToken', id: 'order-test' },
      action: 'updated',
      resource: { type: 'device', id },
      method: 'PATCH',
      path: `/api/devices/${id}`,
      status: 200,
    });

    it('an entry committed late is never passed by a later one: a feed reader sees both, in order', async () => {
      const log = new AuditLog(server.db);
      const start = (await log.after(0, 1000)).at(-1)?.id ?? 0;
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let inserted!: () => void;
      const insertedSignal = new Promise<void>((resolve) => (inserted = resolve));
      // A writes its row and stays uncommitted; B starts meanwhile.
      const a = log.record(entry('slow'), async () => {
        inserted();
        await held;
      });
      await insertedSignal;
      let bDone = false;
      const b = log.record(entry('fast')).then((id) => {
        bDone = true;
        return id;
      });
      // Give B every chance to commit first: it must not (it waits for A's commit).
      for (let i = 0; i < 20 && !bDone; i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        assert.deepEqual(await log.after(start, 10), [], 'the reader sees nothing while A is open');
      }
      assert.equal(bDone, false, 'B committed while A, with a lower id, was still open');
      release();
      const [idA, idB] = await Promise.all([a, b]);
      assert.ok(idA < idB, `ids ${idA} then ${idB}`);
      const seen = await log.after(start, 10);
      assert.deepEqual(
        seen.map((e) => (e.message['resource'] as { id: string }).id),
        ['slow', 'fast'],
      );
    });

    it('many concurrent writers: every id a reader passes is already committed', async () => {
      const log = new AuditLog(server.db);
      let cursor = (await log.after(0, 1000)).at(-1)?.id ?? 0;
      const read: number[] = [];
      let writing = true;
      const reader = (async () => {
        while (writing) {
          const batch = await log.after(cursor, 50);
          for (const e of batch) read.push(e.id);
          cursor = batch.at(-1)?.id ?? cursor;
        }
      })();
      const ids = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          log.record(entry(`c-${i}`), () => new Promise((r) => setTimeout(r, i % 7))),
        ),
      );
      writing = false;
      await reader;
      for (const e of await log.after(cursor, 1000)) read.push(e.id);
      assert.deepEqual(
        read,
        [...ids].sort((x, y) => x - y),
        'the reader saw every entry once, in id order',
      );
    });
  });
});
