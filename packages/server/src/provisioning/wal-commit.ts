/**
 * A transaction on the SQLite store whose fsync runs on libuv's thread pool instead of the
 * event loop, with the same durability as `synchronous = FULL`.
 *
 * With `synchronous = FULL` in WAL mode, SQLite fsyncs the WAL inside COMMIT: better-sqlite3
 * is synchronous, so the server's one thread waits on the disk (2–13 ms on a shared disk), and
 * every TLS handshake and packet behind it waits too. Here the connection is switched to
 * `synchronous = NORMAL` for the one transaction (COMMIT writes the WAL frames without
 * fsync), put back, and the WAL file is then fsynced asynchronously; the caller acknowledges
 * only after that. A crash before the fsync loses the transaction, as a crash inside a FULL
 * COMMIT would; after it, recovery replays the frames from the WAL (sqlite.org/wal.html).
 *
 * Why nothing else commits under `NORMAL`: everything from the PRAGMA to its restore runs on
 * the kysely connection held for it (its mutex), and better-sqlite3 answers each statement
 * synchronously, so the sequence completes in one run of microtasks: no I/O callback or timer
 * (the telemetry writer on the raw handle) can run in between. A commit by another path after
 * the restore fsyncs the WAL itself, ours included.
 *
 * Used only where it applies: SQLite on a file, WAL journal, `synchronous` FULL or EXTRA.
 * PostgreSQL, an in-memory database or a store already at NORMAL or OFF commit as before.
 */
import { open } from 'node:fs/promises';
import { sql, type Kysely, type Transaction } from 'kysely';
import { isPostgres, serializable } from '../store/transactions.js';
import type { Database } from '../store/schema.js';

/** How the store commits: the WAL path and the level to restore, or undefined for a plain commit. */
type WalPlan = { wal: string; synchronous: number } | undefined;

export class WalCommit {
  private plan: Promise<WalPlan> | undefined;

  constructor(private readonly db: Kysely<Database>) {}

  /** Runs `work` in a serializable transaction; resolves once its rows are on disk. */
  async run<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    const plan = await (this.plan ??= this.inspect());
    if (!plan) return serializable(this.db, work);
    const result = await this.db.connection().execute(async (conn) => {
      await sql`PRAGMA synchronous = NORMAL`.execute(conn);
      try {
        return await conn.transaction().execute(work);
      } finally {
        await sql.raw(`PRAGMA synchronous = ${plan.synchronous}`).execute(conn);
      }
    });
    const wal = await open(plan.wal, 'r+');
    try {
      await wal.sync();
    } finally {
      await wal.close();
    }
    return result;
  }

  private async inspect(): Promise<WalPlan> {
    if (isPostgres(this.db)) return undefined;
    const files = await sql<{ name: string; file: string }>`PRAGMA database_list`.execute(this.db);
    const file = files.rows.find((r) => r.name === 'main')?.file;
    if (!file) return undefined; // in memory or a temporary database: nothing to fsync
    const mode = await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(this.db);
    if (mode.rows[0]?.journal_mode.toLowerCase() !== 'wal') return undefined;
    const level = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(this.db);
    const synchronous = Number(level.rows[0]?.synchronous);
    // 2 = FULL, 3 = EXTRA: the levels that fsync the WAL at COMMIT.
    if (synchronous !== 2 && synchronous !== 3) return undefined;
    return { wal: `${file}-wal`, synchronous };
  }
}
