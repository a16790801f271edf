/**
 * `npm run bench -- device-list [--devices 100000] [--baseline 1000] [--runs 200]`
 *
 * The device list's first page (IoT Central's 25, `GET /api/devices?$top=25…`) over a real
 * server's REST API on loopback, with a generated fleet written straight into the store
 * (test/helpers/device-fleet.ts): p50/p99 unfiltered, sorted, filtered and filtered+sorted, on
 * SQLite and, when GATEHOUSE_TEST_DATABASE_URL names a PostgreSQL server
 * (`eval "$(node scripts/test-services.mjs start)"`), on PostgreSQL. The baseline is the same
 * query on a fleet of 1,000 in the same run. Goal: under 50 ms with 100,000 devices.
 */
import { sql } from 'kysely';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';

import { insertFleet } from '../test/helpers/device-fleet.js';
import { createTestDatabase, dropTestDatabase } from '../test/helpers/postgres.js';
import { startTestServer, type TestServer } from '../test/helpers/test-server.js';
import { arg, percentile } from './util.js';

const DEVICES = arg('devices', 100_000);
const BASELINE = arg('baseline', 1_000);
const RUNS = arg('runs', 200);
const GOAL_MS = 50;

const QUERIES: Array<[string, Record<string, string>]> = [
  ['unfiltered (by ID)', {}],
  ['sorted by name', { $orderby: 'displayName' }],
  ['sorted by last activity desc', { $orderby: 'lastActivity desc' }],
  ['filtered: name contains kitchen', { $filter: "contains(tolower(displayName),'kitchen')" }],
  ['filtered rare: name contains 4242', { $filter: "contains(displayName,'4242')" }],
  [
    'filtered + sorted: enabled template, by name',
    { $filter: "enabled and template eq 'dtmi:fleet:Meter;1'", $orderby: 'displayName' },
  ],
];

async function firstPage(server: TestServer, options: Record<string, string>): Promise<number> {
  const query = new URLSearchParams({ $top: '25', ...options }).toString();
  const start = performance.now();
  const res = await server.api<{ value: unknown[] }>('GET', `/api/devices?${query}`);
  const ms = performance.now() - start;
  if (res.status !== 200)
    throw new Error(`GET /api/devices?${query}: ${res.status} ${JSON.stringify(res.body)}`);
  return ms;
}

async function measure(server: TestServer, options: Record<string, string>) {
  for (let i = 0; i < 10; i++) await firstPage(server, options);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await firstPage(server, options));
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function fleet(store: 'SQLite' | 'PostgreSQL', count: number) {
  const db = store === 'PostgreSQL' ? await createTestDatabase() : undefined;
  const server = await startTestServer({ webRoot: '', ...(db ? { databaseUrl: db.url } : {}) });
  const start = performance.now();
  await insertFleet(server.db, count);
  // Fresh statistics, as autovacuum would have after a bulk load.
  if (db) await sql`ANALYZE`.execute(server.db);
  const loadMs = performance.now() - start;
  return {
    server,
    loadMs,
    async stop() {
      await server.stop();
      if (db) await dropTestDatabase(db.name);
    },
  };
}

const stores: Array<'SQLite' | 'PostgreSQL'> = ['SQLite'];
if (process.env['GATEHOUSE_TEST_DATABASE_URL']) stores.push('PostgreSQL');
else console.log('PostgreSQL skipped: set GATEHOUSE_TEST_DATABASE_URL (scripts/test-services.mjs start)');

console.log(
  `device-list: first page ($top=25) over HTTP on loopback, ${RUNS} runs after 10 warm-up, ` +
    `${DEVICES} devices vs a baseline of ${BASELINE}; node ${process.version}, ${cpus().length} CPUs`,
);
let worst = 0;
for (const store of stores) {
  const base = await fleet(store, BASELINE);
  const big = await fleet(store, DEVICES);
  console.log(`\n${store}: ${DEVICES} devices written in ${(big.loadMs / 1000).toFixed(1)} s`);
  console.log('query'.padEnd(48) + 'p50 ms'.padStart(9) + 'p99 ms'.padStart(9) + '  ratio p50 to baseline');
  for (const [name, options] of QUERIES) {
    const b = await measure(base.server, options);
    const m = await measure(big.server, options);
    worst = Math.max(worst, m.p99);
    console.log(
      name.padEnd(48) +
        m.p50.toFixed(2).padStart(9) +
        m.p99.toFixed(2).padStart(9) +
        `  ×${(m.p50 / b.p50).toFixed(2)} (baseline ${b.p50.toFixed(2)} / ${b.p99.toFixed(2)})`,
    );
  }
  await base.stop();
  await big.stop();
}
console.log(
  `\nworst p99 ${worst.toFixed(2)} ms: ${worst < GOAL_MS ? 'under' : 'OVER'} the ${GOAL_MS} ms goal`,
);
