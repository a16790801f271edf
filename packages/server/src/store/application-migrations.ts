/**
 * The application's migrations (0003, 0004, 0007) of the list in migrations.ts: templates,
 * users and dashboards, device groups and jobs. Each returns the migration for one dialect.
 * Never edit one that has shipped.
 */
import type { Kysely, Migration } from 'kysely';

import { columnTypes, type StoreDialect } from './column-types.js';

/**
 * 0003_device_templates: device templates, found by ID or model ID.
 */
export function deviceTemplatesMigration(dialect: StoreDialect): Migration {
  const t = columnTypes(dialect);
  return {
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
  };
}

/**
 * 0004_users_dashboards: the web UI's users, their sign-in sessions, and dashboards.
 */
export function usersDashboardsMigration(dialect: StoreDialect): Migration {
  const t = columnTypes(dialect);
  return {
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
  };
}

/**
 * 0007_device_groups_jobs: device groups, cloud properties, and the jobs (one-off and
 * scheduled) run over the groups.
 */
export function deviceGroupsJobsMigration(dialect: StoreDialect): Migration {
  const t = columnTypes(dialect);
  return {
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
  };
}
