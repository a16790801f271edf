import type { Kysely, Migration, MigrationProvider } from 'kysely';

import type { StoreDialect } from './column-types.js';
import {
  deviceTemplatesMigration,
  usersDashboardsMigration,
  deviceGroupsJobsMigration,
} from './application-migrations.js';
import {
  hubMigration,
  clusterSessionsMigration,
  deviceTagsMigration,
  telemetryRollupsMigration,
  deviceListIndexesMigration,
} from './hub-migrations.js';
import { provisioningMigration, attemptClientAddressMigration } from './provisioning-migrations.js';
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
  return {
    '0001_provisioning': provisioningMigration(dialect),
    '0002_hub': hubMigration(dialect),
    '0003_device_templates': deviceTemplatesMigration(dialect),
    '0004_users_dashboards': usersDashboardsMigration(dialect),
    '0005_cluster_sessions': clusterSessionsMigration(dialect),
    '0006_attempt_client_address': attemptClientAddressMigration(dialect),
    '0007_device_groups_jobs': deviceGroupsJobsMigration(dialect),
    '0008_device_tags': deviceTagsMigration(dialect),
    '0009_telemetry_rollups': telemetryRollupsMigration(dialect),
    '0010_device_list_indexes': deviceListIndexesMigration(),
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
