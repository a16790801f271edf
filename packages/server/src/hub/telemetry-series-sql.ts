/**
 * What a store answers for a series (telemetry-series.ts plans the pieces, merges and
 * finishes them): per device and bucket the partial aggregate of one piece of the window,
 * from raw messages or from a rollup table. The SQL of both dialects is here, side by side,
 * so they stay the same query: a GROUP BY over (device, bucket) that never ships raw rows to
 * Node. Buckets are epoch seconds aligned to multiples of the interval (UTC, no time zone).
 */
import type { Aggregation } from './telemetry-series-query.js';
import { ROLLUP_TABLES, type RollupLevel } from './telemetry-rollups.js';

export type SeriesSource = 'raw' | RollupLevel;

export interface SeriesPieceQuery {
  deviceIds: readonly string[];
  /** '' = root component. */
  component: string;
  name: string;
  intervalS: number;
  aggregation: Aggregation;
  source: SeriesSource;
  /** Epoch ms, inclusive; for a rollup source aligned to its level. */
  fromMs: number;
  /** Epoch ms, exclusive; for a rollup source aligned to its level. */
  toMs: number;
}

/**
 * One bucket of one device from one piece. `value`: the sum for avg and sum, the min, the
 * max, the first or last value, null for count; `time`: when that first/last value was sent.
 */
export interface SeriesPartial {
  deviceId: string;
  bucket: number;
  count: number;
  value: number | null;
  time?: string;
}

/** How a row of {@link seriesSql} looks (drivers give numbers of PostgreSQL's bigint as text). */
export interface SeriesSqlRow {
  d: string;
  b: number | string;
  n: number | string;
  v: number | string | null;
  k?: string | null;
}

export function toPartial(row: SeriesSqlRow): SeriesPartial {
  const partial: SeriesPartial = {
    deviceId: row.d,
    bucket: Number(row.b),
    count: Number(row.n),
    value: row.v === null ? null : Number(row.v),
  };
  // SQLite's raw first/last key is `time#id` (the id breaks ties like PostgreSQL's ORDER BY).
  if (row.k !== undefined && row.k !== null) partial.time = row.k.split('#')[0]!;
  return partial;
}

/**
 * A top-level field name as SQLite's JSON path label `$."name"`: names with `"`, `\` or
 * control characters are refused before they get here (telemetry-series.ts).
 */
function jsonPath(name: string): string {
  return `$."${name}"`;
}

export function seriesSql(
  dialect: 'sqlite' | 'postgres',
  q: SeriesPieceQuery,
): { text: string; values: unknown[] } {
  if (!Number.isSafeInteger(q.intervalS) || q.intervalS < 1)
    throw new Error('interval must be whole seconds');
  const i = q.intervalS;
  if (q.source !== 'raw') return rollupSql(dialect, q, ROLLUP_TABLES[q.source]);
  const from = new Date(q.fromMs).toISOString();
  const to = new Date(q.toMs).toISOString();
  if (dialect === 'sqlite') {
    const [value, key] = sqliteRawValue(q.aggregation);
    return {
      // CASE keeps json_type/json_extract away from bodies that are not JSON (they would raise).
      text: `SELECT device_id AS d, (unixepoch(enqueued_at) / ${i}) * ${i} AS b, count(*) AS n, ${value} AS v${key}
        FROM (SELECT device_id, enqueued_at, id,
                CASE WHEN json_valid(CAST(body AS TEXT)) THEN
                  CASE WHEN json_type(CAST(body AS TEXT), ?) IN ('integer', 'real')
                  THEN json_extract(CAST(body AS TEXT), ?) END END AS x
              FROM telemetry
              WHERE device_id IN (SELECT value FROM json_each(?)) AND enqueued_at >= ? AND enqueued_at < ?
                AND component IS ?)
        WHERE x IS NOT NULL GROUP BY d, b`,
      values: [
        jsonPath(q.name),
        jsonPath(q.name),
        JSON.stringify(q.deviceIds),
        from,
        to,
        q.component === '' ? null : q.component,
      ],
    };
  }
  const [value, key] = postgresRawValue(q.aggregation);
  return {
    // field_names (the top-level names of a JSON-object body, set at ingest) picks the bodies
    // worth parsing; the daily partitions outside [from, to) are pruned.
    text: `SELECT device_id AS d, (floor(extract(epoch FROM enqueued_at::timestamptz) / ${i}) * ${i})::bigint AS b,
        count(*) AS n, ${value} AS v${key}
      FROM (SELECT device_id, enqueued_at, id, convert_from(body, 'UTF8')::jsonb -> $1::text AS j
            FROM telemetry
            WHERE device_id = ANY($2::text[]) AND enqueued_at >= $3 AND enqueued_at < $4
              AND component IS NOT DISTINCT FROM $5 AND field_names ? $1::text) s
      WHERE jsonb_typeof(j) = 'number' GROUP BY d, b`,
    values: [q.name, q.deviceIds, from, to, q.component === '' ? null : q.component],
  };
}

