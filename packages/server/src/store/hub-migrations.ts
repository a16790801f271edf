/**
 * The hub's and the cluster's migrations (0002, 0005, 0008–0010) of the list in migrations.ts:
 * each returns the migration for one dialect. Never edit one that has shipped.
 */
import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';

import { columnTypes, type StoreDialect } from './column-types.js';
import { createPostgresTelemetryTable } from './postgres-telemetry-schema.js';
import { backfillTelemetryRollups } from './telemetry-rollup-backfill.js';

/**
 * 0002_hub: the hub's state: persistent MQTT sessions, telemetry and its latest values, twins,
 * commands, cloud-to-device messages and the connection status.
 */
export function hubMigration(dialect: StoreDialect): Migration {
  const t = columnTypes(dialect);
  const pg = dialect === 'postgres';
  return {
    async up(db: Kysely<unknown>) {
      // Persistent MQTT sessions (PROTOCOL.md §3.9): the subscriptions of clean=false clients.
      await db.schema
        .createTable('hub_sessions')
        .addColumn('device_id', t.text, (c) => c.notNull())
        .addColumn('filter', t.text, (c) => c.notNull())
        .addColumn('qos', t.integer, (c) => c.notNull())
        .addPrimaryKeyConstraint('hub_sessions_pk', ['device_id', 'filter'])
        .execute();
      // Device-to-cloud messages. On PostgreSQL a table partitioned by day instead
      // (postgres-telemetry-schema.ts): retention drops whole days.
      if (pg) await createPostgresTelemetryTable(db);
      else {
        await db.schema
          .createTable('telemetry')
          .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
          .addColumn('device_id', 'text', (c) => c.notNull())
          .addColumn('enqueued_at', 'text', (c) => c.notNull())
          .addColumn('component', 'text')
          .addColumn('body', 'blob', (c) => c.notNull())
          .addColumn('content_type', 'text')
          .addColumn('system_properties', 'text', (c) => c.notNull())
          .addColumn('properties', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('telemetry_device_time')
          .on('telemetry')
          .columns(['device_id', 'enqueued_at'])
          .execute();
        await db.schema.createIndex('telemetry_time').on('telemetry').column('enqueued_at').execute();
      }
      await db.schema
        .createTable('telemetry_latest')
        .addColumn('device_id', t.text, (c) => c.notNull())
        .addColumn('component', t.text, (c) => c.notNull())
        .addColumn('name', t.text, (c) => c.notNull())
        .addColumn('value', t.text, (c) => c.notNull())
        .addColumn('enqueued_at', t.text, (c) => c.notNull())
        .addPrimaryKeyConstraint('telemetry_latest_pk', ['device_id', 'component', 'name'])
        .execute();
      await db.schema
        .createTable('twins')
        .addColumn('device_id', t.text, (c) => c.primaryKey())
        .addColumn('desired', t.text, (c) => c.notNull())
        .addColumn('desired_version', t.integer, (c) => c.notNull())
        .addColumn('desired_updated', t.text, (c) => c.notNull())
        .addColumn('reported', t.text, (c) => c.notNull())
        .addColumn('reported_version', t.integer, (c) => c.notNull())
        .addColumn('reported_updated', t.text, (c) => c.notNull())
        .addColumn('updated_at', t.text, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('commands')
        .addColumn('id', t.text, (c) => c.primaryKey())
        .addColumn('device_id', t.text, (c) => c.notNull())
        .addColumn('name', t.text, (c) => c.notNull())
        .addColumn('request', t.text)
        .addColumn('response', t.text)
        .addColumn('response_code', t.integer)
        .addColumn('status', t.text, (c) => c.notNull())
        .addColumn('time', t.text, (c) => c.notNull())
        .addColumn('connection_timeout', t.integer, (c) => c.notNull())
        .addColumn('response_timeout', t.integer, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('commands_device_name_time')
        .on('commands')
        .columns(['device_id', 'name', 'time'])
        .execute();
      await db.schema
        .createTable('c2d_messages')
        .addColumn('id', t.text, (c) => c.primaryKey())
        .addColumn('seq', t.big, (c) => c.notNull())
        .addColumn('device_id', t.text, (c) => c.notNull())
        .addColumn('message_id', t.text, (c) => c.notNull())
        .addColumn('body', t.blob, (c) => c.notNull())
        .addColumn('properties', t.text, (c) => c.notNull())
        .addColumn('correlation_id', t.text)
        .addColumn('created_at', t.text, (c) => c.notNull())
        .addColumn('expiry', t.text, (c) => c.notNull())
        .addColumn('state', t.text, (c) => c.notNull())
        .addColumn('delivered_at', t.text)
        .execute();
      await db.schema
        .createIndex('c2d_messages_device_state')
        .on('c2d_messages')
        .columns(['device_id', 'state', 'seq'])
        .execute();
      // Connection status that outlives a connection (Device.status of hub-api.ts).
      await db.schema
        .createTable('device_status')
        .addColumn('device_id', t.text, (c) => c.primaryKey())
        .addColumn('last_connected', t.text)
        .addColumn('last_activity', t.text)
        .execute();
    },
  };
}

/**
 * 0005_cluster_sessions: the nodes sharing one database (CLUSTER.md §6): which node holds each
 * device, their heartbeats, and the periodic work one of them takes.
 */
export function clusterSessionsMigration(dialect: StoreDialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Kysely<unknown>) {
      // One connection per device, cluster-wide (CLUSTER.md §6.2): the node that holds it and
      // the epoch that fences every later write of that node. The row stays when the device
      // disconnects (node_id NULL), so epochs only ever grow.
      await db.schema
        .createTable('device_sessions')
        .addColumn('device_id', t.text, (c) => c.primaryKey())
        .addColumn('node_id', t.text)
        .addColumn('epoch', t.big, (c) => c.notNull())
        .addColumn('connected_at', t.text)
        .addColumn('client_ip', t.text)
        .execute();
      await db.schema.createIndex('device_sessions_node').on('device_sessions').column('node_id').execute();
      // Liveness of the nodes sharing the database (§6.5): a heartbeat every 2 s.
      await db.schema
        .createTable('cluster_nodes')
        .addColumn('node_id', t.text, (c) => c.primaryKey())
        .addColumn('started_at', t.text, (c) => c.notNull())
        .addColumn('heartbeat_at', t.text, (c) => c.notNull())
        .execute();
      // Singleton work: one row per job and period, taken by the one node that runs it.
      await db.schema
        .createTable('singleton_runs')
        .addColumn('job', t.text, (c) => c.notNull())
        .addColumn('period', t.text, (c) => c.notNull())
        .addColumn('node_id', t.text, (c) => c.notNull())
        .addColumn('started_at', t.text, (c) => c.notNull())
        .addPrimaryKeyConstraint('singleton_runs_pk', ['job', 'period'])
        .execute();
    },
  };
}

/**
 * 0008_device_tags: the twin tags of each device.
 */
export function deviceTagsMigration(dialect: StoreDialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Kysely<unknown>) {
      // Twin tags (IoT Hub), kept for the solution, never sent to the device.
      await db.schema
        .createTable('device_tags')
        .addColumn('device_id', t.text, (c) => c.primaryKey())
        .addColumn('tags', t.text, (c) => c.notNull())
        .addColumn('updated_at', t.text, (c) => c.notNull())
        .execute();
    },
  };
}

