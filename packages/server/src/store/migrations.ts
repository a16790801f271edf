import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { sql } from 'kysely';

import { columnTypes, type StoreDialect } from './column-types.js';
import { createPostgresTelemetryTable } from './postgres-telemetry-schema.js';
import { backfillTelemetryRollups } from './telemetry-rollup-backfill.js';
import { createAuditLog } from '../audit/audit-migration.js';
import { upDataExport } from '../export/export-migration.js';
import { upRules } from '../rules/migration.js';
import { revocationMigration } from '../revocation/migration.js';
import { userSessionsIdleMigration } from '../app/user-sessions-idle-migration.js';
import { usersDisabledMigration } from '../app/users-disabled-migration.js';

/**
 * Versioned migrations. Never edit one that has shipped: add the next number.
 * Only portable kysely schema-builder calls with the types of column-types.ts, so SQLite and
 * PostgreSQL share them; the SQLite DDL is what it was before PostgreSQL existed (a database
 * made by an older release and a new one have the same schema). Where the two must differ
 * (autoincrement keys, the partitioned telemetry table) the migration branches on the dialect.
 */
function migrationsFor(dialect: StoreDialect): Record<string, Migration> {
  const t = columnTypes(dialect);
  const pg = dialect === 'postgres';
  return {
    '0001_provisioning': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('settings')
          .addColumn('key', t.text, (c) => c.primaryKey())
          .addColumn('value', t.text, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('api_tokens')
          .addColumn('id', t.text, (c) => c.primaryKey())
          .addColumn('secret_hash', t.text, (c) => c.notNull().unique())
          .addColumn('roles', t.text, (c) => c.notNull())
          .addColumn('expiry', t.text, (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('enrollment_groups')
          .addColumn('id', t.text, (c) => c.primaryKey())
          .addColumn('display_name', t.text, (c) => c.notNull())
          .addColumn('type', t.text, (c) => c.notNull())
          .addColumn('attestation_type', t.text, (c) => c.notNull())
          .addColumn('enabled', t.integer, (c) => c.notNull())
          .addColumn('primary_key', t.text)
          .addColumn('secondary_key', t.text)
          .addColumn('etag', t.text, (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .addColumn('updated_at', t.text, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('group_certificates')
          .addColumn('group_id', t.text, (c) =>
            c.notNull().references('enrollment_groups.id').onDelete('cascade'),
          )
          .addColumn('entry', t.text, (c) => c.notNull())
          .addColumn('pem', t.text, (c) => c.notNull())
          .addColumn('sha1', t.text, (c) => c.notNull())
          .addColumn('sha256', t.text, (c) => c.notNull().unique())
          .addColumn('subject', t.text, (c) => c.notNull())
          .addColumn('not_after', t.text, (c) => c.notNull())
          .addColumn('verified', t.integer, (c) => c.notNull())
          .addColumn('verification_code', t.text)
          .addColumn('code_expires_at', t.text)
          .addColumn('etag', t.text, (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .addPrimaryKeyConstraint('group_certificates_pk', ['group_id', 'entry'])
          .execute();
        await db.schema
          .createTable('individual_enrollments')
          .addColumn('device_id', t.text, (c) => c.primaryKey())
          .addColumn('type', t.text, (c) => c.notNull())
          .addColumn('primary_pem', t.text)
          .addColumn('primary_sha1', t.text)
          .addColumn('primary_sha256', t.text)
          .addColumn('secondary_pem', t.text)
          .addColumn('secondary_sha1', t.text)
          .addColumn('secondary_sha256', t.text)
          .addColumn('primary_key', t.text)
          .addColumn('secondary_key', t.text)
          .addColumn('etag', t.text, (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .addColumn('updated_at', t.text, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('devices')
          .addColumn('id', t.text, (c) => c.primaryKey())
          .addColumn('display_name', t.text, (c) => c.notNull())
          .addColumn('template', t.text)
          .addColumn('enabled', t.integer, (c) => c.notNull())
          .addColumn('provisioned', t.integer, (c) => c.notNull())
          .addColumn('simulated', t.integer, (c) => c.notNull())
          .addColumn('auth_type', t.text, (c) => c.notNull())
          .addColumn('x509_primary_sha1', t.text)
          .addColumn('x509_primary_sha256', t.text)
          .addColumn('x509_secondary_sha1', t.text)
          .addColumn('x509_secondary_sha256', t.text)
          .addColumn('sas_primary_key', t.text)
          .addColumn('sas_secondary_key', t.text)
          .addColumn('enrollment_group_id', t.text)
          .addColumn('assigned_hub', t.text)
          .addColumn('etag', t.text, (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .addColumn('updated_at', t.text, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('registrations')
          .addColumn('registration_id', t.text, (c) => c.primaryKey())
          .addColumn('device_id', t.text, (c) => c.notNull())
          .addColumn('status', t.text, (c) => c.notNull())
          .addColumn('substatus', t.text, (c) => c.notNull())
          .addColumn('enrollment_group_id', t.text)
          .addColumn('attestation_type', t.text, (c) => c.notNull())
          .addColumn('assigned_hub', t.text, (c) => c.notNull())
          .addColumn('operation_id', t.text, (c) => c.notNull())
          .addColumn('payload', t.text)
          .addColumn('result', t.text, (c) => c.notNull())
          .addColumn('etag', t.text, (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .addColumn('updated_at', t.text, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('provisioning_attempts')
          .addColumn('id', pg ? 'bigserial' : 'integer', (c) =>
            pg ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn('time', t.text, (c) => c.notNull())
          .addColumn('registration_id', t.text, (c) => c.notNull())
          .addColumn('id_scope', t.text, (c) => c.notNull())
          .addColumn('transport', t.text, (c) => c.notNull())
          .addColumn('sha1', t.text)
          .addColumn('sha256', t.text)
          .addColumn('subject', t.text)
          .addColumn('issuer', t.text)
          .addColumn('reason_code', t.text, (c) => c.notNull())
          .addColumn('message', t.text, (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('provisioning_attempts_reg')
          .on('provisioning_attempts')
          .columns(['registration_id', 'id'])
          .execute();
        await sql`select 1`.execute(db);
      },
    },
    '0002_hub': {
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
    },
    '0003_device_templates': {
      async up(db: Kysely<unknown>) {
        // Device templates (CENTRAL_API.md §1.2, §6): the wrapper as JSON text, with the columns
        // the list, the lookups by model ID and the in-use check need.
        await db.schema
          .createTable('device_templates')
          .addColumn('id', t.text, (c) => c.primaryKey())
          .addColumn('display_name', t.text, (c) => c.notNull())
          .addColumn('description', t.text)
          .addColumn('capability_model_id', t.text, (c) => c.notNull())
          .addColumn('document', t.text, (c) => c.notNull())
          .addColumn('etag', t.text, (c) => c.notNull())
          .addColumn('built_in', t.integer, (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .addColumn('updated_at', t.text, (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('device_templates_model')
          .on('device_templates')
          .column('capability_model_id')
          .execute();
        await db.schema.createIndex('devices_template').on('devices').column('template').execute();
      },
    },
    '0004_users_dashboards': {
      async up(db: Kysely<unknown>) {
        // People who sign in to the web UI (passwords as scrypt hashes, DESIGN.md security rules).
        await db.schema
          .createTable('users')
          .addColumn('id', t.text, (c) => c.primaryKey())
          .addColumn('type', t.text, (c) => c.notNull())
          .addColumn('email', t.text, (c) => c.notNull())
          .addColumn('username', t.text, (c) => c.notNull())
          .addColumn('username_key', t.text, (c) => c.notNull().unique())
          .addColumn('password_hash', t.text)
          .addColumn('roles', t.text, (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .addColumn('updated_at', t.text, (c) => c.notNull())
          .execute();
        // Sign-in sessions: only the SHA-256 of the bearer secret is kept.
        await db.schema
          .createTable('user_sessions')
          .addColumn('id', t.text, (c) => c.primaryKey())
          .addColumn('token_hash', t.text, (c) => c.notNull().unique())
          .addColumn('user_id', t.text, (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('created_at', t.text, (c) => c.notNull())
          .addColumn('expires_at', t.text, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('user_sessions_user').on('user_sessions').column('user_id').execute();
        await db.schema
          .createTable('dashboards')
          .addColumn('id', t.text, (c) => c.primaryKey())
          .addColumn('display_name', t.text, (c) => c.notNull())
          .addColumn('tiles', t.text, (c) => c.notNull())
          .addColumn('etag', t.text, (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .addColumn('updated_at', t.text, (c) => c.notNull())
          .execute();
      },
    },
    '0005_cluster_sessions': {
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
    },
    '0006_attempt_client_address': {
      // Where a refused device connected from: with --proxy-protocol v2 the PROXY header's
      // source, not the load balancer's address.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('provisioning_attempts').addColumn('client_address', t.text).execute();
      },
    },
    '0007_device_groups_jobs': {
      async up(db: Kysely<unknown>) {
        // Device groups (EXPORT_RULES.md §5.1): the filter is kept as text and evaluated when used.
        await db.schema
          .createTable('device_groups')
          .addColumn('id', t.text, (c) => c.primaryKey())
          .addColumn('display_name', t.text, (c) => c.notNull())
          .addColumn('description', t.text)
          .addColumn('filter', t.text, (c) => c.notNull())
          .addColumn('etag', t.text, (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .addColumn('updated_at', t.text, (c) => c.notNull())
          .execute();
        // Cloud properties of templates had no store: one row per device, component and name.
        await db.schema
          .createTable('cloud_properties')
          .addColumn('device_id', t.text, (c) => c.notNull())
          .addColumn('component', t.text, (c) => c.notNull())
          .addColumn('name', t.text, (c) => c.notNull())
          .addColumn('value', t.text, (c) => c.notNull())
          .addColumn('updated_at', t.text, (c) => c.notNull())
          .addPrimaryKeyConstraint('cloud_properties_pk', ['device_id', 'component', 'name'])
          .execute();
        // Jobs (EXPORT_RULES.md §5.2) and their per-device state, so a job resumes after a restart.
        await db.schema
          .createTable('jobs')
          .addColumn('id', t.text, (c) => c.primaryKey())
          .addColumn('scheduled_job_id', t.text)
          .addColumn('rerun_of', t.text)
          .addColumn('display_name', t.text)
          .addColumn('description', t.text)
          .addColumn('group_id', t.text, (c) => c.notNull())
          .addColumn('batch', t.text)
          .addColumn('cancellation_threshold', t.text)
          .addColumn('data', t.text, (c) => c.notNull())
          .addColumn('status', t.text, (c) => c.notNull())
          .addColumn('current_batch', t.integer, (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .addColumn('start', t.text)
          .addColumn('end', t.text)
          .addColumn('updated_at', t.text, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('jobs_status').on('jobs').column('status').execute();
        await db.schema.createIndex('jobs_scheduled').on('jobs').column('scheduled_job_id').execute();
        await db.schema
          .createTable('job_devices')
          .addColumn('job_id', t.text, (c) => c.notNull().references('jobs.id').onDelete('cascade'))
          .addColumn('device_id', t.text, (c) => c.notNull())
          .addColumn('batch', t.integer, (c) => c.notNull())
          .addColumn('status', t.text, (c) => c.notNull())
          .addColumn('dispatched', t.integer, (c) => c.notNull())
          .addColumn('desired_version', t.integer)
          .addColumn('message', t.text)
          .addColumn('updated_at', t.text, (c) => c.notNull())
          .addPrimaryKeyConstraint('job_devices_pk', ['job_id', 'device_id'])
          .execute();
        await db.schema
          .createIndex('job_devices_device_status')
          .on('job_devices')
          .columns(['device_id', 'status'])
          .execute();
        await db.schema
          .createTable('scheduled_jobs')
          .addColumn('id', t.text, (c) => c.primaryKey())
          .addColumn('display_name', t.text)
          .addColumn('description', t.text)
          .addColumn('group_id', t.text, (c) => c.notNull())
          .addColumn('batch', t.text)
          .addColumn('cancellation_threshold', t.text)
          .addColumn('data', t.text, (c) => c.notNull())
          .addColumn('schedule', t.text, (c) => c.notNull())
          .addColumn('enabled', t.integer, (c) => c.notNull())
          .addColumn('completed', t.integer, (c) => c.notNull())
          .addColumn('runs', t.integer, (c) => c.notNull())
          .addColumn('next_run', t.text)
          .addColumn('etag', t.text, (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .addColumn('updated_at', t.text, (c) => c.notNull())
          .execute();
      },
    },
    '0008_device_tags': {
      async up(db: Kysely<unknown>) {
        // Twin tags (IoT Hub), kept for the solution, never sent to the device.
        await db.schema
          .createTable('device_tags')
          .addColumn('device_id', t.text, (c) => c.primaryKey())
          .addColumn('tags', t.text, (c) => c.notNull())
          .addColumn('updated_at', t.text, (c) => c.notNull())
          .execute();
      },
    },
    '0009_telemetry_rollups': {
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
    },
    '0010_device_list_indexes': {
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
        await db.schema
          .createIndex('devices_list_enabled')
          .on('devices')
          .columns(['enabled', 'id'])
          .execute();
        await db.schema
          .createIndex('devices_list_provisioned')
          .on('devices')
          .columns(['provisioned', 'id'])
          .execute();
      },
    },
    '0011_data_export': { up: (db: Kysely<unknown>) => upDataExport(db, dialect) },
    '0012_rules': { up: (db: Kysely<unknown>) => upRules(db, dialect) },
    '0013_audit_log': { up: (db: Kysely<unknown>) => createAuditLog(db, dialect) },
    '0014_revocation': revocationMigration(dialect),
    '0015_users_disabled': usersDisabledMigration(dialect),
    '0016_user_sessions_last_used': userSessionsIdleMigration(dialect),
  };
}

/** The migrations for one database. */
export function migrationProviderFor(dialect: StoreDialect): MigrationProvider {
  return { getMigrations: () => Promise.resolve(migrationsFor(dialect)) };
}

/** The SQLite migrations (the embedded default). */
export const migrationProvider: MigrationProvider = migrationProviderFor('sqlite');
