/**
 * Rollups of numeric telemetry: per device, component, field and minute (and hour) the count,
 * sum, min, max and the first and last value with their times. The stores update them in the
 * same transaction as the messages they come from (telemetry-store.ts, -postgres.ts), so a
 * late or out-of-order message lands in its minute and hour at once and a rollup is always
 * exactly the aggregation of the raw rows it covers. A periodic job would have to find the
 * late rows again (or re-aggregate whole buckets), and would lag: a commit is simpler and
 * exact. The cost is one upsert per (device, component, field, minute) and per hour in a
 * batch: the batch is pre-aggregated here, so a busy device costs one upsert per batch.
 *
 * Only JSON numbers count (not booleans or numeric strings), the same rule as the raw
 * queries (`json_type` integer/real on SQLite, `jsonb_typeof` number on PostgreSQL).
 */
import type { TelemetryInput } from './telemetry-store.js';

export const ROLLUP_TABLES = { minute: 'telemetry_rollup_minute', hour: 'telemetry_rollup_hour' } as const;
export type RollupLevel = keyof typeof ROLLUP_TABLES;
export const ROLLUP_SECONDS: Record<RollupLevel, number> = { minute: 60, hour: 3600 };

/** One rollup row (or its increment from one batch). `bucket`: epoch seconds of its start. */
export interface RollupRow {
  deviceId: string;
  component: string;
  name: string;
  bucket: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  firstValue: number;
  firstTime: string;
  lastValue: number;
  lastTime: string;
}

/**
 * The batch's increments of one rollup level, one row per key. Messages are taken in batch
 * order, which is the order of their row ids: a tie on time keeps the earlier message first
 * and makes the later one last, like the raw queries' order by (time, id).
 */
export function rollupIncrements(messages: readonly TelemetryInput[], level: RollupLevel): RollupRow[] {
  const size = ROLLUP_SECONDS[level];
  const rows = new Map<string, RollupRow>();
  for (const m of messages) {
    if (!m.fields) continue;
    const component = m.component ?? '';
    const bucket = Math.floor(Date.parse(m.enqueuedAt) / 1000 / size) * size;
    for (const name in m.fields) {
      const value = m.fields[name];
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      const key = `${m.deviceId}\u0000${component}\u0000${name}\u0000${bucket}`;
      const row = rows.get(key);
      if (!row) {
        rows.set(key, {
          deviceId: m.deviceId,
          component,
          name,
          bucket,
          count: 1,
          sum: value,
          min: value,
          max: value,
          firstValue: value,
          firstTime: m.enqueuedAt,
          lastValue: value,
          lastTime: m.enqueuedAt,
        });
        continue;
      }
      row.count++;
      row.sum += value;
      if (value < row.min) row.min = value;
      if (value > row.max) row.max = value;
      if (m.enqueuedAt < row.firstTime) {
        row.firstTime = m.enqueuedAt;
        row.firstValue = value;
      }
      if (m.enqueuedAt >= row.lastTime) {
        row.lastTime = m.enqueuedAt;
        row.lastValue = value;
      }
    }
  }
  // In key order: concurrent batches (two nodes during a device's takeover) then take the
  // rows' locks in the same order on PostgreSQL and cannot deadlock on each other.
  return [...rows.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([, row]) => row);
}

const COLUMNS =
  'device_id, component, name, bucket, n, sum_value, min_value, max_value, first_value, first_time, last_value, last_time';

/**
 * The upsert of one rollup increment: counts and sums add up, min/max widen, an earlier first
 * and a later (or equally late, so later sent) last replace the stored ones. Every right-hand
 * side reads the row as it was before the update (SQL semantics on both databases).
 */
export function rollupUpsertSql(dialect: 'sqlite' | 'postgres', level: RollupLevel): string {
  const t = ROLLUP_TABLES[level];
  const [least, greatest] = dialect === 'sqlite' ? ['min', 'max'] : ['LEAST', 'GREATEST'];
  const values =
    dialect === 'sqlite'
      ? 'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
      : `SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::float8[],
           $7::float8[], $8::float8[], $9::float8[], $10::text[], $11::float8[], $12::text[])`;
  return `INSERT INTO ${t} (${COLUMNS}) ${values}
    ON CONFLICT (device_id, component, name, bucket) DO UPDATE SET
      n = ${t}.n + excluded.n,
      sum_value = ${t}.sum_value + excluded.sum_value,
      min_value = ${least}(${t}.min_value, excluded.min_value),
      max_value = ${greatest}(${t}.max_value, excluded.max_value),
      first_value = CASE WHEN excluded.first_time < ${t}.first_time THEN excluded.first_value ELSE ${t}.first_value END,
      first_time = ${least}(${t}.first_time, excluded.first_time),
      last_value = CASE WHEN excluded.last_time >= ${t}.last_time THEN excluded.last_value ELSE ${t}.last_value END,
      last_time = ${greatest}(${t}.last_time, excluded.last_time)`;
}

/** A row's values in {@link COLUMNS} order. */
export function rollupValues(r: RollupRow): Array<string | number> {
  return [
    r.deviceId,
    r.component,
    r.name,
    r.bucket,
    r.count,
    r.sum,
    r.min,
    r.max,
    r.firstValue,
    r.firstTime,
    r.lastValue,
    r.lastTime,
  ];
}

/** The 12 column arrays of the PostgreSQL upsert. */
export function rollupColumns(rows: readonly RollupRow[]): unknown[][] {
  const cols: unknown[][] = Array.from({ length: 12 }, () => []);
  for (const r of rows) rollupValues(r).forEach((v, i) => cols[i]!.push(v));
  return cols;
}
