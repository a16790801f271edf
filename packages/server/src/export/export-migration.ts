/**
 * Migration '0011_data_export' (listed in store/migrations.ts): destinations, exports, a cursor
 * per export and destination, and the outbox of the non-telemetry sources. Telemetry needs no
 * outbox: its table is read by id (on PostgreSQL an index on `id` makes that a range scan of
 * each day's partition; on SQLite `id` is the rowid).
 */
import { sql, type Kysely } from 'kysely';

import { columnTypes, type StoreDialect } from '../store/column-types.js';

export async function upDataExport(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  const t = columnTypes(dialect);
  const pg = dialect === 'postgres';
  await db.schema
    .createTable('export_destinations')
    .addColumn('id', t.text, (c) => c.primaryKey())
    .addColumn('display_name', t.text, (c) => c.notNull())
    .addColumn('type', t.text, (c) => c.notNull())
    .addColumn('config', t.text, (c) => c.notNull())
    .addColumn('created_at', t.text, (c) => c.notNull())
    .addColumn('updated_at', t.text, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('exports')
    .addColumn('id', t.text, (c) => c.primaryKey())
    .addColumn('display_name', t.text, (c) => c.notNull())
    .addColumn('enabled', t.integer, (c) => c.notNull())
    .addColumn('source', t.text, (c) => c.notNull())
    .addColumn('filter', t.text)
    .addColumn('enrichments', t.text, (c) => c.notNull())
    .addColumn('destinations', t.text, (c) => c.notNull())
    .addColumn('created_at', t.text, (c) => c.notNull())
    .addColumn('updated_at', t.text, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('export_cursors')
    .addColumn('export_id', t.text, (c) => c.notNull())
    .addColumn('destination_id', t.text, (c) => c.notNull())
    .addColumn('cursor', t.big, (c) => c.notNull())
    .addColumn('delivered', t.big, (c) => c.notNull())
    .addColumn('dropped', t.big, (c) => c.notNull())
    .addColumn('last_export_time', t.text)
    .addColumn('last_error', t.text)
    .addColumn('last_error_time', t.text)
    .addColumn('updated_at', t.text, (c) => c.notNull())
    .addPrimaryKeyConstraint('export_cursors_pk', ['export_id', 'destination_id'])
    .execute();
  await db.schema
    .createTable('export_outbox')
    .addColumn('id', pg ? sql`bigserial` : 'integer', (c) =>
      pg ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('source', t.text, (c) => c.notNull())
    .addColumn('device_id', t.text)
    .addColumn('template_id', t.text)
    .addColumn('message', t.text, (c) => c.notNull())
    .addColumn('enqueued_at', t.text, (c) => c.notNull())
    .addColumn('dedupe', t.text, (c) => c.notNull().unique())
    .execute();
  await db.schema.createIndex('export_outbox_time').on('export_outbox').column('enqueued_at').execute();
  if (pg) await sql`CREATE INDEX telemetry_id ON telemetry (id)`.execute(db);
}
