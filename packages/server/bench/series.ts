/**
 * `npm run bench -- series [--devices 1000] [--days 30] [--runs 20] [--store sqlite|postgres|both]`
 *
 * Telemetry series over a generated history: `--devices` devices sending one message a minute
 * (`{"temp": …}`) for `--days` days (1,000 × 30 = 43.2 M messages), with their minute and
 * hour rollups. The data set is generated once, inside the database (one INSERT … SELECT per
 * day, time-major like real traffic), and kept: SQLite under bench-data/ (git-ignored),
 * PostgreSQL as a database named after the size on the server of GATEHOUSE_BENCH_DATABASE_URL
 * or GATEHOUSE_TEST_DATABASE_URL (`--store postgres`, or `both`, the default when one is set).
 *
 * Measured, p50/p99: a 30-day and a 1-hour series of one device and of all the template's
 * devices, computed by the store from raw messages and from the rollups (what the service
 * plans: hours, minutes at the edges, raw seconds at the very edges); the ratio rollup/raw;
 * and the HTTP route end to end (the template route answers its first 100 devices, the cap).
 * Goal: a 30-day series of one device under 100 ms p99.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';

import { planPieces } from '../src/hub/telemetry-series.js';
import { parseSeriesParams } from '../src/hub/telemetry-series-query.js';
import type { SeriesPieceQuery } from '../src/hub/telemetry-series-sql.js';
import { openStore, type Store } from '../src/store/open-store.js';
import { ensureTelemetryPartitions } from '../src/store/postgres-telemetry-schema.js';
import { arg, percentile, startServe, type ServeProcess } from './util.js';

const DEVICES = arg('devices', 1000);
const DAYS = arg('days', 30);
const RUNS = arg('runs', 20);
/** A case stops after this many milliseconds of runs (raw scans of a whole fleet are slow). */
const BUDGET_MS = arg('budget', 30_000);
const DAY_MS = 86_400_000;
const TEMPLATE = 'dtmi:bench:Sensor;1';
const TOKEN = 'bench-series-token-0123456789abcdef';
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const PG_URL = process.env['GATEHOUSE_BENCH_DATABASE_URL'] ?? process.env['GATEHOUSE_TEST_DATABASE_URL'];
const storeArg = process.argv.includes('--store')
  ? process.argv[process.argv.indexOf('--store') + 1]
  : undefined;
const STORES = (storeArg ?? (PG_URL ? 'both' : 'sqlite')) === 'both' ? ['sqlite', 'postgres'] : [storeArg!];

const deviceId = (i: number) => `dev-${String(i).padStart(5, '0')}`;

interface Meta {
  devices: number;
  days: number;
  /** Epoch ms of the first message (a whole minute) and just after the last one. */
  startMs: number;
  endMs: number;
  rows: number;
  generateSeconds: number;
}

/**
 * The message of device `d` at minute `m` (SQL over the `dev(d, id)` and `mins(m)` tables):
 * one `temp` value, a deterministic saw-tooth with per-device offset, to one decimal.
 */
const TEMP = '((m * 7919 + d * 104729) % 1000) / 10.0';

// ---------------------------------------------------------------- SQLite

