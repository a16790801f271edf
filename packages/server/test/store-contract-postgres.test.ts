/**
 * The store contract (helpers/store-contract.ts) and the telemetry store's
 * (helpers/telemetry-contract.ts) on PostgreSQL: a fresh database per suite, from
 * GATEHOUSE_TEST_DATABASE_URL (skipped without it, unless GATEHOUSE_REQUIRE_POSTGRES=1).
 */
import { describe } from 'node:test';

import { openStore } from '../src/store/open-store.js';
import { createTestDatabase, dropTestDatabase, postgresSkipReason } from './helpers/postgres.js';
import { defineStoreContract } from './helpers/store-contract.js';
import { defineTelemetryContract } from './helpers/telemetry-contract.js';
import { startTestServer } from './helpers/test-server.js';

describe('store contract: PostgreSQL', { skip: postgresSkipReason() }, () => {
  defineStoreContract(async () => {
    const db = await createTestDatabase();
    const server = await startTestServer({ webRoot: '', databaseUrl: db.url });
    return {
      ...server,
      async stop() {
        await server.stop();
        await dropTestDatabase(db.name);
      },
    };
  });
});

describe('telemetry store contract: PostgreSQL', { skip: postgresSkipReason() }, () => {
  defineTelemetryContract(async () => {
    const db = await createTestDatabase();
    const store = await openStore({ dataDir: '/nonexistent-unused', databaseUrl: db.url });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await dropTestDatabase(db.name);
      },
    };
  });
});
