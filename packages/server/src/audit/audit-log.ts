/**
 * The audit log's store: writes entries, lists them newest first with filters and keyset
 * paging, prunes by age, and is the `audit` source of the data export ({@link AuditFeed}).
 *
 * Id order is commit order, so a feed reader that remembers the last id it read never skips
 * an entry. SQLite has one writer: trivially so. On PostgreSQL a `bigserial` id is taken when
 * the row is inserted, not when it commits: two writers could commit ids 6 then 5, and a
 * reader that already passed 6 would never see 5. So each insert first takes a
 * transaction-scoped advisory lock ({@link AUDIT_LOCK}), which PostgreSQL releases at commit:
 * the next insert takes its id only after the previous one is committed. Audit writes are a
 * few per REST change, so the queue costs nothing.
 */
import { sql, type Generated, type Kysely, type Selectable } from 'kysely';

import type { AuditFeed, AuditFeedEntry } from '../export/contracts.js';
import type { Database } from '../store/schema.js';
import { isPostgres } from '../store/transactions.js';
import {
  exportMessage,
  isExported,
  type AuditAction,
  type AuditEntry,
  type NewAuditEntry,
} from './audit-entry.js';
import { redact } from './redact.js';

/** The advisory lock key (PostgreSQL `hashtext`) every audit insert takes until it commits. */
export const AUDIT_LOCK = 'gatehouse:audit-log';

/** A stored before/after bigger than this is replaced by a note: a log is not a backup. */
export const MAX_SNAPSHOT_CHARS = 256 * 1024;

export interface AuditLogTable {
  id: Generated<number>;
  time: string;
  actor_type: string;
  actor_id: string;
  actor_name: string | null;
  action: string;
  resource_type: string;
  resource_id: string | null;
  resource_name: string | null;
  method: string;
  path: string;
  status: number;
  request_id: string | null;
  before: string | null;
  after: string | null;
}

type AuditDb = Kysely<Database & { audit_log: AuditLogTable }>;
type Row = Selectable<AuditLogTable>;

/** The filters of `GET /api/auditLogs`, already checked. */
export interface AuditQuery {
  actor?: string;
  actorType?: string;
  resourceType?: string;
  resourceId?: string;
  action?: AuditAction;
  /** ISO times, inclusive. */
  from?: string;
  to?: string;
  /** Only ids below this one (the next page). */
  beforeId?: number;
  limit: number;
}

export class AuditLog implements AuditFeed {
  private readonly db: AuditDb;
  private readonly postgres: boolean;

  constructor(db: Kysely<Database>) {
    this.db = db as unknown as AuditDb;
    this.postgres = isPostgres(db);
  }

  /**
   * Stores one entry, redacting `before` and `after` once more (the caller redacted them
   * already; a secret must not depend on every caller remembering). Resolves once committed.
   * `hold` (tests) runs inside the transaction after the insert, before the commit.
   */
  async record(entry: NewAuditEntry, hold?: () => Promise<void>): Promise<number> {
    const values = {
      time: entry.time,
      actor_type: entry.actor.type,
      actor_id: entry.actor.id,
      actor_name: entry.actor.name ?? null,
      action: entry.action,
      resource_type: entry.resource.type,
      resource_id: entry.resource.id ?? null,
      resource_name: entry.resource.displayName ?? null,
      method: entry.method,
      path: entry.path,
      status: entry.status,
      request_id: entry.requestId ?? null,
      before: snapshot(entry.before),
      after: snapshot(entry.after),
    };
    return this.db.transaction().execute(async (trx) => {
      if (this.postgres) await sql`select pg_advisory_xact_lock(hashtext(${AUDIT_LOCK}))`.execute(trx);
      const row = await trx.insertInto('audit_log').values(values).returning('id').executeTakeFirstOrThrow();
      if (hold) await hold();
      return Number(row.id);
    });
  }

  /** Entries matching `query`, newest first, at most `limit`, and whether more remain. */
  async list(query: AuditQuery): Promise<{ value: AuditEntry[]; more: boolean }> {
    let q = this.db.selectFrom('audit_log').selectAll();
    if (query.actor !== undefined)
      q = q.where((eb) => eb.or([eb('actor_id', '=', query.actor!), eb('actor_name', '=', query.actor!)]));
    if (query.actorType !== undefined) q = q.where('actor_type', '=', query.actorType);
    if (query.resourceType !== undefined) q = q.where('resource_type', '=', query.resourceType);
    if (query.resourceId !== undefined) q = q.where('resource_id', '=', query.resourceId);
    if (query.action !== undefined) q = q.where('action', '=', query.action);
    if (query.from !== undefined) q = q.where('time', '>=', query.from);
    if (query.to !== undefined) q = q.where('time', '<=', query.to);
    if (query.beforeId !== undefined) q = q.where('id', '<', query.beforeId);
    const rows = await q
      .orderBy('id', 'desc')
      .limit(query.limit + 1)
      .execute();
    return { value: rows.slice(0, query.limit).map(toEntry), more: rows.length > query.limit };
  }

  /** {@link AuditFeed}: the exported kinds of entry with id > afterId, oldest first. */
  async after(afterId: number, limit: number): Promise<AuditFeedEntry[]> {
    const rows = await this.db
      .selectFrom('audit_log')
      .selectAll()
      .where('id', '>', afterId)
      .where('action', 'in', ['created', 'updated', 'deleted'])
      .orderBy('id', 'asc')
      .limit(limit)
      .execute();
    return rows
      .map(toEntry)
      .filter((e) => isExported(e.action))
      .map((e) => ({ id: e.id, message: exportMessage(e) }));
  }

  /** Deletes the entries older than `cutoff` (ISO time); returns how many. */
  async prune(cutoff: string): Promise<number> {
    const r = await this.db.deleteFrom('audit_log').where('time', '<', cutoff).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

function snapshot(value: unknown): string | null {
  if (value === undefined) return null;
  const text = JSON.stringify(redact(value));
  if (text === undefined) return null;
  return text.length > MAX_SNAPSHOT_CHARS ? JSON.stringify({ truncated: true, chars: text.length }) : text;
}

function toEntry(row: Row): AuditEntry {
  return {
    id: Number(row.id),
    time: row.time,
    actor: {
      type: row.actor_type as AuditEntry['actor']['type'],
      id: row.actor_id,
      ...(row.actor_name !== null ? { name: row.actor_name } : {}),
    },
    action: row.action as AuditAction,
    resource: {
      type: row.resource_type,
      ...(row.resource_id !== null ? { id: row.resource_id } : {}),
      ...(row.resource_name !== null ? { displayName: row.resource_name } : {}),
    },
    method: row.method,
    path: row.path,
    status: Number(row.status),
    ...(row.request_id !== null ? { requestId: row.request_id } : {}),
    ...(row.before !== null ? { before: JSON.parse(row.before) as unknown } : {}),
    ...(row.after !== null ? { after: JSON.parse(row.after) as unknown } : {}),
  };
}
