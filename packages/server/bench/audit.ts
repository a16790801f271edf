/**
 * `npm run bench -- audit [--writes 500] [--entries 100000] [--baseline 1000] [--runs 200]`
 *
 * What the audit log costs and how fast it reads, over HTTP on loopback, SQLite in a file
 * (WAL, synchronous=FULL, as `gatehouse serve` opens it):
 * 1. a REST change (`PATCH /api/devices/{id}` renaming a device) with the audit hook (the GET
 *    of `before`, the redaction, the committed insert) against the same API without it,
 *    built in the same run: p50/p99 and the ratio;
 * 2. `GET /api/auditLogs` first page (100) with `--entries` entries in the log against
 *    `--baseline` entries: unfiltered, by resource (indexed), by actor (indexed) and by a rare
 *    action (no index: a scan back from the newest).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import type { Kysely } from 'kysely';

import type { NewAuditEntry } from '../src/audit/audit-entry.js';
import { AuditLog, type AuditLogTable } from '../src/audit/audit-log.js';
import type { Database } from '../src/store/schema.js';
import { openSqliteWithHandle } from '../src/store/sqlite.js';
import { ADMIN_SECRET, apiHarness } from '../test/helpers/api-harness.js';
import { arg, percentile } from './util.js';

const WRITES = arg('writes', 500);
const ENTRIES = arg('entries', 100_000);
const BASELINE = arg('baseline', 1_000);
const RUNS = arg('runs', 200);

interface Api {
  url: string;
  audit: AuditLog;
  db: Kysely<Database>;
  close(): Promise<void>;
}

async function api(withAudit: boolean): Promise<Api> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-audit-'));
  const store = await openSqliteWithHandle({ filename: join(dir, 'gatehouse.db') });
  const audit = new AuditLog(store.db);
  const h = await apiHarness(withAudit ? { audit } : {}, { store });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const address = h.app.server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    audit,
    db: store.db,
    async close() {
      await h.close();
      await store.db.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function call(a: Api, method: string, path: string, body?: unknown): Promise<number> {
  const start = performance.now();
  const res = await fetch(a.url + path, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_SECRET}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  await res.arrayBuffer();
  const ms = performance.now() - start;
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status}`);
  return ms;
}

function stats(times: number[]) {
  times.sort((x, y) => x - y);
  return { p50: +percentile(times, 50).toFixed(2), p99: +percentile(times, 99).toFixed(2) };
}

async function writes(a: Api) {
  for (let i = 0; i < 20; i++) await call(a, 'PUT', `/api/devices/bench-${i}`, { displayName: `Bench ${i}` });
  const times: number[] = [];
  for (let i = 0; i < WRITES; i++)
    times.push(await call(a, 'PATCH', `/api/devices/bench-${i % 20}`, { displayName: `Bench ${i}` }));
  return stats(times);
}

function entry(i: number, time: number): NewAuditEntry {
  const device = `meter-${i % 5000}`;
  return {
    time: new Date(time + i).toISOString(),
    actor:
      i % 10 === 0
        ? { type: 'user', id: 'alice', name: 'alice@example.com' }
        : { type: 'apiToken', id: 'ci' },
    action: i % 1000 === 0 ? 'deleted' : 'updated',
    resource: { type: 'device', id: device, displayName: device },
    method: 'PATCH',
    path: `/api/devices/${device}`,
    status: 200,
    before: { id: device, displayName: 'old', enabled: true },
    after: { id: device, displayName: 'new', enabled: true },
  };
}

/** `count` entries, 500 a transaction (the rows `record` writes, without a commit each). */
async function fill(db: Kysely<Database>, count: number): Promise<void> {
  const time = Date.now() - count;
  const rows = (i: number) => {
    const e = entry(i, time);
    return {
      time: e.time,
      actor_type: e.actor.type,
      actor_id: e.actor.id,
      actor_name: e.actor.name ?? null,
      action: e.action,
      resource_type: e.resource.type,
      resource_id: e.resource.id ?? null,
      resource_name: e.resource.displayName ?? null,
      method: e.method,
      path: e.path,
      status: e.status,
      request_id: null,
      before: JSON.stringify(e.before),
      after: JSON.stringify(e.after),
    };
  };
  const table = db as unknown as Kysely<{ audit_log: Omit<AuditLogTable, 'id'> }>;
  for (let i = 0; i < count; i += 500) {
    const batch = Array.from({ length: Math.min(500, count - i) }, (_, j) => rows(i + j));
    await table.insertInto('audit_log').values(batch).execute();
  }
}

/** Entries a second through `record` (one committed transaction each, as the hook writes). */
async function recordRate(log: AuditLog, count: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < count; i++) await log.record(entry(i, Date.now()));
  return Math.round(count / ((performance.now() - start) / 1000));
}

const READS: Array<[string, string]> = [
  ['unfiltered', ''],
  ['by resource (indexed)', '&resourceType=device&resourceId=meter-42'],
  ['by actor (indexed)', '&actor=alice'],
  ['by a rare action (indexed)', '&action=deleted'],
];

async function reads(a: Api) {
  const out: Record<string, { p50: number; p99: number }> = {};
  for (const [name, query] of READS) {
    for (let i = 0; i < 10; i++) await call(a, 'GET', `/api/auditLogs?$top=100${query}`);
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) times.push(await call(a, 'GET', `/api/auditLogs?$top=100${query}`));
    out[name] = stats(times);
  }
  return out;
}

console.log(
  `audit: REST API over HTTP on loopback, SQLite file (WAL, synchronous=FULL); ${WRITES} sequential PATCH ` +
    `after 20 PUT, first pages ($top=100) ${RUNS} runs after 10 warm-up with ${ENTRIES} entries vs a baseline of ` +
    `${BASELINE}; record() rate over 1,000 committed entries; node ${process.version}, ${cpus().length} CPUs`,
);

const plain = await api(false);
const withoutAudit = await writes(plain);
await plain.close();
const audited = await api(true);
const withAudit = await writes(audited);
console.log(
  `PATCH /api/devices/{id}: without audit p50 ${withoutAudit.p50} ms p99 ${withoutAudit.p99} ms; ` +
    `with audit p50 ${withAudit.p50} ms p99 ${withAudit.p99} ms (×${(withAudit.p50 / withoutAudit.p50).toFixed(2)} p50)`,
);
await audited.close();

const small = await api(true);
await fill(small.db, BASELINE);
const smallReads = await reads(small);
await small.close();
const big = await api(true);
const recordsPerSecond = await recordRate(big.audit, 1000);
await fill(big.db, ENTRIES);
const bigReads = await reads(big);
await big.close();
for (const [name] of READS) {
  const b = bigReads[name]!;
  const s = smallReads[name]!;
  console.log(
    `GET /api/auditLogs ${name}: ${ENTRIES} entries p50 ${b.p50} ms p99 ${b.p99} ms; ` +
      `${BASELINE} entries p50 ${s.p50} ms (×${(b.p50 / s.p50).toFixed(2)})`,
  );
}
console.log(
  JSON.stringify({
    writes: { withoutAudit, withAudit, ratioP50: +(withAudit.p50 / withoutAudit.p50).toFixed(2) },
    recordsPerSecond,
    reads: { entries: ENTRIES, baseline: BASELINE, big: bigReads, small: smallReads },
  }),
);
