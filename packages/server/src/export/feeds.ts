/**
 * What an export reads, in id order after its cursor: the telemetry table itself (no extra
 * write on the ingest path), the outbox of the other sources, or the audit log's feed.
 *
 * PostgreSQL hands out ids when a row is inserted, not when it commits: a reader may see id 11
 * while id 10 is still in flight, and a cursor moved past 10 would skip it for good. So on
 * PostgreSQL a batch stops at the first hole in the ids, until the hole has stayed open for
 * {@link HOLE_WAIT_MS} (a rolled-back insert leaves a hole that never fills). SQLite has one
 * writer and commits in id order: no holes to wait for.
 */
import type { Kysely } from 'kysely';

import { decodeBody, isPlainObject } from '../hub/message-body.js';
import type { Database } from '../store/schema.js';
import type { AuditFeed } from './contracts.js';
import type { ExportTables } from './export-tables.js';

/** How long a hole in the ids is waited for before it counts as a rolled-back insert. */
export const HOLE_WAIT_MS = 3000;

/** One stored change, before filter, enrichment and format. */
export interface FeedItem {
  id: number;
  enqueuedAt: string;
  deviceId: string | undefined;
  /** Telemetry: the decoded JSON object body (undefined when not a JSON object). */
  telemetry?: Record<string, unknown>;
  component?: string | null;
  module?: string;
  messageProperties?: Record<string, string>;
  /** Outbox and audit: the message without applicationId and enrichments. */
  message?: Record<string, unknown>;
  source: string;
  templateId?: string | null;
}

export interface Feed {
  /** The newest id now: a new export starts here (no backfill, as IoT Central). */
  head(): Promise<number>;
  /** Items with id > cursor, oldest first, at most `limit`. */
  after(cursor: number, limit: number): Promise<FeedItem[]>;
  /** How many items are stored after `cursor` (the backlog). */
  countAfter(cursor: number): Promise<number>;
}

/** Cuts `rows` at the first hole after `cursor` unless it has been open long enough. */
export class HoleGuard {
  private hole: { after: number; since: number } | undefined;

  constructor(private readonly enabled: boolean) {}

  cut<T extends { id: number }>(cursor: number, rows: T[], now = Date.now()): T[] {
    if (!this.enabled) return rows;
    let prev = cursor;
    for (let i = 0; i < rows.length; i++) {
      const id = rows[i]!.id;
      if (id !== prev + 1) {
        if (this.hole?.after !== prev) this.hole = { after: prev, since: now };
        if (now - this.hole.since < HOLE_WAIT_MS) return rows.slice(0, i);
      }
      prev = id;
    }
    return rows;
  }
}

export class TelemetryFeed implements Feed {
  constructor(private readonly db: Kysely<Database>) {}

  async head(): Promise<number> {
    const row = await this.db
      .selectFrom('telemetry')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst();
    return Number(row?.id ?? 0);
  }

  async after(cursor: number, limit: number): Promise<FeedItem[]> {
    const rows = await this.db
      .selectFrom('telemetry')
      .select(['id', 'device_id', 'enqueued_at', 'component', 'body', 'system_properties', 'properties'])
      .where('id', '>', cursor)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => {
      const decoded = decodeBody(r.body);
      const system = JSON.parse(r.system_properties) as Record<string, string>;
      const module = system['iothub-connection-module-id'];
      return {
        id: Number(r.id),
        enqueuedAt: r.enqueued_at,
        deviceId: r.device_id,
        source: 'telemetry',
        ...(decoded.bodyEncoding === 'json' && isPlainObject(decoded.body)
          ? { telemetry: decoded.body }
          : {}),
        component: r.component,
        ...(module ? { module } : {}),
        messageProperties: JSON.parse(r.properties) as Record<string, string>,
      };
    });
  }

  async countAfter(cursor: number): Promise<number> {
    const row = await this.db
      .selectFrom('telemetry')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('id', '>', cursor)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }
}

/** The outbox of one source (rows of other sources are read and passed over). */
export class OutboxFeed implements Feed {
  private readonly db: Kysely<ExportTables>;

  constructor(
    db: Kysely<Database>,
    private readonly source: string,
  ) {
    this.db = db.withTables<ExportTables>() as unknown as Kysely<ExportTables>;
  }

  async head(): Promise<number> {
    const row = await this.db
      .selectFrom('export_outbox')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst();
    return Number(row?.id ?? 0);
  }

  async after(cursor: number, limit: number): Promise<FeedItem[]> {
    const rows = await this.db
      .selectFrom('export_outbox')
      .selectAll()
      .where('id', '>', cursor)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      enqueuedAt: r.enqueued_at,
      deviceId: r.device_id ?? undefined,
      source: r.source,
      templateId: r.template_id,
      message: JSON.parse(r.message) as Record<string, unknown>,
    }));
  }

  async countAfter(cursor: number): Promise<number> {
    const row = await this.db
      .selectFrom('export_outbox')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('id', '>', cursor)
      .where('source', '=', this.source)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }
}

/** The audit log (its module keeps ids in commit order), as the `audit` source. */
export class AuditSourceFeed implements Feed {
  constructor(private readonly feed: AuditFeed) {}

  async head(): Promise<number> {
    let last = 0;
    for (;;) {
      const page = await this.feed.after(last, 1000);
      if (page.length === 0) return last;
      last = page.at(-1)!.id;
    }
  }

  async after(cursor: number, limit: number): Promise<FeedItem[]> {
    return (await this.feed.after(cursor, limit)).map((e) => ({
      id: e.id,
      enqueuedAt:
        typeof e.message['enqueuedTime'] === 'string' ? e.message['enqueuedTime'] : new Date().toISOString(),
      deviceId: typeof e.message['deviceId'] === 'string' ? e.message['deviceId'] : undefined,
      source: 'audit',
      message: e.message,
    }));
  }

  async countAfter(cursor: number): Promise<number> {
    return (await this.feed.after(cursor, 10_000)).length;
  }
}

/** Drops outbox rows every cursor has passed, or older than the backlog bound. */
export async function pruneOutbox(db: Kysely<Database>, passed: number, olderThan: string): Promise<void> {
  const x = db.withTables<ExportTables>() as unknown as Kysely<ExportTables>;
  await x
    .deleteFrom('export_outbox')
    .where((eb) => eb.or([eb('id', '<=', passed), eb('enqueued_at', '<', olderThan)]))
    .execute();
}
