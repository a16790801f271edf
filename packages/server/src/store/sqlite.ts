import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type SqliteDatabase } from 'kysely';
import type { Database } from './schema.js';
import { migrationProvider } from './migrations.js';

export interface OpenSqliteOptions {
  /** File path, or ':memory:' for tests. */
  filename: string;
}

/**
 * Open (and migrate) the embedded SQLite store. WAL mode lets readers run
 * beside the writer; `synchronous = FULL` makes a committed transaction survive
 * a crash of the process or the machine, which the hub's "acknowledged means
 * durable" rule relies on.
 */
export async function openSqlite(options: OpenSqliteOptions): Promise<Kysely<Database>> {
  return (await openSqliteWithHandle(options)).db;
}

export async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, {
      cause: error,
    });
  }
}

/** An open store with the raw better-sqlite3 handle kept beside kysely. */
export interface SqliteStore {
  db: Kysely<Database>;
  /** The same connection kysely uses: for hot paths (telemetry) that run prepared statements. */
  sqlite: BetterSqlite3.Database;
}

/** Like {@link openSqlite}, but also returns the raw handle (the hub's telemetry writer needs it). */
export async function openSqliteWithHandle(options: OpenSqliteOptions): Promise<SqliteStore> {
  const sqlite = new BetterSqlite3(options.filename);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: reusingStatements(sqlite) }) });
  await migrate(db);
  return { db, sqlite };
}

/** Statements kept per SQL text; a query builder produces a bounded set of distinct texts. */
const STATEMENT_CACHE_LIMIT = 500;

/**
 * The connection as kysely sees it, with each SQL text prepared once: kysely prepares every
 * query anew, and SQLite's parse-and-plan then costs more than running a point query. A
 * statement still iterating (`busy`, a streamed result) is not handed out twice.
 */
function reusingStatements(sqlite: BetterSqlite3.Database): SqliteDatabase {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      const hit = statements.get(sql);
      if (hit && !hit.busy) return hit;
      const statement = sqlite.prepare(sql);
      if (!hit) {
        if (statements.size >= STATEMENT_CACHE_LIMIT)
          statements.delete(statements.keys().next().value as string);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}
