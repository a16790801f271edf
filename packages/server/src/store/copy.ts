/**
 * `gatehouse store copy`: moves an application that started on the embedded SQLite file to
 * PostgreSQL — every table (devices, enrollments, certificates, templates, twins, dashboards,
 * users, tokens, telemetry history…) and the server's TLS identity, so devices that trust the
 * old server CA trust the cluster too. All or nothing: one transaction on the target; the row
 * counts of every table are compared at the end, inside it, before it commits.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql, type Transaction } from 'kysely';

import { ensureTelemetryPartitions } from './postgres-telemetry-schema.js';
import { openPostgres, redactUrl } from './postgres.js';
import { migrate } from './sqlite.js';
import type { Database } from './schema.js';
import { storeError } from './errors.js';
import { TLS_SETTINGS_KEYS } from '../tls-identity-database.js';

/**
 * Tables in an order that satisfies every foreign key (group_certificates → enrollment_groups,
 * user_sessions → users, job_devices → jobs). Tables not named here are copied after these, by name: a table added
 * by a later migration is copied without a change here (a test checks the target has no table
 * the copy leaves out).
 */
export const COPY_ORDER = [
  'settings',
  'api_tokens',
  'users',
  'user_sessions',
  'enrollment_groups',
  'group_certificates',
  'group_crls',
  'revoked_certificates',
  'individual_enrollments',
  'device_templates',
  'devices',
  'registrations',
  'provisioning_attempts',
  'hub_sessions',
  'twins',
  'commands',
  'c2d_messages',
  'device_status',
  'dashboards',
  'device_tags',
  'device_groups',
  'cloud_properties',
  'scheduled_jobs',
  'jobs',
  'job_devices',
  'device_sessions',
  'cluster_nodes',
  'singleton_runs',
  'audit_log',
  'export_destinations',
  'exports',
  'export_cursors',
  'export_outbox',
  'rules',
  'rule_firings',
  'rule_action_counts',
  'rule_device_offline',
  'telemetry_latest',
  'telemetry_rollup_minute',
  'telemetry_rollup_hour',
  'telemetry',
] as const;

/** Tables of the migrators themselves: each database keeps its own. */
const MIGRATOR_TABLES = new Set(['kysely_migration', 'kysely_migration_lock']);

export interface CopyProgress {
  table: string;
  /** Rows of this table copied so far. */
  copied: number;
  /** Rows of this table in the source. */
  total: number;
  /** Rows of every table copied so far, and in all. */
  allCopied: number;
  allTotal: number;
}

export interface CopyOptions {
  /** The SQLite data folder of `gatehouse serve` (holds gatehouse.db and the server CA files). */
  from: string;
  /** `postgres://…` of the target database. */
  to: string;
  /** Replace what the target holds instead of refusing a non-empty target. */
  force?: boolean;
  onProgress?: (progress: CopyProgress) => void;
  /** Rows per INSERT (capped by PostgreSQL's 65,535 parameters). */
  batchSize?: number;
}

export interface CopiedTable {
  table: string;
  rows: number;
}

export interface CopyReport {
  tables: CopiedTable[];
  rows: number;
  /** Whether the server CA and certificate of the data folder went into the database. */
  tlsIdentity: boolean;
  /** The target, password hidden. */
  target: string;
}

type Row = Record<string, unknown>;

function sourceTables(sqlite: BetterSqlite3.Database): string[] {
  const rows = sqlite
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .all() as Array<{ name: string }>;
  return rows.map((r) => r.name).filter((n) => !MIGRATOR_TABLES.has(n));
}

function sourceColumns(sqlite: BetterSqlite3.Database, table: string): string[] {
  return (sqlite.prepare(`PRAGMA table_info("${table}")`).all() as Array<{ name: string }>).map(
    (c) => c.name,
  );
}

/** A stable order to page a table in: its rowid, or the primary key of a WITHOUT ROWID table (the rollups). */
function orderKey(sqlite: BetterSqlite3.Database, table: string): string {
  const info = sqlite.prepare('SELECT wr FROM pragma_table_list WHERE name = ?').get(table) as
    { wr: number } | undefined;
  if (!info?.wr) return 'rowid';
  const pk = (sqlite.prepare(`PRAGMA table_info("${table}")`).all() as Array<{ name: string; pk: number }>)
    .filter((c) => c.pk > 0)
    .sort((a, b) => a.pk - b.pk);
  return pk.map((c) => `"${c.name}"`).join(', ');
}

