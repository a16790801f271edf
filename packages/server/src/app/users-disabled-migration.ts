import type { Kysely, Migration } from 'kysely';

import { columnTypes, type StoreDialect } from '../store/column-types.js';

/**
 * 0015_users_disabled: a user an administrator disabled cannot sign in and has no session
 * (OWASP ASVS 5.0 7.4.2). 0/1 like every boolean of the store; existing users stay enabled.
 */
export function usersDisabledMigration(dialect: StoreDialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('users')
        .addColumn('disabled', t.integer, (c) => c.notNull().defaultTo(0))
        .execute();
    },
  };
}
