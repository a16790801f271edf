/**
 * The PostgreSQL `TelemetryStore` (CLUSTER.md §3, §6.4). A batch is one statement on one
 * dedicated connection: `INSERT … SELECT FROM unnest($1::text[], …)` for the messages and, in
 * the same statement (a data-modifying CTE), the upsert of the latest values. One prepared
 * statement serves every batch size, and a single statement commits atomically by itself.
 * The connection runs with `synchronous_commit = on`, so when `appendBatch` resolves the
 * batch is in the WAL on disk and the hub may PUBACK it (PG15 `wal-async-commit.html`: async
 * commit would lose "a short time window" of acknowledged rows on a crash).
 *
 * Telemetry lives in daily partitions (store/postgres-telemetry-schema.ts); retention drops
 * whole days. Queries other than the batch use the shared pool.
 */
import type pg from 'pg';

import {
  daysAhead,
  dayOf,
  dropTelemetryPartitionsBefore,
  ensureTelemetryPartitions,
} from '../store/postgres-telemetry-schema.js';
import { isPlainObject } from './message-body.js';
import {
  ROLLUP_TABLES,
  rollupColumns,
  rollupIncrements,
  rollupUpsertSql,
  type RollupLevel,
} from './telemetry-rollups.js';
import {
  fieldKindSql,
  seriesSql,
  toPartial,
  type SeriesPartial,
  type SeriesPieceQuery,
  type SeriesSqlRow,
} from './telemetry-series-sql.js';
import type {
  FieldKind,
  StoredTelemetry,
  TelemetryHistoryFilter,
  TelemetryInput,
  TelemetryScanFilter,
  TelemetryStore,
} from './telemetry-store.js';

export interface PostgresTelemetryStoreOptions {
  /** The pool for reads, retention and device deletion. */
  pool: pg.Pool;
  /** Opens the dedicated connection of the batch writer (again after it broke). */
  connect(): Promise<pg.Client>;
  now?: () => Date;
}

