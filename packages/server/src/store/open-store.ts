/**
 * Picks the store the server runs on: the embedded SQLite file in the data folder (the
 * default, nothing to set up), or PostgreSQL when a database URL is given (several nodes
 * share it: CLUSTER.md §6.1). Both give the same kysely `Database` and a `TelemetryStore`, so
 * nothing above the store knows which one it talks to.
 */
import { join } from 'node:path';
import type { Kysely } from 'kysely';

import { SqliteTelemetryStore, type TelemetryStore } from '../hub/telemetry-store.js';
import { PostgresTelemetryStore } from '../hub/telemetry-store-postgres.js';
import { ADVISORY_LOCKS } from './advisory-locks.js';
import type { StoreDialect } from './column-types.js';
import { openPostgres } from './postgres.js';
import type { Database } from './schema.js';
import { openSqliteWithHandle } from './sqlite.js';

export interface OpenStoreOptions {
  /** The data folder: where the SQLite file lives when there is no database URL. */
  dataDir: string;
  /** `postgres://…`: share the state with every node on that database. */
  databaseUrl?: string;
}

export interface Store {
  dialect: StoreDialect;
  db: Kysely<Database>;
  telemetry: TelemetryStore;
  /**
   * Waits until no other node on the same database holds `lock`, takes it, and returns its
   * release (the start-up bootstrap: the first node creates the identity, the others then
   * read it). SQLite has one process per file: nothing to wait for.
   */
  lock(lock: keyof typeof ADVISORY_LOCKS): Promise<() => Promise<void>>;
  /**
   * Takes the lock named `key` if no node holds it, on a connection of its own (ending it
   * releases the lock, also when this process dies); undefined when another holds it. SQLite
   * has one process: always taken.
   */
  tryLock(key: string): Promise<(() => Promise<void>) | undefined>;
  close(): Promise<void>;
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if (options.databaseUrl === undefined || options.databaseUrl === '') {
    const { db, sqlite } = await openSqliteWithHandle({ filename: join(options.dataDir, 'gatehouse.db') });
    return {
      dialect: 'sqlite',
      db,
      telemetry: new SqliteTelemetryStore(sqlite),
      lock: () => Promise.resolve(() => Promise.resolve()),
      tryLock: () => Promise.resolve(() => Promise.resolve()),
      close: () => db.destroy(),
    };
  }
  const pg = await openPostgres({ url: options.databaseUrl });
  const telemetry = new PostgresTelemetryStore({ pool: pg.pool, connect: pg.connect });
  try {
    await telemetry.prepare();
  } catch (err) {
    await pg.close();
    throw err;
  }
  return {
    dialect: 'postgres',
    db: pg.db,
    telemetry,
    async lock(lock) {
      // A session lock on a connection of its own, so the holder uses the pool freely meanwhile;
      // ending that session releases it (also when this process dies).
      const client = await pg.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCKS[lock].toString()]);
      } catch (err) {
        await client.end().catch(() => undefined);
        throw err;
      }
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        await client.end().catch(() => undefined);
      };
    },
    async tryLock(key) {
      const client = await pg.connect();
      try {
        const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [
          `gatehouse:${key}`,
        ]);
        if (r.rows[0]?.ok)
          return () =>
            client.end().then(
              () => undefined,
              () => undefined,
            );
      } catch {
        // PostgreSQL out of reach now: not taken; the next try may be luckier.
      }
      await client.end().catch(() => undefined);
      return undefined;
    },
    async close() {
      // The hub closes the writer first when it stops (flushing its queue); this is the backstop.
      await telemetry.close();
      await pg.close();
    },
  };
}