async function targetTables(db: Kysely<Database>): Promise<string[]> {
  const r = await sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables
    WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`.execute(db);
  // Partitions of telemetry are tables too: the parent stands for them.
  const partitions = await sql<{ name: string }>`SELECT c.relname AS name FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid`.execute(db);
  const skip = new Set(partitions.rows.map((p) => p.name));
  return r.rows.map((t) => t.name).filter((n) => !MIGRATOR_TABLES.has(n) && !skip.has(n));
}

async function targetColumns(db: Kysely<Database>, table: string): Promise<string[]> {
  const r = await sql<{ name: string }>`SELECT column_name AS name FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name = ${table} ORDER BY ordinal_position`.execute(db);
  return r.rows.map((c) => c.name);
}

async function count(db: Kysely<Database> | Transaction<Database>, table: string): Promise<number> {
  const r = await sql<{ n: number | string }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(db);
  return Number(r.rows[0]?.n ?? 0);
}

/** The top-level names of a JSON-object body: what the PostgreSQL telemetry `name` filter reads. */
function fieldNames(body: unknown): string | null {
  if (!Buffer.isBuffer(body)) return null;
  try {
    const value = JSON.parse(body.toString('utf8')) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? JSON.stringify(Object.keys(value))
      : null;
  } catch {
    return null;
  }
}

/** The order of the copy: the known tables first, then any other by name. */
function ordered(tables: string[]): string[] {
  const known = COPY_ORDER.filter((t) => tables.includes(t));
  const rest = tables.filter((t) => !(COPY_ORDER as readonly string[]).includes(t)).sort();
  return [...known, ...rest];
}

/**
 * Reads the data folder's TLS identity files (those `gatehouse serve` writes on SQLite), or
 * undefined when the server ran with a certificate of the user's own (`--tls-cert`).
 */
function tlsIdentityFiles(dir: string): Array<[string, string]> | undefined {
  const files: Array<[string, string]> = [
    [TLS_SETTINGS_KEYS.caCert, 'server-ca.pem'],
    [TLS_SETTINGS_KEYS.caKey, 'server-ca-key.pem'],
    [TLS_SETTINGS_KEYS.cert, 'server-cert.pem'],
    [TLS_SETTINGS_KEYS.key, 'server-key.pem'],
  ];
  if (!files.every(([, f]) => existsSync(join(dir, f)))) return undefined;
  return files.map(([key, f]) => [key, readFileSync(join(dir, f), 'utf8')]);
}

/**
 * Copies the SQLite application in `options.from` into the PostgreSQL database `options.to`.
 *
 * @throws the store errors of {@link openPostgres}; `ERR_STORE_COPY_SOURCE_MISSING`,
 * `ERR_STORE_COPY_TARGET_NOT_EMPTY`, `ERR_STORE_COPY_SCHEMA_MISMATCH`, `ERR_STORE_COPY_COUNT_MISMATCH`.
 */
export async function copyStore(options: CopyOptions): Promise<CopyReport> {
  const file = join(options.from, 'gatehouse.db');
  if (!existsSync(file)) {
    throw storeError(
      'ERR_STORE_COPY_SOURCE_MISSING',
      `${file} does not exist: --from must be the data folder of a \`gatehouse serve\` that ran on SQLite (the folder holding gatehouse.db).`,
    );
  }
  // Bring the source to the current schema first, so its columns are the target's.
  const sqlite = new BetterSqlite3(file);
  const sourceDb = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  try {
    await migrate(sourceDb);
  } catch (err) {
    await sourceDb.destroy();
    throw err;
  }
  const target = await openPostgres({ url: options.to }).catch(async (err: unknown) => {
    await sourceDb.destroy();
    throw err;
  });
  try {
    return await copyOpen(options, sqlite, target.db, target.connect);
  } finally {
    await target.close();
    await sourceDb.destroy();
  }
}

