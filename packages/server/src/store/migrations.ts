import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { sql } from 'kysely';

/**
 * Versioned migrations. Never edit one that has shipped: add the next number.
 * Only portable kysely schema-builder calls, so SQLite and PostgreSQL share them.
 */
const migrations: Record<string, Migration> = {
  '0001_provisioning': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
        .addColumn('roles', 'text', (c) => c.notNull())
        .addColumn('expiry', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('enrollment_groups')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('attestation_type', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('primary_key', 'text')
        .addColumn('secondary_key', 'text')
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('group_certificates')
        .addColumn('group_id', 'text', (c) =>
          c.notNull().references('enrollment_groups.id').onDelete('cascade'),
        )
        .addColumn('entry', 'text', (c) => c.notNull())
        .addColumn('pem', 'text', (c) => c.notNull())
        .addColumn('sha1', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull().unique())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('not_after', 'text', (c) => c.notNull())
        .addColumn('verified', 'integer', (c) => c.notNull())
        .addColumn('verification_code', 'text')
        .addColumn('code_expires_at', 'text')
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('group_certificates_pk', ['group_id', 'entry'])
        .execute();
      await db.schema
        .createTable('individual_enrollments')
        .addColumn('device_id', 'text', (c) => c.primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('primary_pem', 'text')
        .addColumn('primary_sha1', 'text')
        .addColumn('primary_sha256', 'text')
        .addColumn('secondary_pem', 'text')
        .addColumn('secondary_sha1', 'text')
        .addColumn('secondary_sha256', 'text')
        .addColumn('primary_key', 'text')
        .addColumn('secondary_key', 'text')
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('devices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('template', 'text')
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('provisioned', 'integer', (c) => c.notNull())
        .addColumn('simulated', 'integer', (c) => c.notNull())
        .addColumn('auth_type', 'text', (c) => c.notNull())
        .addColumn('x509_primary_sha1', 'text')
        .addColumn('x509_primary_sha256', 'text')
        .addColumn('x509_secondary_sha1', 'text')
        .addColumn('x509_secondary_sha256', 'text')
        .addColumn('sas_primary_key', 'text')
        .addColumn('sas_secondary_key', 'text')
        .addColumn('enrollment_group_id', 'text')
        .addColumn('assigned_hub', 'text')
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('registrations')
        .addColumn('registration_id', 'text', (c) => c.primaryKey())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('substatus', 'text', (c) => c.notNull())
        .addColumn('enrollment_group_id', 'text')
        .addColumn('attestation_type', 'text', (c) => c.notNull())
        .addColumn('assigned_hub', 'text', (c) => c.notNull())
        .addColumn('operation_id', 'text', (c) => c.notNull())
        .addColumn('payload', 'text')
        .addColumn('result', 'text', (c) => c.notNull())
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('provisioning_attempts')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('registration_id', 'text', (c) => c.notNull())
        .addColumn('id_scope', 'text', (c) => c.notNull())
        .addColumn('transport', 'text', (c) => c.notNull())
        .addColumn('sha1', 'text')
        .addColumn('sha256', 'text')
        .addColumn('subject', 'text')
        .addColumn('issuer', 'text')
        .addColumn('reason_code', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
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
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('filter', 'text', (c) => c.notNull())
        .addColumn('qos', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('hub_sessions_pk', ['device_id', 'filter'])
        .execute();
      // Device-to-cloud messages. `body` is a BLOB (bytea on PostgreSQL: that store adds its own DDL).
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
      await db.schema
        .createTable('telemetry_latest')
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('component', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('enqueued_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('telemetry_latest_pk', ['device_id', 'component', 'name'])
        .execute();
      await db.schema
        .createTable('twins')
        .addColumn('device_id', 'text', (c) => c.primaryKey())
        .addColumn('desired', 'text', (c) => c.notNull())
        .addColumn('desired_version', 'integer', (c) => c.notNull())
        .addColumn('desired_updated', 'text', (c) => c.notNull())
        .addColumn('reported', 'text', (c) => c.notNull())
        .addColumn('reported_version', 'integer', (c) => c.notNull())
        .addColumn('reported_updated', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('commands')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('request', 'text')
        .addColumn('response', 'text')
        .addColumn('response_code', 'integer')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('connection_timeout', 'integer', (c) => c.notNull())
        .addColumn('response_timeout', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('commands_device_name_time')
        .on('commands')
        .columns(['device_id', 'name', 'time'])
        .execute();
      await db.schema
        .createTable('c2d_messages')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('body', 'blob', (c) => c.notNull())
        .addColumn('properties', 'text', (c) => c.notNull())
        .addColumn('correlation_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expiry', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('delivered_at', 'text')
        .execute();
      await db.schema
        .createIndex('c2d_messages_device_state')
        .on('c2d_messages')
        .columns(['device_id', 'state', 'seq'])
        .execute();
      // Connection status that outlives a connection (Device.status of hub-api.ts).
      await db.schema
        .createTable('device_status')
        .addColumn('device_id', 'text', (c) => c.primaryKey())
        .addColumn('last_connected', 'text')
        .addColumn('last_activity', 'text')
        .execute();
    },
  },
  '0003_device_templates': {
    async up(db: Kysely<unknown>) {
      // Device templates (CENTRAL_API.md §1.2, §6): the wrapper as JSON text, with the columns
      // the list, the lookups by model ID and the in-use check need.
      await db.schema
        .createTable('device_templates')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('capability_model_id', 'text', (c) => c.notNull())
        .addColumn('document', 'text', (c) => c.notNull())
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('built_in', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
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
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('username_key', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text')
        .addColumn('roles', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      // Sign-in sessions: only the SHA-256 of the bearer secret is kept.
      await db.schema
        .createTable('user_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('user_sessions_user').on('user_sessions').column('user_id').execute();
      await db.schema
        .createTable('dashboards')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('tiles', 'text', (c) => c.notNull())
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0005_device_groups_jobs': {
    async up(db: Kysely<unknown>) {
      // Device groups (EXPORT_RULES.md §5.1): the filter is kept as text and evaluated when used.
      await db.schema
        .createTable('device_groups')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('filter', 'text', (c) => c.notNull())
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      // Cloud properties of templates had no store: one row per device, component and name.
      await db.schema
        .createTable('cloud_properties')
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('component', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('cloud_properties_pk', ['device_id', 'component', 'name'])
        .execute();
      // Jobs (EXPORT_RULES.md §5.2) and their per-device state, so a job resumes after a restart.
      await db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('scheduled_job_id', 'text')
        .addColumn('rerun_of', 'text')
        .addColumn('display_name', 'text')
        .addColumn('description', 'text')
        .addColumn('group_id', 'text', (c) => c.notNull())
        .addColumn('batch', 'text')
        .addColumn('cancellation_threshold', 'text')
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('current_batch', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('start', 'text')
        .addColumn('end', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('jobs_status').on('jobs').column('status').execute();
      await db.schema.createIndex('jobs_scheduled').on('jobs').column('scheduled_job_id').execute();
      await db.schema
        .createTable('job_devices')
        .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('batch', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('dispatched', 'integer', (c) => c.notNull())
        .addColumn('desired_version', 'integer')
        .addColumn('message', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('job_devices_pk', ['job_id', 'device_id'])
        .execute();
      await db.schema
        .createIndex('job_devices_device_status')
        .on('job_devices')
        .columns(['device_id', 'status'])
        .execute();
      await db.schema
        .createTable('scheduled_jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('display_name', 'text')
        .addColumn('description', 'text')
        .addColumn('group_id', 'text', (c) => c.notNull())
        .addColumn('batch', 'text')
        .addColumn('cancellation_threshold', 'text')
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('schedule', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('completed', 'integer', (c) => c.notNull())
        .addColumn('runs', 'integer', (c) => c.notNull())
        .addColumn('next_run', 'text')
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