function rollupSql(
  dialect: 'sqlite' | 'postgres',
  q: SeriesPieceQuery,
  table: string,
): { text: string; values: unknown[] } {
  const i = q.intervalS;
  const from = Math.floor(q.fromMs / 1000);
  const to = Math.floor(q.toMs / 1000);
  const [value, key] = rollupValue(dialect, q.aggregation);
  if (dialect === 'sqlite') {
    return {
      text: `SELECT device_id AS d, (bucket / ${i}) * ${i} AS b, sum(n) AS n, ${value} AS v${key}
        FROM ${table}
        WHERE device_id IN (SELECT value FROM json_each(?)) AND component = ? AND name = ? AND bucket >= ? AND bucket < ?
        GROUP BY d, b`,
      values: [JSON.stringify(q.deviceIds), q.component, q.name, from, to],
    };
  }
  return {
    text: `SELECT device_id AS d, (bucket / ${i}) * ${i} AS b, sum(n) AS n, ${value} AS v${key}
      FROM ${table}
      WHERE device_id = ANY($1::text[]) AND component = $2 AND name = $3 AND bucket >= $4 AND bucket < $5
      GROUP BY d, b`,
    values: [q.deviceIds, q.component, q.name, from, to],
  };
}

/**
 * SQLite: `first`/`last` use its bare-column rule (with exactly one min() or max() in the
 * query, other columns come from the row that has it); the key orders by time, then row id.
 */
function sqliteRawValue(aggregation: Aggregation): [string, string] {
  const key = `enqueued_at || '#' || printf('%020d', id)`;
  switch (aggregation) {
    case 'avg':
    case 'sum':
      return ['total(x)', ''];
    case 'min':
      return ['min(x)', ''];
    case 'max':
      return ['max(x)', ''];
    case 'count':
      return ['NULL', ''];
    case 'first':
      return ['x', `, min(${key}) AS k`];
    case 'last':
      return ['x', `, max(${key}) AS k`];
  }
}

function postgresRawValue(aggregation: Aggregation): [string, string] {
  switch (aggregation) {
    case 'avg':
    case 'sum':
      return ['sum(j::float8)', ''];
    case 'min':
      return ['min(j::float8)', ''];
    case 'max':
      return ['max(j::float8)', ''];
    case 'count':
      return ['NULL', ''];
    case 'first':
      return ['(array_agg(j::float8 ORDER BY enqueued_at, id))[1]', ', min(enqueued_at) AS k'];
    case 'last':
      return ['(array_agg(j::float8 ORDER BY enqueued_at DESC, id DESC))[1]', ', max(enqueued_at) AS k'];
  }
}

function rollupValue(dialect: 'sqlite' | 'postgres', aggregation: Aggregation): [string, string] {
  switch (aggregation) {
    case 'avg':
    case 'sum':
      return [dialect === 'sqlite' ? 'total(sum_value)' : 'sum(sum_value)', ''];
    case 'min':
      return ['min(min_value)', ''];
    case 'max':
      return ['max(max_value)', ''];
    case 'count':
      return ['NULL', ''];
    case 'first':
      return dialect === 'sqlite'
        ? ['first_value', ', min(first_time) AS k']
        : ['(array_agg(first_value ORDER BY first_time))[1]', ', min(first_time) AS k'];
    case 'last':
      return dialect === 'sqlite'
        ? ['last_value', ', max(last_time) AS k']
        : ['(array_agg(last_value ORDER BY last_time DESC))[1]', ', max(last_time) AS k'];
  }
}

/** Whether any of the devices stored a number in the field, or sent the field at all. */
export function fieldKindSql(
  dialect: 'sqlite' | 'postgres',
  deviceIds: readonly string[],
  component: string,
  name: string,
): { text: string; values: unknown[] } {
  const devices =
    dialect === 'sqlite' ? 'device_id IN (SELECT value FROM json_each(?))' : 'device_id = ANY($1::text[])';
  const [c, n] = dialect === 'sqlite' ? ['?', '?'] : ['$2', '$3'];
  const ids = dialect === 'sqlite' ? JSON.stringify(deviceIds) : deviceIds;
  const text = `SELECT
      EXISTS (SELECT 1 FROM ${ROLLUP_TABLES.hour} WHERE ${devices} AND component = ${c} AND name = ${n}) AS numeric,
      EXISTS (SELECT 1 FROM telemetry_latest WHERE ${devices} AND component = ${c} AND name = ${n}) AS seen`;
  return {
    text,
    values: dialect === 'sqlite' ? [ids, component, name, ids, component, name] : [ids, component, name],
  };
}
