/**
 * The PostgreSQL store: the same kysely `Database` as SQLite (store/schema.ts) over a `pg`
 * pool, migrated by the same migrations (the PostgreSQL branch of migrations.ts).
 *
 * Node-postgres returns int8 (bigint, `count(*)`) as strings to be safe beyond 2^53; every
 * int8 of ours (ids, sequence numbers, counts) stays far below, so the pool parses them as
 * numbers and the code reads the same types as on SQLite.
 */
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import pg from 'pg';

import { ADVISORY_LOCKS } from './advisory-locks.js';
import { storeError } from './errors.js';
import { migrationProviderFor } from './migrations.js';
import type { Database } from './schema.js';

export interface OpenPostgresOptions {
  /** `postgres://USER[:PASSWORD]@HOST:PORT/DATABASE` (libpq URL parameters such as `sslmode` pass through). */
  url: string;
  /** Connections of the query pool; default 10 (node-postgres' own default). */
  poolSize?: number;
  /** Milliseconds to wait for a connection; default 10 000. */
  connectTimeoutMs?: number;
}

export interface PostgresStore {
  db: Kysely<Database>;
  pool: pg.Pool;
  /** A new connection outside the pool (the telemetry writer, locks), configured like the pool's. */
  connect(): Promise<pg.Client>;
  close(): Promise<void>;
}

const INT8_OID = 20;

/** Type parsers of every Gatehouse connection: int8 as a JavaScript number. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/** The URL with its password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

function checkUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw storeError(
      'ERR_DATABASE_URL_INVALID',
      `The database URL is not a URL: give postgres://USER@HOST:PORT/DATABASE (--database-url or GATEHOUSE_DATABASE_URL).`,
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw storeError(
      'ERR_DATABASE_URL_INVALID',
      `The database URL must start with postgres:// (got '${parsed.protocol}//'): give postgres://USER@HOST:PORT/DATABASE, or leave --database-url unset for SQLite.`,
    );
  }
  if (!parsed.hostname || parsed.pathname.length <= 1) {
    throw storeError(
      'ERR_DATABASE_URL_INVALID',
      `The database URL ${redactUrl(url)} needs a host and a database name: postgres://USER@HOST:PORT/DATABASE.`,
    );
  }
  return parsed;
}

/** Turns a connection failure into the store error that says what to fix. */
export function connectionError(err: unknown, url: string): Error {
  const e = err as { code?: string; message?: string };
  const where = redactUrl(url);
  const reason = e.message ?? String(err);
  const u = new URL(url);
  const host = `${u.hostname}:${u.port || '5432'}`;
  switch (e.code) {
    case '28P01':
    case '28000':
      return storeError(
        'ERR_DATABASE_AUTH_FAILED',
        `PostgreSQL at ${host} refused the login of ${where} (${reason}): fix the user or password in the URL, or pg_hba.conf.`,
        { cause: err },
      );
    case '3D000':
      return storeError(
        'ERR_DATABASE_NOT_FOUND',
        `The database of ${where} does not exist (${reason}): create it (createdb) or name an existing one.`,
        { cause: err },
      );
  }
  if (/password|SASL|SCRAM/i.test(reason)) {
    return storeError(
      'ERR_DATABASE_AUTH_FAILED',
      `PostgreSQL at ${host} wants a password the URL ${where} does not give (${reason}): put it in the URL.`,
      { cause: err },
    );
  }
  return storeError(
    'ERR_DATABASE_UNREACHABLE',
    `Cannot connect to PostgreSQL at ${host} (${e.code ?? reason}): check that it runs and listens there (pg_isready -h ${u.hostname} -p ${u.port || '5432'}) and that the URL ${where} is right.`,
    { cause: err },
  );
}

/** Migrates under a session advisory lock: nodes that start together migrate one after another. */
async function migrateLocked(db: Kysely<Database>, lockClient: pg.Client): Promise<void> {
  await lockClient.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCKS.migrations.toString()]);
  try {
    const migrator = new Migrator({ db, provider: migrationProviderFor('postgres') });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error');
      throw storeError(
        'ERR_DATABASE_MIGRATION_FAILED',
        `The database schema could not be migrated${failed ? ` (${failed.migrationName})` : ''} on PostgreSQL: ${String((error as Error).message ?? error)}. The role of the URL must be allowed to create tables in the database (its owner, on PostgreSQL 15).`,
        { cause: error },
      );
    }
  } finally {
    await lockClient.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCKS.migrations.toString()]);
  }
}

/** Opens (and migrates) the PostgreSQL store; a bad URL or an unreachable server throws a store error. */
export async function openPostgres(options: OpenPostgresOptions): Promise<PostgresStore> {
  checkUrl(options.url);
  const config: pg.ClientConfig = {
    connectionString: options.url,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    types,
    application_name: 'gatehouse',
    // A dead peer (host or network lost) is noticed by TCP keepalive, and a session that
    // idles inside a transaction (a stuck node) gives its row locks back after a minute.
    keepAlive: true,
    options: '-c idle_in_transaction_session_timeout=60000',
  };
  const connect = async (): Promise<pg.Client> => {
    const client = new pg.Client(config);
    // A connection that drops while idle must not crash the process: the next query fails instead.
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };

  let first: pg.Client;
  try {
    first = await connect();
  } catch (err) {
    throw connectionError(err, options.url);
  }
  const pool = new pg.Pool({ ...config, max: options.poolSize ?? 10 });
  pool.on('error', () => undefined);
  // The pool listens for 'error' only while a client is idle. A checked-out client whose
  // connection drops between statements (a transaction awaiting something) would emit it with
  // nobody listening and crash the process; its next query fails instead, and the pool drops
  // it when it comes back. A node that loses PostgreSQL must fail closed, not die.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrateLocked(db, first);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw (err as { code?: string }).code?.startsWith('ERR_') ? err : connectionError(err, options.url);
  } finally {
    await first.end().catch(() => undefined);
  }
  return {
    db,
    pool,
    connect,
    async close() {
      await db.destroy();
    },
  };
}
