/**
 * The provisioning tables' migrations (0001, 0006) of the list in migrations.ts: each returns
 * the migration for one dialect. Never edit one that has shipped.
 */
import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';

import { columnTypes, type StoreDialect } from './column-types.js';

/**
 * 0001_provisioning: the first schema, of provisioning: settings, API tokens, enrollment groups
 * and their certificates, individual enrollments, devices, registrations and the provisioning
 * attempts (the refusals the API lists).
 */
export function provisioningMigration(dialect: StoreDialect): Migration {
  const t = columnTypes(dialect);
  const pg = dialect === 'postgres';
  return {
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
  };
}

/**
 * 0006_attempt_client_address: `client_address` of the provisioning attempts.
 */
export function attemptClientAddressMigration(dialect: StoreDialect): Migration {
  const t = columnTypes(dialect);
  return {
    // Where a refused device connected from: with --proxy-protocol v2 the PROXY header's
    // source, not the load balancer's address.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('provisioning_attempts').addColumn('client_address', t.text).execute();
    },
  };
}
