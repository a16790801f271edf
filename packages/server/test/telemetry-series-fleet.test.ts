/**
 * Series of many devices and CSV answers (README "Telemetry series"): a device group's and a
 * template's devices, capped at the first 100 by ID; a field the template declares as text;
 * CSV of a series and of the message history, with its header, file name and row cap.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { openStore, type Store } from '../src/store/open-store.js';
import { modelWith, telemetry } from './helpers/dtdl-fixtures.js';
import { bruteForce, DAY_MS, generate, toInput, type Bucket, type Sent } from './helpers/series-data.js';
import { expectSeriesError } from './helpers/series-suite.js';
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from './helpers/test-server.js';

const TEMPLATE = 'dtmi:test:Series;1';
const T = encodeURIComponent(TEMPLATE);
/** The CSV row cap of this server: small, so a test can reach it. */
const CSV_CAP = 50;
const iso = (ms: number) => new Date(ms).toISOString();

interface FleetAnswer {
  from: string;
  to: string;
  interval: string;
  aggregation: string;
  source: string;
  value: Array<{ deviceId: string; value: Bucket[] }>;
  truncated: boolean;
}

/** RFC 4180: quoted cells may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  assert.equal(cell + row.join(''), '', 'the CSV ends with CRLF');
  return rows;
}

describe('telemetry series of groups and templates, and CSV', () => {
  let server: TestServer;
  let store: Store;
  let dataDir: string;
  let sent: Sent[];
  let start: number;
  const withData = ['f-000', 'f-001', 'f-050', 'f-099', 'f-100'];
  const all = Array.from({ length: 105 }, (_, i) => `f-${String(i).padStart(3, '0')}`);

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-series-fleet-'));
    store = await openStore({ dataDir });
    start = Math.floor(Date.now() / DAY_MS) * DAY_MS - 2 * DAY_MS;
    const generated = generate(withData, start, 1, 11);
    sent = generated.sent;
    for (const batch of generated.batches) await store.telemetry.appendBatch(batch);
    // A text body with a quote, a comma and a line break, for the CSV of the history.
    const text = { deviceId: 'f-000', component: '', timeMs: start + 3_600_000 + 1, body: {} };
    await store.telemetry.appendBatch([{ ...toInput(text), body: Buffer.from('say "hi",\nthen bye') }]);
    server = await startTestServer({ dataDir, csvMaxRows: CSV_CAP });
    const model = modelWith({
      '@id': 'dtmi:test:SeriesModel;1',
      contents: [telemetry('temp', 'double'), telemetry('count', 'integer'), telemetry('status', 'string')],
    });
    const put = await server.api('PUT', `/api/deviceTemplates/${T}`, model);
    assert.equal(put.status, 200, JSON.stringify(put.body));
    for (const id of all) {
      const res = await server.api('PUT', `/api/devices/${id}`, { displayName: id, template: TEMPLATE });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    const group = await server.api('PUT', '/api/deviceGroups/first-ten', {
      displayName: 'First ten',
      filter: 'SELECT * FROM devices WHERE STARTS_WITH($id, "f-00")',
    });
    assert.equal(group.status, 200, JSON.stringify(group.body));
    const everyone = await server.api('PUT', '/api/deviceGroups/all', {
      displayName: 'All',
      filter: `SELECT * FROM devices WHERE $template = "${TEMPLATE}"`,
    });
    assert.equal(everyone.status, 200, JSON.stringify(everyone.body));
  });
  after(async () => {
    await server?.stop();
    await store?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const window = () => ({ from: start + 1_234, to: start + DAY_MS - 5_000 });
  const expected = (deviceId: string, aggregation: 'avg' | 'max' | 'count', intervalS: number) =>
    bruteForce(sent, {
      deviceId,
      name: 'temp',
      fromMs: window().from,
      toMs: window().to,
      intervalS,
      aggregation,
    });

  it('a template series: one series per device, the first 100 by ID, truncated', async () => {
    const { from, to } = window();
    const res = await server.api<FleetAnswer>(
      'GET',
      `/api/deviceTemplates/${T}/telemetry/temp/series?from=${iso(from)}&to=${iso(to)}&interval=PT1H&aggregation=max`,
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.truncated, true);
    assert.deepEqual(
      res.body.value.map((d) => d.deviceId),
      all.slice(0, 100),
    );
    assert.equal(res.body.source, 'minute');
    for (const d of res.body.value) {
      const want = withData.includes(d.deviceId) ? expected(d.deviceId, 'max', 3600) : [];
      assert.deepEqual(d.value, want, d.deviceId);
    }
    assert.ok(res.body.value[0]!.value.length > 10);
    assert.deepEqual(Object.keys(res.body).sort(), [
      'aggregation',
      'from',
      'interval',
      'source',
      'to',
      'truncated',
      'value',
    ]);
  });

  it("a group series: the group's devices; not truncated under 100, truncated over", async () => {
    const { from, to } = window();
    const q = `from=${iso(from)}&to=${iso(to)}&interval=PT30M&aggregation=avg`;
    const small = await server.api<FleetAnswer>(
      'GET',
      `/api/deviceGroups/first-ten/telemetry/temp/series?${q}`,
    );
    assert.equal(small.status, 200, JSON.stringify(small.body));
    assert.equal(small.body.truncated, false);
    assert.deepEqual(
      small.body.value.map((d) => d.deviceId),
      all.slice(0, 10),
    );
    assert.deepEqual(small.body.value[0]!.value, expected('f-000', 'avg', 1800));
    assert.deepEqual(small.body.value[1]!.value, expected('f-001', 'avg', 1800));
    assert.deepEqual(small.body.value[2]!.value, []);
    const big = await server.api<FleetAnswer>('GET', `/api/deviceGroups/all/telemetry/temp/series?${q}`);
    assert.equal(big.body.truncated, true);
    assert.equal(big.body.value.length, 100);
    assert.deepEqual(big.body.value.at(-1), { deviceId: 'f-099', value: expected('f-099', 'avg', 1800) });
    const missing = await server.api<{ error: { code: string } }>(
      'GET',
      '/api/deviceGroups/nope/telemetry/temp/series',
    );
    assert.equal(missing.status, 404);
  });

  it('bad input of group and template series is a 400 naming the parameter', async () => {
    for (const base of [`/api/deviceTemplates/${T}`, '/api/deviceGroups/all']) {
      await expectSeriesError(server, `${base}/telemetry/temp/series?aggregation=mean`, /'aggregation'/);
      await expectSeriesError(
        server,
        `${base}/telemetry/temp/series?interval=PT1S&from=${iso(start)}&to=${iso(start + DAY_MS)}`,
        /'interval'/,
      );
      await expectSeriesError(
        server,
        `${base}/telemetry/temp/series?from=${iso(start + DAY_MS)}&to=${iso(start)}`,
        /'from'/,
      );
    }
    // The template declares status a string: no average of it, for the template or a device of it.
    await expectSeriesError(
      server,
      `/api/deviceTemplates/${T}/telemetry/status/series?aggregation=sum`,
      /'aggregation' sum needs numbers, and the device template declares 'status' as string/,
    );
    await expectSeriesError(
      server,
      '/api/devices/f-003/telemetry/status/series?aggregation=avg',
      /the device template declares 'status' as string/,
    );
    const counted = await server.api<FleetAnswer>(
      'GET',
      `/api/deviceTemplates/${T}/telemetry/status/series?aggregation=count`,
    );
    assert.equal(counted.status, 200);
  });

  it('CSV of a device series: time,value,count, the file name, and the same numbers as JSON', async () => {
    const { from, to } = window();
    const q = `from=${iso(from)}&to=${iso(to)}&interval=PT1H&aggregation=avg`;
    const res = await fetch(`${server.baseUrl}/api/devices/f-000/telemetry/temp/series?${q}&format=csv`, {
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/csv; charset=utf-8');
    const day = iso(start).slice(0, 10).replaceAll('-', '');
    assert.equal(
      res.headers.get('content-disposition'),
      `attachment; filename="f-000-temp-${day}T000001Z-${day}T235955Z.csv"`,
    );
    const rows = parseCsv(await res.text());
    assert.deepEqual(rows[0], ['time', 'value', 'count']);
    const want = expected('f-000', 'avg', 3600);
    assert.ok(want.length > 10 && want.length < CSV_CAP);
    assert.deepEqual(
      rows.slice(1),
      want.map((b) => [b.time, String(b.value), String(b.count)]),
    );
  });

  it('CSV of a template series: deviceId,time,value,count, cut at the row cap with a last line', async () => {
    const { from, to } = window();
    const res = await fetch(
      `${server.baseUrl}/api/deviceTemplates/${T}/telemetry/temp/series?from=${iso(from)}&to=${iso(to)}&interval=PT1H&aggregation=count&format=csv`,
      { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } },
    );
    assert.equal(res.status, 200);
    const text = await res.text();
    const lines = text.split('\r\n');
    assert.equal(lines[0], 'deviceId,time,value,count');
    assert.equal(lines.length, 1 + CSV_CAP + 2, 'header, the cap, the truncation line, the empty end');
    assert.equal(lines.at(-2), `# truncated at ${CSV_CAP} rows`);
    const rows = withData.flatMap((id) =>
      expected(id, 'count', 3600).map((b) => `${id},${b.time},${b.count},${b.count}`),
    );
    assert.deepEqual(lines.slice(1, 1 + CSV_CAP), rows.slice(0, CSV_CAP));
    assert.match(
      String(res.headers.get('content-disposition')),
      /^attachment; filename="dtmi_test_Series_1-temp-/,
    );
  });

  it('CSV of the message history: enqueuedTime,component,body with the body as one quoted cell', async () => {
    const from = start + 3_600_000 - 1;
    const to = start + 3_600_000 + 20 * 60_000;
    const res = await fetch(
      `${server.baseUrl}/api/devices/f-000/telemetry?from=${iso(from)}&to=${iso(to)}&format=csv`,
      { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } },
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.match(
      String(res.headers.get('content-disposition')),
      /^attachment; filename="f-000-telemetry-\d{8}T\d{6}Z-\d{8}T\d{6}Z\.csv"$/,
    );
    const text = await res.text();
    const rows = parseCsv(text);
    assert.deepEqual(rows[0], ['enqueuedTime', 'component', 'body']);
    const want = sent
      .filter((m) => m.deviceId === 'f-000' && m.timeMs >= from && m.timeMs < to)
      .sort((a, b) => a.timeMs - b.timeMs || a.seq - b.seq)
      .map((m) => [iso(m.timeMs), m.component, JSON.stringify(m.body)]);
    want.splice(
      want.findIndex((r) => r[0]! > iso(start + 3_600_000 + 1)),
      0,
      [iso(start + 3_600_000 + 1), '', 'say "hi",\nthen bye'],
    );
    assert.ok(want.length > 3 && want.length < CSV_CAP);
    assert.deepEqual(rows.slice(1), want);
    assert.match(text, /,"say ""hi"",\nthen bye"\r\n/);
    assert.match(text, /,"\{""temp"":/);
  });

  it('CSV of the message history stops at the row cap with a last line; bad input is refused', async () => {
    const res = await fetch(`${server.baseUrl}/api/devices/f-001/telemetry?format=csv`, {
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    });
    const lines = (await res.text()).split('\r\n');
    assert.equal(lines.length, 1 + CSV_CAP + 2);
    assert.equal(lines.at(-2), `# truncated at ${CSV_CAP} rows`);
    const firstSent = sent
      .filter((m) => m.deviceId === 'f-001')
      .sort((a, b) => a.timeMs - b.timeMs || a.seq - b.seq)[0]!;
    assert.ok(lines[1]!.startsWith(`${iso(firstSent.timeMs)},`));
    const bad = await server.api<{ error: { code: string; message: string } }>(
      'GET',
      '/api/devices/f-001/telemetry?format=xml',
    );
    assert.equal(bad.status, 422);
    assert.match(bad.body.error.message, /'format'/);
    const unknown = await server.api('GET', '/api/devices/nobody/telemetry?format=csv');
    assert.equal(unknown.status, 404);
  });
});
