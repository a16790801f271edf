import type { Kysely } from 'kysely';

import { columnTypes, type StoreDialect } from '../store/column-types.js';

/**
 * Migration `0013_audit_log`: one row per change made through the REST API (or the web UI,
 * which uses it), and per sign-in and sign-out. `id` increases in commit order (audit-store.ts
 * explains how on PostgreSQL), so the data export reads the table as a feed. `before` and
 * `after` are JSON with every secret already redacted (redact.ts): nothing secret is stored.
 */
export async function createAuditLog(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  const t = columnTypes(dialect);
  const pg = dialect === 'postgres';
  await db.schema
    .createTable('audit_log')
    .addColumn('id', pg ? 'bigserial' : 'integer', (c) =>
      pg ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('time', t.text, (c) => c.notNull())
    .addColumn('actor_type', t.text, (c) => c.notNull())
    .addColumn('actor_id', t.text, (c) => c.notNull())
    .addColumn('actor_name', t.text)
    .addColumn('action', t.text, (c) => c.notNull())
    .addColumn('resource_type', t.text, (c) => c.notNull())
    .addColumn('resource_id', t.text)
    .addColumn('resource_name', t.text)
    .addColumn('method', t.text, (c) => c.notNull())
    .addColumn('path', t.text, (c) => c.notNull())
    .addColumn('status', t.integer, (c) => c.notNull())
    .addColumn('request_id', t.text)
    .addColumn('before', t.text)
    .addColumn('after', t.text)
    .execute();
  // Retention deletes by time; the filters page newest first within an actor, an action or a
  // resource (a rare action would otherwise be a scan back through the whole log).
  await db.schema.createIndex('audit_log_time').on('audit_log').column('time').execute();
  await db.schema.createIndex('audit_log_actor').on('audit_log').columns(['actor_id', 'id']).execute();
  await db.schema.createIndex('audit_log_action').on('audit_log').columns(['action', 'id']).execute();
  await db.schema
    .createIndex('audit_log_resource')
    .on('audit_log')
    .columns(['resource_type', 'resource_id', 'id'])
    .execute();
}