async function copyOpen(
  options: CopyOptions,
  sqlite: BetterSqlite3.Database,
  db: Kysely<Database>,
  connect: () => Promise<{
    query: (text: string, values?: unknown[]) => Promise<unknown>;
    end: () => Promise<void>;
  }>,
): Promise<CopyReport> {
  const tables = ordered(sourceTables(sqlite));
  const inTarget = await targetTables(db);
  const missing = tables.filter((t) => !inTarget.includes(t));
  if (missing.length > 0) {
    throw storeError(
      'ERR_STORE_COPY_SCHEMA_MISMATCH',
      `The target has no table ${missing.join(', ')}: copy with the same Gatehouse version that ran on the data folder.`,
    );
  }
  const nonEmpty: string[] = [];
  for (const t of inTarget) {
    const n = await count(db, t);
    if (n > 0) nonEmpty.push(`${t} (${n})`);
  }
  if (nonEmpty.length > 0 && options.force !== true) {
    throw storeError(
      'ERR_STORE_COPY_TARGET_NOT_EMPTY',
      `${redactUrl(options.to)} already holds data: ${nonEmpty.slice(0, 5).join(', ')}${nonEmpty.length > 5 ? ', …' : ''}. Copy into an empty database (before any node starts on it), or add --force to replace what it holds.`,
    );
  }

  const columns = new Map<string, string[]>();
  const totals = new Map<string, number>();
  for (const t of tables) {
    const have = await targetColumns(db, t);
    const src = sourceColumns(sqlite, t);
    const lacking = src.filter((c) => !have.includes(c));
    if (lacking.length > 0) {
      throw storeError(
        'ERR_STORE_COPY_SCHEMA_MISMATCH',
        `The target's ${t} has no column ${lacking.join(', ')}: copy with the same Gatehouse version that ran on the data folder.`,
      );
    }
    columns.set(t, src);
    totals.set(t, (sqlite.prepare(`SELECT count(*) AS n FROM "${t}"`).get() as { n: number }).n);
  }
  const allTotal = [...totals.values()].reduce((a, b) => a + b, 0);

  // Telemetry lands in daily partitions: every day of the history needs one before the insert.
  if (tables.includes('telemetry')) {
    const days = (
      sqlite.prepare('SELECT DISTINCT substr(enqueued_at, 1, 10) AS d FROM telemetry').all() as Array<{
        d: string;
      }>
    ).map((r) => r.d);
    const client = await connect();
    try {
      await ensureTelemetryPartitions(client as Parameters<typeof ensureTelemetryPartitions>[0], days);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  const identity = tlsIdentityFiles(options.from);
  let allCopied = 0;
  const copied: CopiedTable[] = [];
  await db.transaction().execute(async (trx) => {
    if (nonEmpty.length > 0) {
      const list = inTarget.map((t) => `"${t}"`).join(', ');
      await sql.raw(`TRUNCATE ${list} RESTART IDENTITY CASCADE`).execute(trx);
    }
    for (const table of tables) {
      const cols = columns.get(table)!;
      const total = totals.get(table)!;
      const withNames = table === 'telemetry' && (await targetColumns(db, table)).includes('field_names');
      const perRow = cols.length + (withNames ? 1 : 0);
      const batch = Math.max(1, Math.min(options.batchSize ?? 1000, Math.floor(60_000 / perRow)));
      const select = sqlite.prepare(
        `SELECT ${cols.map((c) => `"${c}"`).join(', ')} FROM "${table}" ORDER BY ${orderKey(sqlite, table)} LIMIT ? OFFSET ?`,
      );
      let done = 0;
      options.onProgress?.({ table, copied: 0, total, allCopied, allTotal });
      for (let offset = 0; offset < total; offset += batch) {
        const rows = select.all(batch, offset) as Row[];
        if (rows.length === 0) break;
        const values = withNames ? rows.map((r) => ({ ...r, field_names: fieldNames(r['body']) })) : rows;
        await trx
          .insertInto(table as keyof Database)
          .values(values as never)
          .execute();
        done += rows.length;
        allCopied += rows.length;
        options.onProgress?.({ table, copied: done, total, allCopied, allTotal });
      }
      // A serial id keeps counting after the copied rows, not from 1.
      if (cols.includes('id')) {
        const seq = await sql<{
          seq: string | null;
        }>`SELECT pg_get_serial_sequence(${table}, 'id') AS seq`.execute(trx);
        const name = seq.rows[0]?.seq;
        if (name) {
          await sql`SELECT setval(${name}::regclass, coalesce(max(id), 0) + 1, false) FROM ${sql.table(table)}`.execute(
            trx,
          );
        }
      }
      copied.push({ table, rows: done });
    }
    // The check: every table holds exactly the source's rows, or nothing is committed.
    for (const { table } of copied) {
      const have = await count(trx, table);
      const want = totals.get(table)!;
      if (have !== want) {
        throw storeError(
          'ERR_STORE_COPY_COUNT_MISMATCH',
          `${table}: the target holds ${have} rows after the copy, the source ${want}; nothing was committed.`,
        );
      }
    }
    // The server CA devices already trust becomes the cluster's (tls-identity-database.ts).
    for (const [key, value] of identity ?? []) {
      await trx
        .insertInto('settings')
        .values({ key, value })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
        .execute();
    }
  });
  return {
    tables: copied,
    rows: allCopied,
    tlsIdentity: identity !== undefined,
    target: redactUrl(options.to),
  };
}
