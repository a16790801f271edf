/**
 * The store contract (helpers/store-contract.ts) and the telemetry store's
 * (helpers/telemetry-contract.ts) on the embedded SQLite database.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'node:test';

import { openStore } from '../src/store/open-store.js';
import { defineStoreContract } from './helpers/store-contract.js';
import { defineTelemetryContract } from './helpers/telemetry-contract.js';
import { startTestServer } from './helpers/test-server.js';

describe('store contract: SQLite', () => {
  defineStoreContract(() => startTestServer({ webRoot: '' }));
});

describe('telemetry store contract: SQLite', () => {
  defineTelemetryContract(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-telemetry-'));
    const store = await openStore({ dataDir: dir });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
});