async function sqliteDataSet(): Promise<{ dataDir: string; meta: Meta }> {
  const dataDir = join(ROOT, 'bench-data', `series-sqlite-${DEVICES}x${DAYS}`);
  const metaPath = join(dataDir, 'meta.json');
  if (existsSync(metaPath)) return { dataDir, meta: JSON.parse(readFileSync(metaPath, 'utf8')) as Meta };
  mkdirSync(dataDir, { recursive: true });
  await (await openStore({ dataDir })).close(); // the schema, by the migrations
  const began = Date.now();
  // Whole hours, so each day of minutes fills whole hour rollups.
  const endMs = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const startMs = endMs - DAYS * DAY_MS;
  const db = new BetterSqlite3(join(dataDir, 'gatehouse.db'));
  // A generator, not the server: no journal (a crash means generating again), WAL back at the end.
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -1000000');
  db.exec('CREATE TEMP TABLE dev (d INTEGER PRIMARY KEY, id TEXT NOT NULL)');
  const addDevice = db.prepare('INSERT INTO dev (d, id) VALUES (?, ?)');
  db.transaction(() => {
    for (let d = 0; d < DEVICES; d++) addDevice.run(d, deviceId(d));
  })();
  const minutes = `WITH RECURSIVE mins(m) AS (SELECT ? UNION ALL SELECT m + 1 FROM mins WHERE m + 1 < ?)`;
  // CROSS JOIN keeps mins the outer loop: rows go in time order, devices interleaved.
  const raw = db.prepare(`${minutes}
    INSERT INTO telemetry (device_id, enqueued_at, component, body, content_type, system_properties, properties)
    SELECT dev.id, strftime('%Y-%m-%dT%H:%M:%fZ', ? + m * 60, 'unixepoch'), NULL,
      CAST('{"temp":' || ${TEMP} || '}' AS BLOB), 'application/json', '{}', '{}'
    FROM mins CROSS JOIN dev`);
  const minute = db.prepare(`${minutes}
    INSERT INTO telemetry_rollup_minute
    SELECT dev.id, '', 'temp', ? + m * 60, 1, ${TEMP}, ${TEMP}, ${TEMP}, ${TEMP},
      strftime('%Y-%m-%dT%H:%M:%fZ', ? + m * 60, 'unixepoch'), ${TEMP},
      strftime('%Y-%m-%dT%H:%M:%fZ', ? + m * 60, 'unixepoch')
    FROM mins CROSS JOIN dev`);
  const hour = db.prepare(`INSERT INTO telemetry_rollup_hour
    SELECT device_id, component, name, (bucket / 3600) * 3600, sum(n), sum(sum_value), min(min_value),
      max(max_value), 0, min(first_time), 0, max(last_time)
    FROM telemetry_rollup_minute WHERE bucket >= ? AND bucket < ? GROUP BY device_id, component, name, bucket / 3600`);
  // The first and last minute's values, by key range (the hour's minutes are contiguous).
  const edge = (order: string, column: string) => `(SELECT m.${column} FROM telemetry_rollup_minute m
      WHERE m.device_id = h.device_id AND m.component = h.component AND m.name = h.name
        AND m.bucket >= h.bucket AND m.bucket < h.bucket + 3600 ORDER BY m.bucket ${order} LIMIT 1)`;
  const edges = db.prepare(`UPDATE telemetry_rollup_hour AS h
    SET first_value = ${edge('ASC', 'first_value')}, last_value = ${edge('DESC', 'last_value')}
    WHERE bucket >= ? AND bucket < ?`);
  const start = startMs / 1000;
  for (let day = 0; day < DAYS; day++) {
    const [m0, m1] = [day * 1440, (day + 1) * 1440];
    db.transaction(() => {
      raw.run(m0, m1, start);
      minute.run(m0, m1, start, start, start);
      hour.run(start + m0 * 60, start + m1 * 60);
      edges.run(start + m0 * 60, start + m1 * 60);
    })();
    process.stdout.write(
      `\rSQLite: day ${day + 1}/${DAYS} generated (${Math.round((Date.now() - began) / 1000)} s)`,
    );
  }
  process.stdout.write('\n');
  db.exec('ANALYZE');
  db.pragma('journal_mode = WAL');
  db.close();
  const meta: Meta = {
    devices: DEVICES,
    days: DAYS,
    startMs,
    endMs,
    rows: DEVICES * DAYS * 1440,
    generateSeconds: Math.round((Date.now() - began) / 1000),
  };
  writeFileSync(metaPath, JSON.stringify(meta));
  return { dataDir, meta };
}

// ---------------------------------------------------------------- PostgreSQL

