import type { Kysely, Migration } from 'kysely';

import { columnTypes, type StoreDialect } from '../store/column-types.js';

/**
 * 0014_revocation: the CRL each group CA last published, and its revoked serial numbers keyed
 * the way RFC 5280 names a certificate (issuer + serial), so a connect checks every
 * certificate of its chain with one indexed lookup each.
 */
export function revocationMigration(dialect: StoreDialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('group_crls')
        .addColumn('group_id', t.text, (c) =>
          c.notNull().references('enrollment_groups.id').onDelete('cascade'),
        )
        .addColumn('ca_sha256', t.text, (c) => c.notNull())
        .addColumn('issuer', t.text, (c) => c.notNull())
        .addColumn('this_update', t.text, (c) => c.notNull())
        .addColumn('next_update', t.text)
        .addColumn('pem', t.text, (c) => c.notNull())
        .addColumn('imported_at', t.text, (c) => c.notNull())
        .addPrimaryKeyConstraint('group_crls_pk', ['group_id', 'ca_sha256'])
        .execute();
      await db.schema
        .createTable('revoked_certificates')
        .addColumn('group_id', t.text, (c) =>
          c.notNull().references('enrollment_groups.id').onDelete('cascade'),
        )
        .addColumn('ca_sha256', t.text, (c) => c.notNull())
        .addColumn('issuer', t.text, (c) => c.notNull())
        .addColumn('serial', t.text, (c) => c.notNull())
        .addColumn('revoked_at', t.text, (c) => c.notNull())
        .addPrimaryKeyConstraint('revoked_certificates_pk', ['group_id', 'ca_sha256', 'serial'])
        .execute();
      await db.schema
        .createIndex('revoked_certificates_issuer_serial')
        .on('revoked_certificates')
        .columns(['issuer', 'serial'])
        .execute();
    },
  };
}
