/**
 * Migration 0009 fills the rollups from the telemetry a database already holds: after the
 * upgrade, minute and hour rollups give exactly the raw aggregation of the old messages, and
 * bodies that are not JSON objects (or that PostgreSQL's jsonb refuses) do not stop it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';

import { AGGREGATIONS } from '../src/hub/telemetry-series-query.js';
import type { StoreDialect } from '../src/store/column-types.js';
import { migrationProviderFor } from '../src/store/migrations.js';
import { openStore } from '../src/store/open-store.js';
import { ensureTelemetryPartitions } from '../src/store/postgres-telemetry-schema.js';
import { postgresSkipReason, withPostgres } from './helpers/postgres.js';
import { DAY_MS, generate, toInput } from './helpers/series-data.js';

function defineBackfill(dialect: StoreDialect, databaseUrl: () => string | undefined): void {
  it('rollups made by the migration equal the raw aggregation of the messages stored before it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-backfill-'));
    const url = databaseUrl();
    const db = new Kysely<unknown>({
      dialect: url
        ? new PostgresDialect({ pool: new pg.Pool({ connectionString: url }) })
        : new SqliteDialect({ database: new BetterSqlite3(join(dataDir, 'gatehouse.db')) }),
    });
    const migrated = await new Migrator({ db, provider: migrationProviderFor(dialect) }).migrateTo(
      '0008_device_tags',
    );
    assert.equal(migrated.error, undefined);
    const start = Math.floor(Date.now() / DAY_MS) * DAY_MS - 2 * DAY_MS;
    const { sent } = generate(['old-1', 'old-2'], start, 1, 3);
    const rows: Array<ReturnType<typeof toInput> & { fieldNames: string | null }> = sent.map((m) => ({
      ...toInput(m),
      fieldNames: JSON.stringify(Object.keys(m.body)),
    }));
    // Bodies the backfill must pass over: text, a JSON array, and (jsonb refuses \u0000) an odd one.
    const odd = (body: string, fields: string | null) => ({
      ...toInput({ deviceId: 'odd', component: '', timeMs: start + 60_000, body: {} }),
      body: Buffer.from(body),
      fieldNames: fields,
    });
    rows.push(
      odd('plain text', null),
      odd('[1, 2]', null),
      odd('{"temp": 5, "s": "a\\u0000b"}', '["temp","s"]'),
    );
    if (url) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await ensureTelemetryPartitions(
        client,
        [0, 1, 2].map((d) => new Date(start + d * DAY_MS).toISOString().slice(0, 10)),
      );
      await client.end();
    }
    for (const r of rows) {
      await sql`INSERT INTO telemetry (device_id, enqueued_at, component, body, content_type, system_properties, properties${url ? sql`, field_names` : sql``})
        VALUES (${r.deviceId}, ${r.enqueuedAt}, ${r.component}, ${r.body}, ${r.contentType}, '{}', '{}'${url ? sql`, ${r.fieldNames}::jsonb` : sql``})`.execute(
        db,
      );
    }
    await db.destroy();

    const store = await openStore({ dataDir, ...(url ? { databaseUrl: url } : {}) });
    try {
      for (const component of ['', 'thermostat1']) {
        for (const aggregation of AGGREGATIONS) {
          const partials = (source: 'raw' | 'minute' | 'hour') =>
            store.telemetry
              .seriesPartials({
                deviceIds: ['old-1', 'old-2'],
                component,
                name: 'temp',
                intervalS: 3600,
                aggregation,
                source,
                fromMs: start,
                toMs: start + DAY_MS,
              })
              .then((p) => p.sort((a, b) => a.deviceId.localeCompare(b.deviceId) || a.bucket - b.bucket));
          const raw = await partials('raw');
          assert.ok(raw.length > 20);
          assert.deepEqual(await partials('minute'), raw, `minute ${component} ${aggregation}`);
          assert.deepEqual(await partials('hour'), raw, `hour ${component} ${aggregation}`);
        }
      }
      // SQLite reads the odd body's number; PostgreSQL's jsonb cannot parse that body at all.
      assert.equal(
        await store.telemetry.fieldKind(['odd'], '', 'temp'),
        dialect === 'sqlite' ? 'numeric' : 'unseen',
      );
    } finally {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
}

describe('rollup backfill on SQLite', () => {
  defineBackfill('sqlite', () => undefined);
});

describe('rollup backfill on PostgreSQL', { skip: postgresSkipReason() }, () => {
  const postgres = withPostgres();
  defineBackfill('postgres', () => postgres.url);
});
