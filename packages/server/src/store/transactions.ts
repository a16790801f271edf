/**
 * Transactions whose checks must hold against concurrent writers on either database.
 *
 * SQLite has one writer: kysely's SQLite driver runs one transaction at a time, so a
 * check-then-write inside it sees every earlier write. PostgreSQL runs transactions side by
 * side (READ COMMITTED by default), so two of them can both pass the same check (two
 * demotions leaving no administrator). SERIALIZABLE makes PostgreSQL refuse one of them
 * (SQLSTATE 40001), and the work is run again, up to a few times (PG15 `transaction-iso.html`
 * §13.2.3: applications must be prepared to retry).
 */
import { PostgresAdapter, type Kysely, type Transaction } from 'kysely';

import type { Database } from './schema.js';

const SERIALIZATION_FAILURE = '40001';
const DEADLOCK_DETECTED = '40P01';
const ATTEMPTS = 5;

export function isPostgres(db: Kysely<Database>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** Runs `work` in a transaction that behaves as if it ran alone (see above). */
export async function serializable<T>(
  db: Kysely<Database>,
  work: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  if (!isPostgres(db)) return db.transaction().execute(work);
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().setIsolationLevel('serializable').execute(work);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if ((code !== SERIALIZATION_FAILURE && code !== DEADLOCK_DETECTED) || attempt >= ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}

/**
 * Whether `err` is a UNIQUE (or primary key) violation on `table.column`: SQLite names the
 * column in its message; PostgreSQL (SQLSTATE 23505) in the error's table and detail
 * (`Key (column)=(…) already exists.`).
 */
export function isUniqueViolation(err: unknown, table: string, column: string): boolean {
  const e = err as { code?: unknown; message?: unknown; table?: unknown; detail?: unknown } | null;
  if (!e) return false;
  if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
    return typeof e.message === 'string' && e.message.includes(`${table}.${column}`);
  if (e.code === '23505')
    return e.table === table && typeof e.detail === 'string' && e.detail.startsWith(`Key (${column})=`);
  return false;
}