// The row ids come back (for the live events' ids, which SSE clients resume from): sequence
// values are taken in the order unnest yields the rows, so sorted they follow the batch.
const APPEND = `WITH messages AS (
  INSERT INTO telemetry (device_id, enqueued_at, component, body, content_type, system_properties, properties, field_names)
  SELECT d, e, c, b, ct, sp, p, f::jsonb
  FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::text[], $6::text[], $7::text[], $8::text[])
    AS m(d, e, c, b, ct, sp, p, f)
  RETURNING id
), latest AS (
  INSERT INTO telemetry_latest (device_id, component, name, value, enqueued_at)
  SELECT * FROM unnest($9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
  ON CONFLICT (device_id, component, name) DO UPDATE SET value = excluded.value, enqueued_at = excluded.enqueued_at
  WHERE excluded.enqueued_at >= telemetry_latest.enqueued_at
), rollup_minute AS (
  ${rollupUpsertSql('postgres', 'minute').replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + 13}`)}
), rollup_hour AS (
  ${rollupUpsertSql('postgres', 'hour').replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + 25}`)}
)
SELECT id FROM messages ORDER BY id`;

/** SQLSTATE check_violation: raised when no partition takes a row's `enqueued_at`. */
const NO_PARTITION = '23514';

interface TelemetryRow {
  id: number;
  device_id: string;
  enqueued_at: string;
  component: string | null;
  body: Buffer;
  content_type: string | null;
  system_properties: string;
  properties: string;
}

export class PostgresTelemetryStore implements TelemetryStore {
  private writer: Promise<pg.Client> | undefined;
  private readonly now: () => Date;

  constructor(private readonly options: PostgresTelemetryStoreOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Creates today's partition and the next days'; the server calls it once at start. */
  async prepare(): Promise<void> {
    await this.withClient((c) => ensureTelemetryPartitions(c, daysAhead(this.now())));
  }

  async appendBatch(messages: readonly TelemetryInput[]): Promise<void> {
    if (messages.length === 0) return;
    const values = batchValues(messages);
    const client = await this.client();
    let ids: Array<{ id: number }>;
    try {
      ids = (await client.query<{ id: number }>({ name: 'gatehouse_telemetry_append', text: APPEND, values }))
        .rows;
    } catch (err) {
      if ((err as { code?: string }).code !== NO_PARTITION) {
        this.dropWriter(client);
        throw err;
      }
      // A day nobody prepared (a clock jump, a job that did not run): make it, then once more.
      const days = new Set(messages.map((m) => dayOf(m.enqueuedAt)));
      await this.withClient((c) => ensureTelemetryPartitions(c, days));
      ids = (await client.query<{ id: number }>({ name: 'gatehouse_telemetry_append', text: APPEND, values }))
        .rows;
    }
    messages.forEach((m, i) => (m.id = ids[i]?.id));
  }

  async latest(
    deviceId: string,
    name: string,
    component: string,
  ): Promise<{ value: unknown; enqueuedAt: string } | undefined> {
    const r = await this.options.pool.query<{ value: string; enqueued_at: string }>(
      'SELECT value, enqueued_at FROM telemetry_latest WHERE device_id = $1 AND component = $2 AND name = $3',
      [deviceId, component, name],
    );
    const row = r.rows[0];
    return row ? { value: JSON.parse(row.value) as unknown, enqueuedAt: row.enqueued_at } : undefined;
  }

  async history(deviceId: string | undefined, filter: TelemetryHistoryFilter): Promise<StoredTelemetry[]> {
    const args: unknown[] = [];
    const where: string[] = [];
    const arg = (value: unknown) => `$${args.push(value)}`;
    if (deviceId !== undefined) where.push(`device_id = ${arg(deviceId)}`);
    if (filter.from !== undefined) where.push(`enqueued_at >= ${arg(filter.from)}`);
    if (filter.to !== undefined) where.push(`enqueued_at < ${arg(filter.to)}`);
    if (filter.component !== undefined) {
      where.push(filter.component === '' ? 'component IS NULL' : `component = ${arg(filter.component)}`);
    }
    if (filter.name !== undefined) where.push(`field_names ? ${arg(filter.name)}`);
    const r = await this.options.pool.query<TelemetryRow>(
      `SELECT id, device_id, enqueued_at, component, body, content_type, system_properties, properties
       FROM telemetry ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY enqueued_at DESC, id DESC LIMIT ${arg(filter.limit)}`,
      args,
    );
    return r.rows.reverse().map(toStored);
  }

  /**
   * Retention: drops the partitions whose whole day is older than `time`, and creates the
   * days ahead (this runs hourly on every node; the partition lock makes one node do it).
   */
  async deleteOlderThan(time: string): Promise<number> {
    return this.withClient(async (c) => {
      await ensureTelemetryPartitions(c, daysAhead(this.now()));
      return dropTelemetryPartitionsBefore(c, time);
    });
  }

  async scan(deviceId: string, filter: TelemetryScanFilter): Promise<StoredTelemetry[]> {
    const after = filter.after;
    const r = await this.options.pool.query<TelemetryRow>(
      `SELECT id, device_id, enqueued_at, component, body, content_type, system_properties, properties
       FROM telemetry WHERE device_id = $1 AND enqueued_at >= $2 AND enqueued_at < $3
       ${after ? 'AND (enqueued_at, id) > ($5, $6)' : ''}
       ORDER BY enqueued_at, id LIMIT $4`,
      [deviceId, filter.from, filter.to, filter.limit, ...(after ? [after.enqueuedAt, after.id] : [])],
    );
    return r.rows.map((row) => toStored({ ...row, id: Number(row.id) }));
  }

  async seriesPartials(query: SeriesPieceQuery): Promise<SeriesPartial[]> {
    const { text, values } = seriesSql('postgres', query);
    return (await this.options.pool.query<SeriesSqlRow>(text, values)).rows.map(toPartial);
  }

  async fieldKind(deviceIds: readonly string[], component: string, name: string): Promise<FieldKind> {
    const { text, values } = fieldKindSql('postgres', deviceIds, component, name);
    const row = (await this.options.pool.query<{ numeric: boolean; seen: boolean }>(text, values)).rows[0];
    return row?.numeric ? 'numeric' : row?.seen ? 'other' : 'unseen';
  }

  async deleteRollupsOlderThan(level: RollupLevel, time: string): Promise<number> {
    const r = await this.options.pool.query(`DELETE FROM ${ROLLUP_TABLES[level]} WHERE bucket < $1`, [
      Math.floor(Date.parse(time) / 1000),
    ]);
    return r.rowCount ?? 0;
  }

  async deleteDevice(deviceId: string): Promise<void> {
    await this.withClient(async (client) => {
      await client.query('BEGIN');
      try {
        await client.query('DELETE FROM telemetry WHERE device_id = $1', [deviceId]);
        await client.query('DELETE FROM telemetry_latest WHERE device_id = $1', [deviceId]);
        for (const table of Object.values(ROLLUP_TABLES)) {
          await client.query(`DELETE FROM ${table} WHERE device_id = $1`, [deviceId]);
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /** A pooled connection for work that spans statements (a transaction). */
  private async withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.options.pool.connect();
    try {
      return await work(client);
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    const writer = this.writer;
    this.writer = undefined;
    if (writer) await (await writer.catch(() => undefined))?.end().catch(() => undefined);
  }

  private client(): Promise<pg.Client> {
    if (!this.writer) {
      const opening = this.options.connect().then(async (client) => {
        // The default, set anyway: a server configured for async commit must not make us ack early.
        await client.query('SET synchronous_commit = on');
        return client;
      });
      opening.catch(() => {
        if (this.writer === opening) this.writer = undefined;
      });
      this.writer = opening;
    }
    return this.writer;
  }

  /** After an error the connection may be gone: the next batch opens a new one. */
  private dropWriter(client: pg.Client): void {
    this.writer = undefined;
    void client.end().catch(() => undefined);
  }
}

/**
 * The 37 column arrays of {@link APPEND}: one entry per message, then one per latest value,
 * then the minute and the hour rollup increments (telemetry-rollups.ts).
 */
function batchValues(messages: readonly TelemetryInput[]): unknown[] {
  const cols: unknown[][] = Array.from({ length: 8 }, () => []);
  // Only the newest value of each (device, component, field) in the batch: ON CONFLICT may
  // not touch one row twice in one statement.
  const latest = new Map<string, [string, string, string, string, string]>();
  for (const m of messages) {
    const names = m.fields ? Object.keys(m.fields) : undefined;
    const row = [
      m.deviceId,
      m.enqueuedAt,
      m.component,
      m.body,
      m.contentType,
      JSON.stringify(m.systemProperties),
      JSON.stringify(m.properties),
      names ? JSON.stringify(names) : null,
    ];
    row.forEach((v, i) => cols[i]!.push(v));
    if (!m.fields) continue;
    const component = m.component ?? '';
    for (const name in m.fields) {
      const value = m.fields[name];
      if (value === undefined) continue;
      const key = `${m.deviceId}\u0000${component}\u0000${name}`;
      const seen = latest.get(key);
      if (!seen || seen[4] <= m.enqueuedAt)
        latest.set(key, [m.deviceId, component, name, JSON.stringify(value), m.enqueuedAt]);
    }
  }
  const latestCols: string[][] = Array.from({ length: 5 }, () => []);
  for (const entry of latest.values()) entry.forEach((v, i) => latestCols[i]!.push(v));
  return [
    ...cols,
    ...latestCols,
    ...rollupColumns(rollupIncrements(messages, 'minute')),
    ...rollupColumns(rollupIncrements(messages, 'hour')),
  ];
}

function toStored(row: TelemetryRow): StoredTelemetry {
  return {
    id: row.id,
    deviceId: row.device_id,
    enqueuedAt: row.enqueued_at,
    component: row.component,
    body: row.body,
    contentType: row.content_type,
    systemProperties: parseRecord(row.system_properties),
    properties: parseRecord(row.properties),
  };
}

function parseRecord(text: string): Record<string, string> {
  const value = JSON.parse(text) as unknown;
  return isPlainObject(value) ? (value as Record<string, string>) : {};
}
