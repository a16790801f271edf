/**
 * Migration 0009 fills the new rollup tables from the telemetry already stored, so a database
 * made by an older release answers series from rollups exactly like from its raw messages
 * (hub/telemetry-rollups.ts keeps them up to date from then on). One INSERT … SELECT per
 * level, in the database: the numeric top-level fields of JSON-object bodies, first and last
 * by (time, id) like the raw queries.
 */
import { sql, type Kysely } from 'kysely';

import type { StoreDialect } from './column-types.js';

export async function backfillTelemetryRollups(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  if (dialect === 'sqlite') return backfill(db, 'sqlite', false);
  // jsonb refuses a few bodies JavaScript parsed (a \u0000 in a string, a byte-order mark):
  // the fast pass parses every body at once; if one is refused, a slower pass skips such bodies.
  await sql`SAVEPOINT gatehouse_backfill`.execute(db);
  try {
    await backfill(db, 'postgres', false);
  } catch {
    await sql`ROLLBACK TO SAVEPOINT gatehouse_backfill`.execute(db);
    await sql`CREATE FUNCTION pg_temp.gatehouse_jsonb(b bytea) RETURNS jsonb LANGUAGE plpgsql AS $$
      BEGIN RETURN convert_from(b, 'UTF8')::jsonb; EXCEPTION WHEN others THEN RETURN NULL; END $$`.execute(
      db,
    );
    await backfill(db, 'postgres', true);
  }
}

async function backfill(db: Kysely<unknown>, dialect: StoreDialect, tolerant: boolean): Promise<void> {
  const parse = tolerant ? sql`pg_temp.gatehouse_jsonb(t.body)` : sql`convert_from(t.body, 'UTF8')::jsonb`;
  // The numeric fields of every JSON-object body: (device, component, name, minute, value, time, id).
  const fields =
    dialect === 'postgres'
      ? sql`SELECT t.device_id, coalesce(t.component, '') AS component, f.key AS name,
          (floor(extract(epoch FROM t.enqueued_at::timestamptz) / 60) * 60)::bigint AS bucket,
          f.value::float8 AS v, t.enqueued_at AS k, t.id
        FROM telemetry t CROSS JOIN LATERAL jsonb_each(CASE WHEN t.field_names IS NOT NULL THEN ${parse} END) f
        WHERE t.field_names IS NOT NULL AND jsonb_typeof(f.value) = 'number'`
      : sql`SELECT t.device_id, coalesce(t.component, '') AS component, f.key AS name,
          (unixepoch(t.enqueued_at) / 60) * 60 AS bucket, f.value AS v, t.enqueued_at AS k, t.id
        FROM telemetry t, json_each(CASE WHEN json_valid(CAST(t.body AS TEXT))
            AND json_type(CAST(t.body AS TEXT)) = 'object' THEN CAST(t.body AS TEXT) ELSE '{}' END) f
        WHERE f.type IN ('integer', 'real')`;
  await sql`INSERT INTO telemetry_rollup_minute
    SELECT device_id, component, name, bucket, count(*), ${dialect === 'sqlite' ? sql`total(v)` : sql`sum(v)`}, min(v), max(v),
      max(CASE WHEN r_first = 1 THEN v END), min(k), max(CASE WHEN r_last = 1 THEN v END), max(k)
    FROM (SELECT x.*,
        row_number() OVER (PARTITION BY device_id, component, name, bucket ORDER BY k, id) AS r_first,
        row_number() OVER (PARTITION BY device_id, component, name, bucket ORDER BY k DESC, id DESC) AS r_last
      FROM (${fields}) x) y
    GROUP BY device_id, component, name, bucket`.execute(db);
  // Hours from minutes: minutes never overlap, so first/last by their times is exact.
  await sql`INSERT INTO telemetry_rollup_hour
    SELECT device_id, component, name, hour, sum(n), sum(sum_value), min(min_value), max(max_value),
      max(CASE WHEN r_first = 1 THEN first_value END), min(first_time),
      max(CASE WHEN r_last = 1 THEN last_value END), max(last_time)
    FROM (SELECT m.*, (bucket / 3600) * 3600 AS hour,
        row_number() OVER (PARTITION BY device_id, component, name, bucket / 3600 ORDER BY first_time) AS r_first,
        row_number() OVER (PARTITION BY device_id, component, name, bucket / 3600 ORDER BY last_time DESC) AS r_last
      FROM telemetry_rollup_minute m) y
    GROUP BY device_id, component, name, hour`.execute(db);
}
