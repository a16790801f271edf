/**
 * Migration 0012_rules: the rules (their checked body as JSON), the fired-rule history, the
 * per-action suppressed counts, and when each device went offline (the disconnected-for-N check
 * reads it; connection events on the node holding the device write it).
 */
import type { Kysely } from 'kysely';

import { columnTypes, type StoreDialect } from '../store/column-types.js';

export async function upRules(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  const t = columnTypes(dialect);
  const pg = dialect === 'postgres';
  await db.schema
    .createTable('rules')
    .addColumn('id', t.text, (c) => c.primaryKey())
    .addColumn('display_name', t.text, (c) => c.notNull())
    .addColumn('body', t.text, (c) => c.notNull())
    .addColumn('etag', t.text, (c) => c.notNull())
    .addColumn('last_fired', t.text)
    .addColumn('created_at', t.text, (c) => c.notNull())
    .addColumn('updated_at', t.text, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('rule_firings')
    .addColumn('id', pg ? 'bigserial' : 'integer', (c) =>
      pg ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('rule_id', t.text, (c) => c.notNull())
    .addColumn('device_id', t.text, (c) => c.notNull())
    .addColumn('fired_at', t.text, (c) => c.notNull())
    .addColumn('detail', t.text, (c) => c.notNull())
    .addColumn('actions', t.text, (c) => c.notNull())
    .execute();
  // History per rule and per device, newest first.
  await db.schema.createIndex('rule_firings_rule').on('rule_firings').columns(['rule_id', 'id']).execute();
  await db.schema
    .createIndex('rule_firings_device')
    .on('rule_firings')
    .columns(['device_id', 'id'])
    .execute();
  await db.schema
    .createTable('rule_action_counts')
    .addColumn('rule_id', t.text, (c) => c.notNull())
    .addColumn('action_id', t.text, (c) => c.notNull())
    .addColumn('sent', t.big, (c) => c.notNull())
    .addColumn('suppressed', t.big, (c) => c.notNull())
    .addColumn('failed', t.big, (c) => c.notNull())
    .addColumn('last_error', t.text)
    .addColumn('last_sent', t.text)
    .addPrimaryKeyConstraint('rule_action_counts_pk', ['rule_id', 'action_id'])
    .execute();
  await db.schema
    .createTable('rule_device_offline')
    .addColumn('device_id', t.text, (c) => c.primaryKey())
    .addColumn('since', t.text, (c) => c.notNull())
    .execute();
}