/**
 * 0009_telemetry_rollups: minute and hour rollups of numeric telemetry, filled from the
 * messages already kept.
 */
export function telemetryRollupsMigration(dialect: StoreDialect): Migration {
  const t = columnTypes(dialect);
  const pg = dialect === 'postgres';
  return {
    async up(db: Kysely<unknown>) {
      // Numeric telemetry per device, component ('' = root), field and minute / hour
      // (hub/telemetry-rollups.ts): kept up to date in the telemetry insert's transaction.
      // `bucket` is the epoch second the minute or hour starts at.
      // On SQLite WITHOUT ROWID clusters the rows by the key: a device's month of minutes is
      // one contiguous range of pages, not 43,200 rows scattered among every other device's.
      const real = pg ? sql`double precision` : sql`real`;
      for (const table of ['telemetry_rollup_minute', 'telemetry_rollup_hour']) {
        await db.schema
          .createTable(table)
          .$call((b) => (pg ? b : b.modifyEnd(sql`without rowid`)))
          .addColumn('device_id', t.text, (c) => c.notNull())
          .addColumn('component', t.text, (c) => c.notNull())
          .addColumn('name', t.text, (c) => c.notNull())
          .addColumn('bucket', t.big, (c) => c.notNull())
          .addColumn('n', t.big, (c) => c.notNull())
          .addColumn('sum_value', real, (c) => c.notNull())
          .addColumn('min_value', real, (c) => c.notNull())
          .addColumn('max_value', real, (c) => c.notNull())
          .addColumn('first_value', real, (c) => c.notNull())
          .addColumn('first_time', t.text, (c) => c.notNull())
          .addColumn('last_value', real, (c) => c.notNull())
          .addColumn('last_time', t.text, (c) => c.notNull())
          .addPrimaryKeyConstraint(`${table}_pk`, ['device_id', 'component', 'name', 'bucket'])
          .execute();
        // Retention deletes by bucket.
        await db.schema.createIndex(`${table}_bucket`).on(table).column('bucket').execute();
      }
      await backfillTelemetryRollups(db, dialect);
    },
  };
}

/** 0010_device_list_indexes: the indexes the device list sorts and pages by (alike on both databases). */
export function deviceListIndexesMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      // The device list sorts and pages in the database (hub/device-list.ts): one index per
      // sort column, each ending with the ID that breaks ties, so a page is an index range.
      // A nullable key (template, last activity) is read as two ranges, nulls and values.
      await db.schema
        .createIndex('devices_list_name')
        .on('devices')
        .columns(['display_name', 'id'])
        .execute();
      await db.schema
        .createIndex('devices_list_template')
        .on('devices')
        .columns(['template', 'id'])
        .execute();
      await db.schema
        .createIndex('device_status_activity')
        .on('device_status')
        .columns(['last_activity', 'device_id'])
        .execute();
      await db.schema.createIndex('devices_list_enabled').on('devices').columns(['enabled', 'id']).execute();
      await db.schema
        .createIndex('devices_list_provisioned')
        .on('devices')
        .columns(['provisioned', 'id'])
        .execute();
    },
  };
}
