/**
 * Retention of raw telemetry and of rollups are separate settings (README Configuration):
 * the retention job drops messages and minute rollups past `retentionDays`, and hour rollups
 * past `rollupRetentionDays`, so a series over a window older than the raw data still answers
 * from the hours. On SQLite and on PostgreSQL (where raw days go as whole partitions).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sql } from 'kysely';

import { openStore } from '../src/store/open-store.js';
import { postgresSkipReason, withPostgres } from './helpers/postgres.js';
import { DAY_MS, toInput } from './helpers/series-data.js';
import { startTestServer } from './helpers/test-server.js';

const iso = (ms: number) => new Date(ms).toISOString();

function defineRetention(databaseUrl: () => string | undefined): void {
  it('drops raw messages and minute rollups after retentionDays, hour rollups after rollupRetentionDays', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-retention-'));
    const url = databaseUrl();
    const store = await openStore({ dataDir, ...(url ? { databaseUrl: url } : {}) });
    // Mid-day times, so whole PostgreSQL day partitions are on one side of each cutoff.
    const noon = Math.floor(Date.now() / DAY_MS) * DAY_MS + DAY_MS / 2;
    const ages = [1, 40, 200];
    const at = (days: number, minute: number) => noon - days * DAY_MS + minute * 60_000;
    for (const days of ages) {
      await store.telemetry.appendBatch(
        [0, 1, 2].map((minute) =>
          toInput({ deviceId: 'r1', component: '', timeMs: at(days, minute), body: { temp: days + minute } }),
        ),
      );
    }
    const count = async (table: string, days: number) => {
      const [a, b] = [at(days, 0), at(days, 3)];
      const where =
        table === 'telemetry'
          ? sql`enqueued_at >= ${iso(a)} AND enqueued_at < ${iso(b)}`
          : sql`bucket >= ${Math.floor(a / 3_600_000) * 3600} AND bucket < ${b / 1000}`;
      const r = await sql<{
        n: number | string;
      }>`SELECT count(*) AS n FROM ${sql.table(table)} WHERE ${where}`.execute(store.db);
      return Number(r.rows[0]!.n);
    };
    const state = async () => {
      const out: Record<string, number[]> = {};
      for (const table of ['telemetry', 'telemetry_rollup_minute', 'telemetry_rollup_hour']) {
        out[table] = [];
        for (const days of ages) out[table].push(await count(table, days));
      }
      return out;
    };
    assert.deepEqual(await state(), {
      telemetry: [3, 3, 3],
      telemetry_rollup_minute: [3, 3, 3],
      telemetry_rollup_hour: [1, 1, 1],
    });
    const server = await startTestServer({
      dataDir,
      ...(url ? { databaseUrl: url } : {}),
      retentionDays: 30,
      rollupRetentionDays: 100,
    });
    try {
      await server.api('PUT', '/api/devices/r1', { displayName: 'r1' });
      // The retention job runs when the server starts (then hourly).
      const deadline = Date.now() + 15_000;
      while ((await count('telemetry', 40)) > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(await state(), {
        telemetry: [3, 0, 0],
        telemetry_rollup_minute: [3, 0, 0],
        telemetry_rollup_hour: [1, 1, 0],
      });
      // 40 days ago: no raw data left, the hour rollup still answers (sum of 40, 41, 42).
      const from = iso(noon - 41 * DAY_MS);
      const to = iso(noon - 39 * DAY_MS);
      const res = await server.api<{
        source: string;
        value: Array<{ time: string; value: number; count: number }>;
      }>('GET', `/api/devices/r1/telemetry/temp/series?from=${from}&to=${to}&interval=PT1H&aggregation=sum`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.source, 'hour');
      assert.deepEqual(res.body.value, [{ time: iso(at(40, 0)), value: 123, count: 3 }]);
    } finally {
      await server.stop();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
}

describe('telemetry retention on SQLite', () => {
  defineRetention(() => undefined);
});

describe('telemetry retention on PostgreSQL', { skip: postgresSkipReason() }, () => {
  const pg = withPostgres();
  defineRetention(() => pg.url);
});
