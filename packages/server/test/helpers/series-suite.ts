/**
 * The device series suite, run on SQLite and on PostgreSQL (telemetry-series-*.test.ts): a
 * real server over a store filled with generated history, every answer compared with the
 * brute force of series-data.ts, and the rollups compared with the raw aggregation.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';

import { AGGREGATIONS, type Aggregation } from '../../src/hub/telemetry-series-query.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import { bruteForce, DAY_MS, generate, toInput, type Bucket, type Sent } from './series-data.js';
import { startTestServer, type TestServer } from './test-server.js';

export interface SeriesAnswer {
  deviceId: string;
  name: string;
  component?: string;
  from: string;
  to: string;
  interval: string;
  aggregation: string;
  source: string;
  value: Bucket[];
}

export interface SeriesContext {
  server: TestServer;
  store: Store;
  sent: Sent[];
  startMs: number;
}

/** Starts the server on generated data before the suite's tests; `databaseUrl` picks PostgreSQL. */
export function seriesFixture(databaseUrl: () => string | undefined, devices = ['d1']): SeriesContext {
  const ctx = {} as SeriesContext;
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-series-'));
    const url = databaseUrl();
    ctx.store = await openStore({ dataDir, ...(url ? { databaseUrl: url } : {}) });
    // Four whole days ending at today's midnight (UTC): inside raw retention.
    ctx.startMs = Math.floor(Date.now() / DAY_MS) * DAY_MS - 4 * DAY_MS;
    const { batches, sent } = generate(devices, ctx.startMs, 3);
    ctx.sent = sent;
    for (const batch of batches) await ctx.store.telemetry.appendBatch(batch);
    ctx.server = await startTestServer({ dataDir, ...(url ? { databaseUrl: url } : {}) });
    for (const id of devices) {
      const put = await ctx.server.api('PUT', `/api/devices/${id}`, { displayName: id });
      assert.equal(put.status, 200, JSON.stringify(put.body));
    }
  });
  after(async () => {
    await ctx.server?.stop();
    await ctx.store?.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return ctx;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function defineDeviceSeriesSuite(databaseUrl: () => string | undefined): void {
  const ctx = seriesFixture(databaseUrl);
  const H = 3_600_000;

  async function series(path: string): Promise<SeriesAnswer> {
    const res = await ctx.server.api<SeriesAnswer>('GET', path);
    assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  it('every aggregation from hour rollups, minute rollups and raw messages equals the brute force', async () => {
    const s = ctx.startMs;
    const windows: Array<{ from: number; to: number; interval: string; intervalS: number; source: string }> =
      [
        // Three days by the hour: hour rollups, edges from minutes and raw (from/to not aligned).
        { from: s + 7_250, to: s + 3 * DAY_MS - 61_001, interval: 'PT1H', intervalS: 3600, source: 'hour' },
        { from: s, to: s + 3 * DAY_MS, interval: 'P1D', intervalS: 86_400, source: 'hour' },
        {
          from: s + 5 * H + 13_500,
          to: s + 40 * H + 59_999,
          interval: 'PT5M',
          intervalS: 300,
          source: 'minute',
        },
        { from: s + 20 * H, to: s + 22 * H, interval: 'PT1M', intervalS: 60, source: 'minute' },
        { from: s + 10 * H + 1234, to: s + 12 * H, interval: 'PT10S', intervalS: 10, source: 'raw' },
        { from: s + 50 * H, to: s + 60 * H, interval: 'PT90S', intervalS: 90, source: 'raw' },
      ];
    for (const w of windows) {
      for (const aggregation of AGGREGATIONS) {
        const path = `/api/devices/d1/telemetry/temp/series?from=${iso(w.from)}&to=${iso(w.to)}&interval=${w.interval}&aggregation=${aggregation}`;
        const answer = await series(path);
        const expected = bruteForce(ctx.sent, {
          deviceId: 'd1',
          name: 'temp',
          fromMs: w.from,
          toMs: w.to,
          intervalS: w.intervalS,
          aggregation,
        });
        assert.ok(expected.length > 0, 'the window has data');
        assert.deepEqual(answer.value, expected, path);
        assert.equal(answer.source, w.source, path);
        // The answer names the interval in its normal form (PT90S is PT1M30S).
        assert.equal(answer.interval, w.interval === 'PT90S' ? 'PT1M30S' : w.interval);
        assert.deepEqual([answer.deviceId, answer.name, answer.aggregation], ['d1', 'temp', aggregation]);
        assert.deepEqual([answer.from, answer.to], [iso(w.from), iso(w.to)]);
        assert.equal(answer.component, undefined);
      }
    }
  });

  it('buckets are UTC multiples of the interval since the epoch, whatever the offset of from/to', async () => {
    const s = ctx.startMs;
    // 12:00 at +05:30 is 06:30Z: six-hour buckets still start at 00, 06, 12, 18 UTC.
    const day = iso(s + DAY_MS).slice(0, 10);
    const answer = await series(
      `/api/devices/d1/telemetry/count/series?from=${day}T12:00:00%2B05:30&to=${day}T23:59:00Z&interval=PT6H&aggregation=sum`,
    );
    assert.equal(answer.from, `${day}T06:30:00.000Z`);
    assert.deepEqual(
      answer.value.map((b) => b.time.slice(11)),
      ['06:00:00.000Z', '12:00:00.000Z', '18:00:00.000Z'],
    );
    const expected = bruteForce(ctx.sent, {
      deviceId: 'd1',
      name: 'count',
      fromMs: Date.parse(`${day}T06:30:00Z`),
      toMs: Date.parse(`${day}T23:59:00Z`),
      intervalS: 6 * 3600,
      aggregation: 'sum',
    });
    assert.deepEqual(answer.value, expected);
    // Without an offset a date-time is UTC too.
    const bare = await series(
      `/api/devices/d1/telemetry/count/series?from=${day}T06:30:00&to=${day}T23:59:00&interval=PT6H&aggregation=sum`,
    );
    assert.deepEqual(bare.value, expected);
  });

  it('component series (in the path or as a query parameter) hold only that component', async () => {
    const from = ctx.startMs + 3_600_000;
    const to = ctx.startMs + 2 * DAY_MS + 1_000;
    for (const aggregation of ['avg', 'last', 'count'] as Aggregation[]) {
      const expected = bruteForce(ctx.sent, {
        deviceId: 'd1',
        component: 'thermostat1',
        name: 'temp',
        fromMs: from,
        toMs: to,
        intervalS: 1800,
        aggregation,
      });
      assert.ok(expected.length > 10);
      const q = `from=${iso(from)}&to=${iso(to)}&interval=PT30M&aggregation=${aggregation}`;
      const inPath = await series(`/api/devices/d1/components/thermostat1/telemetry/temp/series?${q}`);
      const inQuery = await series(`/api/devices/d1/telemetry/temp/series?${q}&component=thermostat1`);
      assert.deepEqual(inPath.value, expected);
      assert.equal(inPath.component, 'thermostat1');
      assert.deepEqual(inQuery, inPath);
    }
  });

  it('defaults: the last hour until now, avg, the smallest interval giving at most 1,000 buckets', async () => {
    const before = Date.now();
    const answer = await series('/api/devices/d1/telemetry/temp/series');
    const to = Date.parse(answer.to);
    assert.ok(to >= before - 1000 && to <= Date.now() + 1000);
    assert.equal(Date.parse(answer.from), to - 3_600_000);
    assert.equal(answer.aggregation, 'avg');
    assert.equal(answer.interval, 'PT5S');
    assert.deepEqual(answer.value, []);
    const month = await series(
      `/api/devices/d1/telemetry/temp/series?from=${iso(ctx.startMs)}&to=${iso(ctx.startMs + 30 * DAY_MS)}`,
    );
    assert.equal(month.interval, 'PT1H');
    assert.equal(month.source, 'hour');
    const week = await series(
      `/api/devices/d1/telemetry/temp/series?from=${iso(ctx.startMs)}&to=${iso(ctx.startMs + 7 * DAY_MS)}`,
    );
    assert.equal(week.interval, 'PT30M');
    assert.equal(week.source, 'minute');
  });

  it('rollups give exactly the raw aggregation, for every aggregation and both levels', async () => {
    const partials = (source: 'raw' | 'minute' | 'hour', aggregation: Aggregation, component: string) =>
      ctx.store.telemetry
        .seriesPartials({
          deviceIds: ['d1'],
          component,
          name: 'temp',
          intervalS: 3 * 3600,
          aggregation,
          source,
          fromMs: ctx.startMs,
          toMs: ctx.startMs + 3 * DAY_MS,
        })
        .then((rows) => rows.sort((a, b) => a.bucket - b.bucket));
    for (const component of ['', 'thermostat1']) {
      for (const aggregation of AGGREGATIONS) {
        const raw = await partials('raw', aggregation, component);
        assert.ok(raw.length >= 20);
        assert.deepEqual(await partials('minute', aggregation, component), raw, `minute ${aggregation}`);
        assert.deepEqual(await partials('hour', aggregation, component), raw, `hour ${aggregation}`);
      }
    }
  });

  it('bad input is a 400 ERR_SERIES_INVALID naming the parameter, and changes nothing', async () => {
    const to = iso(ctx.startMs + DAY_MS);
    const base = '/api/devices/d1/telemetry/temp/series';
    const cases: Array<[string, RegExp]> = [
      [`?from=${iso(ctx.startMs + 2 * DAY_MS)}&to=${to}`, /'from'.*after 'to'/],
      [`?from=${iso(ctx.startMs + DAY_MS - 401 * DAY_MS)}&to=${to}&interval=P1D`, /'from' to 'to'.*400 days/],
      [`?aggregation=median`, /'aggregation'.*median/],
      [`?aggregation=AVG`, /'aggregation'/],
      [`?from=${iso(ctx.startMs)}&to=${to}&interval=PT1S`, /'interval' PT1S is too small.*86400 buckets/],
      [`?from=${iso(ctx.startMs)}&to=${to}&interval=PT1M`, /'interval' PT1M is too small.*1440 buckets/],
      ['?interval=5m', /'interval'.*ISO 8601/],
      ['?interval=PT1.5S', /'interval'.*ISO 8601/],
      ['?interval=P1M', /'interval'.*ISO 8601/],
      ['?interval=PT', /'interval'.*ISO 8601/],
      ['?interval=PT0S', /'interval'.*from 1 second/],
      ['?from=yesterday', /'from'.*ISO 8601/],
      ['?to=2024-13-45T00:00:00Z', /'to'.*ISO 8601/],
      ['?format=xml', /'format'.*xml/],
    ];
    for (const [query, message] of cases) await expectSeriesError(ctx.server, base + query, message);
    // A field only ever sent as text: no average of it (count/first/last answer, empty).
    const window = `from=${iso(ctx.startMs)}&to=${iso(ctx.startMs + 3 * DAY_MS)}`;
    for (const aggregation of ['avg', 'sum', 'min', 'max']) {
      await expectSeriesError(
        ctx.server,
        `/api/devices/d1/telemetry/status/series?${window}&aggregation=${aggregation}`,
        new RegExp(`'aggregation' ${aggregation} needs numbers, and 'status' was never sent as a number`),
      );
    }
    assert.deepEqual(
      (await series(`/api/devices/d1/telemetry/status/series?${window}&aggregation=count`)).value,
      [],
    );
    // A field never sent: an empty series, not an error.
    assert.deepEqual((await series(`/api/devices/d1/telemetry/pressure/series?${window}`)).value, []);
    await expectSeriesError(ctx.server, '/api/devices/d1/telemetry/a%22b/series', /'name'/);
    const repeated = await ctx.server.api('GET', `${base}?aggregation=min&aggregation=max`);
    assert.equal(repeated.status, 400);
    const unknown = await ctx.server.api<{ error: { code: string } }>(
      'GET',
      '/api/devices/nobody/telemetry/temp/series',
    );
    assert.deepEqual([unknown.status, unknown.body.error.code], [404, 'ERR_DEVICE_NOT_FOUND']);
    const component = await ctx.server.api<{ error: { code: string; message: string } }>(
      'GET',
      '/api/devices/d1/components/1bad/telemetry/temp/series',
    );
    assert.deepEqual([component.status, component.body.error.code], [400, 'ERR_INVALID_ID']);
    assert.match(component.body.error.message, /component/);
  });

  it('a late message updates its minute and hour at once', async () => {
    const at = ctx.startMs + 26 * 3_600_000 + 17_000;
    const late = { deviceId: 'd1', component: '', timeMs: at, body: { temp: 1000.25 } };
    await ctx.store.telemetry.appendBatch([toInput(late)]);
    ctx.sent.push({ ...late, seq: ctx.sent.length });
    const from = ctx.startMs;
    const to = ctx.startMs + 3 * DAY_MS;
    for (const aggregation of ['max', 'last', 'sum'] as Aggregation[]) {
      const answer = await series(
        `/api/devices/d1/telemetry/temp/series?from=${iso(from)}&to=${iso(to)}&interval=PT1H&aggregation=${aggregation}`,
      );
      assert.equal(answer.source, 'hour');
      const expected = bruteForce(ctx.sent, {
        deviceId: 'd1',
        name: 'temp',
        fromMs: from,
        toMs: to,
        intervalS: 3600,
        aggregation,
      });
      assert.deepEqual(answer.value, expected);
    }
    const max = await series(
      `/api/devices/d1/telemetry/temp/series?from=${iso(from)}&to=${iso(to)}&interval=PT1H&aggregation=max`,
    );
    assert.equal(max.value.find((b) => b.time === iso(ctx.startMs + 26 * 3_600_000))?.value, 1000.25);
  });
}

export async function expectSeriesError(server: TestServer, path: string, message: RegExp): Promise<void> {
  const res = await server.api<{ error: { code: string; message: string } }>('GET', path);
  assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.error.code, 'ERR_SERIES_INVALID', path);
  assert.match(res.body.error.message, message, path);
}
