/**
 * Where device-to-cloud messages are kept: the `TelemetryStore` interface (SQLite now,
 * PostgreSQL later) and its SQLite implementation.
 *
 * The SQLite store writes one transaction per batch with prepared statements on the raw
 * better-sqlite3 handle (kysely per row is an order of magnitude slower). With
 * `synchronous = FULL` + WAL (store/sqlite.ts) a returned `appendBatch` means the rows
 * survive a crash, which is what lets the hub PUBACK (DESIGN.md: acknowledged telemetry is
 * never lost).
 */
import type BetterSqlite3 from 'better-sqlite3';

import { isPlainObject } from './message-body.js';
import {
  ROLLUP_TABLES,
  rollupIncrements,
  rollupUpsertSql,
  rollupValues,
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

/** One message to store. */
export interface TelemetryInput {
  deviceId: string;
  /** ISO-8601 UTC. */
  enqueuedAt: string;
  /** `$.sub` (PnP component), or null for the root component. */
  component: string | null;
  body: Buffer;
  contentType: string | null;
  systemProperties: Record<string, string>;
  properties: Record<string, string>;
  /** The body parsed as a JSON object, when it is one: its top-level fields become latest values. */
  fields?: Record<string, unknown>;
  /** The stored row's id, set by `appendBatch` (the live event's id, SSE resumes from it). */
  id?: number;
}

export interface StoredTelemetry {
  id: number;
  deviceId: string;
  enqueuedAt: string;
  component: string | null;
  body: Buffer;
  contentType: string | null;
  systemProperties: Record<string, string>;
  properties: Record<string, string>;
}

export interface TelemetryHistoryFilter {
  /** Inclusive, ISO-8601. */
  from?: string;
  /** Exclusive, ISO-8601. */
  to?: string;
  /** Only messages whose JSON body has this top-level field. */
  name?: string;
  /** Only this component ('' = root). */
  component?: string;
  limit: number;
}

/** A page of messages in time order, for exports (CSV): after `after`, oldest first. */
export interface TelemetryScanFilter {
  /** Inclusive, ISO-8601. */
  from: string;
  /** Exclusive, ISO-8601. */
  to: string;
  /** The last message of the previous page. */
  after?: { enqueuedAt: string; id: number };
  limit: number;
}

/** Whether devices stored numbers in a field ('numeric'), only other values ('other'), or never sent it. */
export type FieldKind = 'numeric' | 'other' | 'unseen';

export interface TelemetryStore {
  /** Stores all messages atomically; resolves once they are durable. */
  appendBatch(messages: readonly TelemetryInput[]): Promise<void>;
  /** Last value of a top-level field (component '' = root). */
  latest(
    deviceId: string,
    name: string,
    component: string,
  ): Promise<{ value: unknown; enqueuedAt: string } | undefined>;
  /** The most recent `limit` matching messages (of one device, or of all), oldest first. */
  history(deviceId: string | undefined, filter: TelemetryHistoryFilter): Promise<StoredTelemetry[]>;
  /** Messages of one device in [from, to) in (time, id) order, a page at a time. */
  scan(deviceId: string, filter: TelemetryScanFilter): Promise<StoredTelemetry[]>;
  /** One piece of a series, aggregated in the database (telemetry-series-sql.ts). */
  seriesPartials(query: SeriesPieceQuery): Promise<SeriesPartial[]>;
  fieldKind(deviceIds: readonly string[], component: string, name: string): Promise<FieldKind>;
  /** Deletes the rollups of `level` whose bucket starts before `time` (ISO-8601); returns how many. */
  deleteRollupsOlderThan(level: RollupLevel, time: string): Promise<number>;
  /** Deletes messages enqueued before `time` (ISO-8601); returns how many. */
  deleteOlderThan(time: string): Promise<number>;
  /** Deletes everything of one device (device deleted). */
  deleteDevice(deviceId: string): Promise<void>;
  close?(): Promise<void>;
}

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

/**
 * The SQLite implementation, synchronous inside. It shares the connection with kysely, so a
 * batch never starts while a kysely transaction is open on it (that would turn the batch
 * into a savepoint of someone else's transaction, acknowledged before its commit).
 */
export class SqliteTelemetryStore implements TelemetryStore {
  private readonly insertMessage: BetterSqlite3.Statement;
  private readonly upsertLatest: BetterSqlite3.Statement;
  private readonly upsertRollup: Record<RollupLevel, BetterSqlite3.Statement>;
  private readonly writeBatch: (messages: readonly TelemetryInput[]) => void;
  private readonly seriesStatements = new Map<string, BetterSqlite3.Statement>();

  constructor(private readonly sqlite: BetterSqlite3.Database) {
    this.insertMessage = sqlite.prepare(
      `INSERT INTO telemetry (device_id, enqueued_at, component, body, content_type, system_properties, properties)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.upsertLatest = sqlite.prepare(
      `INSERT INTO telemetry_latest (device_id, component, name, value, enqueued_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (device_id, component, name) DO UPDATE SET value = excluded.value, enqueued_at = excluded.enqueued_at
       WHERE excluded.enqueued_at >= telemetry_latest.enqueued_at`,
    );
    this.upsertRollup = {
      minute: sqlite.prepare(rollupUpsertSql('sqlite', 'minute')),
      hour: sqlite.prepare(rollupUpsertSql('sqlite', 'hour')),
    };
    this.writeBatch = sqlite.transaction((messages: readonly TelemetryInput[]) => {
      // Only the newest value of each (device, component, field) in the batch reaches
      // telemetry_latest: one upsert per field per batch instead of one per message.
      const latest = new Map<string, [string, string, string, unknown, string]>();
      for (const m of messages) {
        m.id = Number(
          this.insertMessage.run(
            m.deviceId,
            m.enqueuedAt,
            m.component,
            m.body,
            m.contentType,
            JSON.stringify(m.systemProperties),
            JSON.stringify(m.properties),
          ).lastInsertRowid,
        );
        if (!m.fields) continue;
        const component = m.component ?? '';
        for (const name in m.fields) {
          const value = m.fields[name];
          if (value === undefined) continue;
          const key = `${m.deviceId}\u0000${component}\u0000${name}`;
          const seen = latest.get(key);
          if (!seen || seen[4] <= m.enqueuedAt)
            latest.set(key, [m.deviceId, component, name, value, m.enqueuedAt]);
        }
      }
      for (const [deviceId, component, name, value, enqueuedAt] of latest.values()) {
        this.upsertLatest.run(deviceId, component, name, JSON.stringify(value), enqueuedAt);
      }
      // The rollups commit with the messages (telemetry-rollups.ts: why not a job).
      for (const level of ['minute', 'hour'] as const) {
        for (const row of rollupIncrements(messages, level))
          this.upsertRollup[level].run(...rollupValues(row));
      }
    });
  }

  async appendBatch(messages: readonly TelemetryInput[]): Promise<void> {
    if (messages.length === 0) return;
    // Wait for kysely's transaction on the shared connection to end (it yields between statements).
    while (this.sqlite.inTransaction) await new Promise((resolve) => setImmediate(resolve));
    this.writeBatch(messages);
  }

  async latest(
    deviceId: string,
    name: string,
    component: string,
  ): Promise<{ value: unknown; enqueuedAt: string } | undefined> {
    const row = this.sqlite
      .prepare(
        'SELECT value, enqueued_at FROM telemetry_latest WHERE device_id = ? AND component = ? AND name = ?',
      )
      .get(deviceId, component, name) as { value: string; enqueued_at: string } | undefined;
    return row ? { value: JSON.parse(row.value) as unknown, enqueuedAt: row.enqueued_at } : undefined;
  }

  async history(deviceId: string | undefined, filter: TelemetryHistoryFilter): Promise<StoredTelemetry[]> {
    const where = deviceId === undefined ? ['1 = 1'] : ['device_id = ?'];
    const args: unknown[] = deviceId === undefined ? [] : [deviceId];
    if (filter.from !== undefined) {
      where.push('enqueued_at >= ?');
      args.push(filter.from);
    }
    if (filter.to !== undefined) {
      where.push('enqueued_at < ?');
      args.push(filter.to);
    }
    if (filter.component !== undefined) {
      where.push(filter.component === '' ? 'component IS NULL' : 'component = ?');
      if (filter.component !== '') args.push(filter.component);
    }
    if (filter.name !== undefined) {
      // CASE keeps json_each away from bodies that are not JSON (it would raise an error).
      where.push(
        `CASE WHEN json_valid(CAST(body AS TEXT)) AND json_type(CAST(body AS TEXT)) = 'object'
         THEN EXISTS (SELECT 1 FROM json_each(CAST(body AS TEXT)) WHERE key = ?) ELSE 0 END`,
      );
      args.push(filter.name);
    }
    args.push(filter.limit);
    const rows = this.sqlite
      .prepare(
        `SELECT * FROM telemetry WHERE ${where.join(' AND ')} ORDER BY enqueued_at DESC, id DESC LIMIT ?`,
      )
      .all(...args) as TelemetryRow[];
    return rows.reverse().map(toStored);
  }

  async scan(deviceId: string, filter: TelemetryScanFilter): Promise<StoredTelemetry[]> {
    const after = filter.after;
    const rows = this.sqlite
      .prepare(
        `SELECT * FROM telemetry WHERE device_id = ? AND enqueued_at >= ? AND enqueued_at < ?
         ${after ? 'AND (enqueued_at > ? OR (enqueued_at = ? AND id > ?))' : ''}
         ORDER BY enqueued_at, id LIMIT ?`,
      )
      .all(
        deviceId,
        filter.from,
        filter.to,
        ...(after ? [after.enqueuedAt, after.enqueuedAt, after.id] : []),
        filter.limit,
      ) as TelemetryRow[];
    return rows.map(toStored);
  }

  async seriesPartials(query: SeriesPieceQuery): Promise<SeriesPartial[]> {
    const { text, values } = seriesSql('sqlite', query);
    let statement = this.seriesStatements.get(text);
    if (!statement) {
      statement = this.sqlite.prepare(text);
      // Texts differ by interval and aggregation only: a handful in practice; a bound keeps it so.
      if (this.seriesStatements.size > 200) this.seriesStatements.clear();
      this.seriesStatements.set(text, statement);
    }
    return (statement.all(...values) as SeriesSqlRow[]).map(toPartial);
  }

  async fieldKind(deviceIds: readonly string[], component: string, name: string): Promise<FieldKind> {
    const { text, values } = fieldKindSql('sqlite', deviceIds, component, name);
    const row = this.sqlite.prepare(text).get(...values) as { numeric: number; seen: number };
    return row.numeric ? 'numeric' : row.seen ? 'other' : 'unseen';
  }

  async deleteRollupsOlderThan(level: RollupLevel, time: string): Promise<number> {
    while (this.sqlite.inTransaction) await new Promise((resolve) => setImmediate(resolve));
    return this.sqlite
      .prepare(`DELETE FROM ${ROLLUP_TABLES[level]} WHERE bucket < ?`)
      .run(Math.floor(Date.parse(time) / 1000)).changes;
  }

  async deleteOlderThan(time: string): Promise<number> {
    while (this.sqlite.inTransaction) await new Promise((resolve) => setImmediate(resolve));
    return this.sqlite.prepare('DELETE FROM telemetry WHERE enqueued_at < ?').run(time).changes;
  }

  async deleteDevice(deviceId: string): Promise<void> {
    while (this.sqlite.inTransaction) await new Promise((resolve) => setImmediate(resolve));
    this.sqlite.transaction(() => {
      this.sqlite.prepare('DELETE FROM telemetry WHERE device_id = ?').run(deviceId);
      this.sqlite.prepare('DELETE FROM telemetry_latest WHERE device_id = ?').run(deviceId);
      for (const table of Object.values(ROLLUP_TABLES)) {
        this.sqlite.prepare(`DELETE FROM ${table} WHERE device_id = ?`).run(deviceId);
      }
    })();
  }
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
