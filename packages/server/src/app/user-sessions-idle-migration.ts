import type { Kysely, Migration } from 'kysely';

import { columnTypes, type StoreDialect } from '../store/column-types.js';

/**
 * 0016_user_sessions_last_used: when a sign-in session was last used, for the idle timeout
 * (OWASP ASVS 5.0 7.3.1). Written at most once a minute per session; null until the first
 * write, when the session's creation time counts instead (so existing sessions keep working).
 */
export function userSessionsIdleMigration(dialect: StoreDialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('user_sessions').addColumn('last_used_at', t.text).execute();
    },
  };
}