function databaseUrl(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

async function postgresDataSet(): Promise<{ url: string; meta: Meta }> {
  if (!PG_URL)
    throw new Error('--store postgres needs GATEHOUSE_BENCH_DATABASE_URL or GATEHOUSE_TEST_DATABASE_URL');
  const name = `gatehouse_bench_series_${DEVICES}x${DAYS}`;
  const url = databaseUrl(PG_URL, name);
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount! > 0;
  if (exists) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const r = await c
      .query<{ value: string }>("SELECT value FROM settings WHERE key = 'bench:meta'")
      .catch(() => ({ rows: [] as Array<{ value: string }> }));
    await c.end();
    if (r.rows[0]) {
      await admin.end();
      return { url, meta: JSON.parse(r.rows[0].value) as Meta };
    }
    await admin.query(`DROP DATABASE ${name}`);
  }
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  await (await openStore({ dataDir: '/nonexistent', databaseUrl: url })).close();
  const began = Date.now();
  // Whole hours, so each day of minutes fills whole hour rollups.
  const endMs = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const startMs = endMs - DAYS * DAY_MS;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query('SET synchronous_commit = off');
  const days: string[] = [];
  for (let t = startMs; t < endMs + DAY_MS; t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  await ensureTelemetryPartitions(c, days);
  await c.query(
    `CREATE TEMP TABLE dev AS SELECT d, 'dev-' || lpad(d::text, 5, '0') AS id FROM generate_series(0, $1 - 1) d`,
    [DEVICES],
  );
  const start = startMs / 1000;
  const iso = (expr: string) =>
    `to_char(to_timestamp(${expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  const temp = TEMP.replace('10.0', '10.0::float8');
  for (let day = 0; day < DAYS; day++) {
    const [m0, m1] = [day * 1440, (day + 1) * 1440 - 1];
    await c.query('BEGIN');
    await c.query(
      `INSERT INTO telemetry (device_id, enqueued_at, component, body, content_type, system_properties, properties, field_names)
       SELECT dev.id, ${iso(`${start} + m * 60`)}, NULL, convert_to('{"temp":' || ${temp} || '}', 'UTF8'),
         'application/json', '{}', '{}', '["temp"]'::jsonb
       FROM generate_series(${m0}, ${m1}) m CROSS JOIN dev ORDER BY m, dev.d`,
    );
    await c.query(
      `INSERT INTO telemetry_rollup_minute
       SELECT dev.id, '', 'temp', ${start} + m * 60, 1, ${temp}, ${temp}, ${temp}, ${temp}, ${iso(`${start} + m * 60`)},
         ${temp}, ${iso(`${start} + m * 60`)}
       FROM generate_series(${m0}, ${m1}) m CROSS JOIN dev ORDER BY m, dev.d`,
    );
    await c.query(
      `INSERT INTO telemetry_rollup_hour
       SELECT device_id, component, name, (bucket / 3600) * 3600, sum(n), sum(sum_value), min(min_value), max(max_value),
         (array_agg(first_value ORDER BY first_time))[1], min(first_time),
         (array_agg(last_value ORDER BY last_time DESC))[1], max(last_time)
       FROM telemetry_rollup_minute WHERE bucket >= $1 AND bucket < $2
       GROUP BY device_id, component, name, bucket / 3600`,
      [start + m0 * 60, start + (m1 + 1) * 60],
    );
    await c.query('COMMIT');
    process.stdout.write(
      `\rPostgreSQL: day ${day + 1}/${DAYS} generated (${Math.round((Date.now() - began) / 1000)} s)`,
    );
  }
  process.stdout.write('\n');
  await c.query('VACUUM ANALYZE');
  const meta: Meta = {
    devices: DEVICES,
    days: DAYS,
    startMs,
    endMs,
    rows: DEVICES * DAYS * 1440,
    generateSeconds: Math.round((Date.now() - began) / 1000),
  };
  await c.query("INSERT INTO settings (key, value) VALUES ('bench:meta', $1)", [JSON.stringify(meta)]);
  await c.end();
  return { url, meta };
}

// ---------------------------------------------------------------- measuring

interface Case {
  name: string;
  devices: string[];
  fromMs: number;
  toMs: number;
  interval?: string;
  /** The HTTP route measured end to end. */
  path: string;
}

interface Timing {
  runs: number;
  p50: number;
  p99: number;
}

async function time(run: () => Promise<unknown>): Promise<Timing> {
  const samples: number[] = [];
  const began = Date.now();
  await run(); // warm-up: statement preparation, first page reads
  while (samples.length < RUNS && (samples.length < 2 || Date.now() - began < BUDGET_MS)) {
    const t0 = performance.now();
    await run();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return { runs: samples.length, p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

/** The store's work for one series: every piece the service plans, or one raw piece. */
async function storeSeries(store: Store, c: Case, source: 'raw' | 'rollups'): Promise<number> {
  const params = parseSeriesParams(
    {
      from: new Date(c.fromMs).toISOString(),
      to: new Date(c.toMs).toISOString(),
      ...(c.interval ? { interval: c.interval } : {}),
    },
    new Date(c.toMs),
  );
  const base = {
    deviceIds: c.devices,
    component: '',
    name: 'temp',
    intervalS: params.intervalS,
    aggregation: 'avg' as const,
  };
  const pieces: SeriesPieceQuery[] =
    source === 'raw'
      ? [{ ...base, source: 'raw', fromMs: params.fromMs, toMs: params.toMs }]
      : planPieces(params).pieces.map((p) => ({ ...base, ...p }));
  let rows = 0;
  for (const piece of pieces) rows += (await store.telemetry.seriesPartials(piece)).length;
  return rows;
}

async function prepareServer(serve: ServeProcess, devices: number): Promise<void> {
  const api = (method: string, path: string, body: unknown) =>
    fetch(`http://127.0.0.1:${serve.httpPort}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then((r) => (r.ok ? r.text() : Promise.reject(new Error(`${path}: ${r.status}`))));
  await api('PUT', `/api/deviceTemplates/${encodeURIComponent(TEMPLATE)}`, {
    '@id': 'dtmi:bench:SensorModel;1',
    '@type': 'Interface',
    '@context': 'dtmi:dtdl:context;2',
    displayName: 'Bench sensor',
    contents: [{ '@type': 'Telemetry', name: 'temp', schema: 'double' }],
  });
  for (let i = 0; i < devices; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, devices - i) }, (_, k) =>
        api('PUT', `/api/devices/${deviceId(i + k)}`, { displayName: deviceId(i + k), template: TEMPLATE }),
      ),
    );
  }
}

