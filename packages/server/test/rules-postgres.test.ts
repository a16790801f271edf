/**
 * The rules firing (helpers/rules-suite.ts) on PostgreSQL: a fresh database from
 * GATEHOUSE_TEST_DATABASE_URL (skipped without it, unless GATEHOUSE_REQUIRE_POSTGRES=1).
 */
import { describe } from 'node:test';

import { createTestDatabase, dropTestDatabase, postgresSkipReason } from './helpers/postgres.js';
import { defineRulesSuite } from './helpers/rules-suite.js';
import { startTestServer } from './helpers/test-server.js';

describe('rules fire on live events: PostgreSQL', { skip: postgresSkipReason() }, () => {
  defineRulesSuite(async (overrides) => {
    const db = await createTestDatabase();
    const server = await startTestServer({ ...overrides, databaseUrl: db.url });
    return {
      ...server,
      async stop() {
        await server.stop();
        await dropTestDatabase(db.name);
      },
    };
  });
});
