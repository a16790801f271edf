/**
 * PostgreSQL for tests: each test file gets its own throwaway database, created from the
 * superuser URL in GATEHOUSE_TEST_DATABASE_URL (`eval "$(node scripts/test-services.mjs start)"`
 * starts a server and sets it) and dropped at the end.
 *
 *   describe('…', { skip: postgresSkipReason() }, () => {
 *     const pg = withPostgres();          // before/after hooks of the enclosing suite
 *     it('…', async () => { pg.url … });
 *   });
 *
 * Without the variable the suite is skipped with a one-line reason, unless
 * GATEHOUSE_REQUIRE_POSTGRES=1 (`.ci/run`): then a missing database is a failure.
 */
import { createHash, randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import pg from 'pg';

export const POSTGRES_SKIP_REASON =
  'PostgreSQL not configured: set GATEHOUSE_TEST_DATABASE_URL (scripts/test-services.mjs starts one)';

/** Why PostgreSQL tests cannot run here, or undefined when they can (node:test `skip` option). */
export function postgresSkipReason(): string | undefined {
  if (process.env['GATEHOUSE_TEST_DATABASE_URL']) return undefined;
  if (process.env['GATEHOUSE_REQUIRE_POSTGRES'] === '1') throw new Error(POSTGRES_SKIP_REASON);
  return POSTGRES_SKIP_REASON;
}

function adminUrl(): string {
  const url = process.env['GATEHOUSE_TEST_DATABASE_URL'];
  if (!url) throw new Error(POSTGRES_SKIP_REASON);
  return url;
}

/** Runs one statement on the server's maintenance database. */
async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** The URL of database `name` on the test server. */
export function databaseUrl(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates a fresh empty database and returns its name and URL. */
export async function createTestDatabase(): Promise<{ name: string; url: string }> {
  const name = `gh_test_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  return { name, url: databaseUrl(name) };
}

/**
 * The database that belongs to a data folder (created on first use, kept): a test that
 * restarts a server on the same folder finds its state again, as with SQLite.
 */
export async function testDatabaseFor(dataDir: string): Promise<{ name: string; url: string }> {
  const name = `gh_test_dir_${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`;
  try {
    await admin(`CREATE DATABASE ${name}`);
  } catch (err) {
    if ((err as { code?: string }).code !== '42P04') throw err; // duplicate_database: made before
  }
  return { name, url: databaseUrl(name) };
}

/** Drops a test database, ending connections a failed test left open. */
export async function dropTestDatabase(name: string): Promise<void> {
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

export interface TestPostgres {
  /** The database of this suite (set once `before` has run). */
  readonly url: string;
  readonly name: string;
  /** Another fresh database, dropped with the suite's (a test that needs an empty one). */
  fresh(): Promise<string>;
  /** One query on the suite's database, on a connection of its own. */
  query<T = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]>;
}

/** Registers before/after hooks on the enclosing suite: a fresh database, dropped at the end. */
export function withPostgres(): TestPostgres {
  const created: string[] = [];
  let current: { name: string; url: string } | undefined;
  before(async () => {
    current = await createTestDatabase();
    created.push(current.name);
  });
  after(async () => {
    for (const name of created) await dropTestDatabase(name);
  });
  const need = () => {
    if (!current) throw new Error('withPostgres(): the database exists only once `before` has run');
    return current;
  };
  return {
    get url() {
      return need().url;
    },
    get name() {
      return need().name;
    },
    async fresh() {
      const db = await createTestDatabase();
      created.push(db.name);
      return db.url;
    },
    async query<T>(text: string, values?: unknown[]): Promise<T[]> {
      const client = new pg.Client({ connectionString: need().url });
      await client.connect();
      try {
        return (await client.query(text, values)).rows as T[];
      } finally {
        await client.end();
      }
    },
  };
}
