/**
 * The telemetry table on PostgreSQL: declarative range partitions, one per UTC day
 * (CLUSTER.md §3). Retention drops whole days instead of deleting rows (no dead tuples, no
 * vacuum debt); there is no DEFAULT partition, so `DETACH … CONCURRENTLY` stays possible and
 * every day's partition is created ahead (today + 2) at start and by the hourly retention job.
 * `enqueued_at` stays an ISO-8601 text like on SQLite (collation "C", so the byte order of
 * the fixed-width UTC strings is their time order and 'YYYY-MM-DD' bounds cut at midnight).
 * `field_names` holds the top-level names of a JSON-object body, for the history `name` filter.
 */
import { sql, type Kysely } from 'kysely';

import { ADVISORY_LOCKS } from './advisory-locks.js';

/** What the functions below need of a pg client or pool. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

/** Days of partitions kept ready beyond today. */
export const PARTITION_DAYS_AHEAD = 2;
const DAY_MS = 86_400_000;

export async function createPostgresTelemetryTable(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE telemetry (
    id bigserial NOT NULL,
    device_id text COLLATE "C" NOT NULL,
    enqueued_at text COLLATE "C" NOT NULL,
    component text COLLATE "C",
    body bytea NOT NULL,
    content_type text COLLATE "C",
    system_properties text NOT NULL,
    properties text NOT NULL,
    field_names jsonb
  ) PARTITION BY RANGE (enqueued_at)`.execute(db);
  // Per-device charts and history read by (device, time); fleet-wide scans by time, where
  // BRIN is tiny and enough because rows arrive in time order.
  await sql`CREATE INDEX telemetry_device_time ON telemetry (device_id, enqueued_at)`.execute(db);
  await sql`CREATE INDEX telemetry_time ON telemetry USING brin (enqueued_at)`.execute(db);
}

/** 'YYYY-MM-DD' of a time (UTC). */
export function dayOf(time: Date | string): string {
  return (typeof time === 'string' ? time : time.toISOString()).slice(0, 10);
}

export function partitionName(day: string): string {
  return `telemetry_p${day.replaceAll('-', '')}`;
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
}

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Creates the partitions of `days` (and skips those that exist) under an advisory lock, so
 * nodes starting together do not race on the catalog. Creating a partition locks the parent
 * table; `lock_timeout` keeps a busy ingest from stalling behind it for long.
 */
export async function ensureTelemetryPartitions(
  client: Queryable,
  days: Iterable<string>,
): Promise<string[]> {
  const wanted = [...new Set(days)].filter((d) => DAY_PATTERN.test(d)).sort();
  const missing: string[] = [];
  for (const day of wanted) {
    const r = await client.query('SELECT to_regclass($1) AS t', [partitionName(day)]);
    if ((r.rows[0] as { t: string | null }).t === null) missing.push(day);
  }
  if (missing.length === 0) return [];
  await client.query('BEGIN');
  try {
    await client.query("SET LOCAL lock_timeout = '5s'");
    await client.query('SELECT pg_advisory_xact_lock($1)', [ADVISORY_LOCKS.telemetryPartitions.toString()]);
    for (const day of missing) {
      // Day strings are checked against DAY_PATTERN: safe to put in DDL, which takes no parameters.
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${partitionName(day)} PARTITION OF telemetry FOR VALUES FROM ('${day}') TO ('${nextDay(day)}')`,
      );
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return missing;
}

/** Today and the days ahead of it. */
export function daysAhead(now: Date): string[] {
  const out: string[] = [];
  for (let i = 0; i <= PARTITION_DAYS_AHEAD; i++) out.push(dayOf(new Date(now.getTime() + i * DAY_MS)));
  return out;
}

/**
 * Drops every partition whose whole day is before `cutoff` (ISO-8601), returning how many
 * rows went with them. One node at a time: another node holding the lock means the job is
 * being done, so this one returns 0 at once.
 */
export async function dropTelemetryPartitionsBefore(client: Queryable, cutoff: string): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query("SET LOCAL lock_timeout = '2s'");
    const lock = await client.query('SELECT pg_try_advisory_xact_lock($1) AS ok', [
      ADVISORY_LOCKS.telemetryPartitions.toString(),
    ]);
    if (!(lock.rows[0] as { ok: boolean }).ok) {
      await client.query('ROLLBACK');
      return 0;
    }
    const parts = await client.query(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'telemetry'::regclass`,
    );
    let dropped = 0;
    for (const { name } of parts.rows as Array<{ name: string }>) {
      const m = /^telemetry_p(\d{4})(\d{2})(\d{2})$/.exec(name);
      if (!m) continue;
      const day = `${m[1]}-${m[2]}-${m[3]}`;
      // The partition holds [day, next day): all of it is older than the cutoff.
      if (nextDay(day) > cutoff) continue;
      const count = await client.query(`SELECT count(*) AS n FROM ${name}`);
      dropped += Number((count.rows[0] as { n: string | number }).n);
      await client.query(`DROP TABLE ${name}`);
    }
    await client.query('COMMIT');
    return dropped;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