async function measure(
  kind: string,
  open: () => Promise<Store>,
  serve: { dataDir: string; args: string[] },
  meta: Meta,
): Promise<unknown[]> {
  const store = await open();
  // "Now" is the end of the data, a little after a whole minute like a real request.
  const to = meta.endMs - 17_345;
  const all = Array.from({ length: meta.devices }, (_, i) => deviceId(i));
  const one = [deviceId(Math.floor(meta.devices / 2))];
  const q = (from: number, interval?: string) =>
    `from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}${interval ? `&interval=${interval}` : ''}`;
  const month = to - Math.min(30, meta.days) * DAY_MS;
  const hour = to - 3_600_000;
  const T = encodeURIComponent(TEMPLATE);
  const cases: Case[] = [
    {
      name: `1 device, ${Math.min(30, meta.days)} days`,
      devices: one,
      fromMs: month,
      toMs: to,
      path: `/api/devices/${one[0]}/telemetry/temp/series?${q(month)}`,
    },
    {
      name: '1 device, 1 hour (PT1M)',
      devices: one,
      fromMs: hour,
      toMs: to,
      interval: 'PT1M',
      path: `/api/devices/${one[0]}/telemetry/temp/series?${q(hour, 'PT1M')}`,
    },
    {
      name: `${meta.devices} devices, ${Math.min(30, meta.days)} days`,
      devices: all,
      fromMs: month,
      toMs: to,
      path: `/api/deviceTemplates/${T}/telemetry/temp/series?${q(month)}`,
    },
    {
      name: `${meta.devices} devices, 1 hour (PT1M)`,
      devices: all,
      fromMs: hour,
      toMs: to,
      interval: 'PT1M',
      path: `/api/deviceTemplates/${T}/telemetry/temp/series?${q(hour, 'PT1M')}`,
    },
  ];
  const results: unknown[] = [];
  console.log(
    `\n${kind}: ${meta.devices} devices × ${meta.days} days × 1/min = ${(meta.rows / 1e6).toFixed(1)} M messages (generated in ${meta.generateSeconds} s)`,
  );
  console.log(
    'case                              | raw p50 / p99 ms (runs)   | rollups p50 / p99 ms (runs) | rollup/raw p99',
  );
  for (const c of cases) {
    const raw = await time(() => storeSeries(store, c, 'raw'));
    const rollups = await time(() => storeSeries(store, c, 'rollups'));
    const ratio = rollups.p99 / raw.p99;
    console.log(`${c.name.padEnd(33)} | ${fmt(raw)} | ${fmt(rollups)}   | ${ratio.toFixed(4)}`);
    results.push({ store: kind, case: c.name, raw, rollups, ratio });
  }
  await store.close();
  // Retention off in effect: the data set is kept between runs.
  const server = await startServe(serve.dataDir, TOKEN, ['--retention-days', '3650', ...serve.args]);
  try {
    await prepareServer(server, meta.devices);
    console.log(
      'HTTP route (auto source; a template answers its first 100 devices) | p50 / p99 ms (runs) | source',
    );
    // The cost of any authenticated request on this machine now, to read the others against.
    const baseline = await time(async () => {
      const r = await fetch(`http://127.0.0.1:${server.httpPort}/api/devices/${one[0]}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      await r.text();
    });
    console.log(`  ${'baseline: GET /api/devices/{id}'.padEnd(33)} | ${fmt(baseline)} |`);
    results.push({ store: kind, case: 'HTTP baseline GET /api/devices/{id}', http: baseline });
    for (const c of cases) {
      let source = '';
      const http = await time(async () => {
        const r = await fetch(`http://127.0.0.1:${server.httpPort}${c.path}`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        const body = (await r.json()) as { source: string };
        if (!r.ok) throw new Error(`${c.path}: ${r.status} ${JSON.stringify(body)}`);
        source = body.source;
      });
      console.log(`  ${c.name.padEnd(33)} | ${fmt(http)} | ${source}`);
      results.push({ store: kind, case: `HTTP ${c.name}`, http, source });
    }
  } finally {
    await server.stop();
  }
  return results;
}

function fmt(t: Timing): string {
  return `${t.p50.toFixed(1).padStart(9)} / ${t.p99.toFixed(1).padStart(9)} (${String(t.runs).padStart(2)})`;
}

const results: unknown[] = [];
console.log(
  `series benchmark: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average ${loadavg()[0]!.toFixed(1)} at start; runs ${RUNS}, budget ${BUDGET_MS} ms a case`,
);
for (const kind of STORES) {
  if (kind === 'sqlite') {
    const { dataDir, meta } = await sqliteDataSet();
    results.push(...(await measure('sqlite', () => openStore({ dataDir }), { dataDir, args: [] }, meta)));
  } else if (kind === 'postgres') {
    const { url, meta } = await postgresDataSet();
    results.push(
      ...(await measure(
        'postgres',
        () => openStore({ dataDir: '/nonexistent', databaseUrl: url }),
        {
          dataDir: join(ROOT, 'bench-data', `serve-postgres-${DEVICES}x${DAYS}`),
          args: ['--database-url', url],
        },
        meta,
      )),
    );
  } else throw new Error(`--store sqlite, postgres or both, not '${kind}'`);
}
console.log(JSON.stringify({ bench: 'series', devices: DEVICES, days: DAYS, results }));
