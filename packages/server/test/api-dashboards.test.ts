/**
 * `/api/dashboards` over a real server (ui-contract §B): the `default` dashboard with its two
 * KPI tiles on a fresh start, PUT with tile validation that names the tile and field,
 * optimistic concurrency with the etag (body or If-Match), and persistence across a restart.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Kysely, SqliteDialect, type Driver } from 'kysely';
import { ROLE_IDS } from '../src/api/index.js';
import { DashboardService } from '../src/app/dashboards.js';
import type { Database } from '../src/store/schema.js';
import { openSqliteWithHandle, type SqliteStore } from '../src/store/sqlite.js';
import { apiHarness, expectError, type ApiHarness } from './helpers/api-harness.js';
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from './helpers/test-server.js';
import { expectApiError, userSession } from './helpers/users.js';

interface Tile {
  id: string;
  title: string;
  type: string;
  x: number;
  y: number;
  width: number;
  height: number;
  configuration: Record<string, unknown>;
}
interface Dashboard {
  id: string;
  displayName: string;
  etag: string;
  tiles: Tile[];
}

const chart = (id: string, x: number, y: number, width = 6, height = 4): Tile => ({
  id,
  title: `Chart ${id}`,
  type: 'lineChart',
  x,
  y,
  width,
  height,
  configuration: { devices: ['sensor-1'], telemetry: ['temp'], window: 'PT30M' },
});

describe('dashboards over REST', () => {
  let server: TestServer;
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-dashboards-'));
    server = await startTestServer({ dataDir });
  });
  after(async () => {
    await server?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('a fresh application has the default dashboard with two KPI tiles', async () => {
    const res = await server.api<Dashboard>('GET', '/api/dashboards/default');
    assert.equal(res.status, 200);
    assert.equal(res.body.id, 'default');
    assert.equal(res.body.displayName, 'Dashboard');
    assert.equal(typeof res.body.etag, 'string');
    assert.deepEqual(
      res.body.tiles.map((t) => [t.type, t.configuration['kpi']]),
      [
        ['kpi', 'devicesConnected'],
        ['kpi', 'messagesPerMinute'],
      ],
    );
    const list = await server.api<{ value: Dashboard[] }>('GET', '/api/dashboards');
    assert.deepEqual(list.body.value, [res.body]);
    expectApiError(await server.api('GET', '/api/dashboards/nope'), 404, 'ERR_DASHBOARD_NOT_FOUND');
    expectApiError(await server.api('GET', '/api/dashboards/bad.id'), 400, 'ERR_INVALID_ID');
  });

  it('PUT replaces the tiles with a new etag; a stale etag is 412, in the body or If-Match', async () => {
    const before = (await server.api<Dashboard>('GET', '/api/dashboards/default')).body;
    const tiles = [
      ...before.tiles,
      chart('temp', 0, 2),
      { ...chart('last', 6, 2, 3, 2), type: 'lastKnownValue', configuration: { telemetry: ['humid'] } },
      { ...chart('total', 9, 2, 3, 2), type: 'kpi', configuration: { kpi: 'devicesTotal' } },
    ];
    const put = await server.api<Dashboard>('PUT', '/api/dashboards/default', {
      displayName: 'Plant floor',
      tiles,
      etag: before.etag,
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.displayName, 'Plant floor');
    assert.deepEqual(put.body.tiles, tiles);
    assert.notEqual(put.body.etag, before.etag);

    expectApiError(
      await server.api('PUT', '/api/dashboards/default', {
        displayName: 'Stale',
        tiles: [],
        etag: before.etag,
      }),
      412,
      'ERR_ETAG_MISMATCH',
      /changed since you read it/,
    );
    const res = await fetch(`${server.baseUrl}/api/dashboards/default`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${TEST_ADMIN_TOKEN}`,
        'content-type': 'application/json',
        'if-match': before.etag,
      },
      body: JSON.stringify({ displayName: 'Stale', tiles: [] }),
    });
    assert.equal(res.status, 412);
    assert.equal(res.headers.get('x-ms-error-code'), 'ERR_ETAG_MISMATCH');
    // Nothing changed.
    assert.equal((await server.api<Dashboard>('GET', '/api/dashboards/default')).body.etag, put.body.etag);
    // `*` (and no etag at all) overwrite whatever is there.
    const star = await server.api<Dashboard>('PUT', '/api/dashboards/default', {
      displayName: 'Plant floor',
      tiles,
      etag: '*',
    });
    assert.equal(star.status, 200);
    assert.notEqual(star.body.etag, put.body.etag);
  });

  it('PUT creates another dashboard, kept across a restart', async () => {
    const put = await server.api<Dashboard>('PUT', '/api/dashboards/line-3', {
      displayName: 'Line 3',
      tiles: [chart('a', 0, 0), chart('b', 6, 0)],
    });
    assert.equal(put.status, 200);
    await server.close();
    server = await startTestServer({ dataDir });
    const got = await server.api<Dashboard>('GET', '/api/dashboards/line-3');
    assert.deepEqual(got.body, put.body);
    const list = await server.api<{ value: Dashboard[] }>('GET', '/api/dashboards');
    assert.deepEqual(
      list.body.value.map((d) => d.id),
      ['default', 'line-3'],
    );
    assert.equal(
      (await server.api<Dashboard>('GET', '/api/dashboards/default')).body.displayName,
      'Plant floor',
      'the default dashboard is not re-seeded over the saved one',
    );
  });

  it('refuses dashboards that break the rules, naming the tile and the field', async () => {
    const kpi = { ...chart('k', 0, 0, 3, 2), type: 'kpi', configuration: { kpi: 'devicesConnected' } };
    const cases: Array<[string, unknown, RegExp]> = [
      ['no displayName', { tiles: [] }, /'displayName' is required/],
      ['blank displayName', { displayName: '  ', tiles: [] }, /'displayName' is required/],
      ['no tiles', { displayName: 'D' }, /'tiles' is required/],
      ['tiles not an array', { displayName: 'D', tiles: {} }, /'tiles' is required/],
      [
        'too many tiles',
        {
          displayName: 'D',
          tiles: Array.from({ length: 101 }, (_, i) => chart(`t${i}`, 0, i * 4, 12)),
        },
        /101 tiles: a dashboard holds at most 100/,
      ],
      ['a tile not an object', { displayName: 'D', tiles: ['x'] }, /tiles\[0\] must be an object/],
      ['a bad tile id', { displayName: 'D', tiles: [{ ...kpi, id: 'a b' }] }, /tiles\[0\]\.id must be/],
      [
        'a duplicate tile id',
        { displayName: 'D', tiles: [kpi, { ...kpi, x: 6 }] },
        /tiles\[1\]: id 'k' is also the id of tiles\[0\]/,
      ],
      [
        'a bad tile type',
        { displayName: 'D', tiles: [{ ...kpi, type: 'pieChart' }] },
        /tiles\[0\] \(id 'k'\): type 'pieChart' is not one of lineChart, kpi, lastKnownValue/,
      ],
      [
        'a bad kpi',
        { displayName: 'D', tiles: [{ ...kpi, configuration: { kpi: 'uptime' } }] },
        /tiles\[0\] \(id 'k'\): configuration\.kpi 'uptime' is not one of devicesConnected, messagesPerMinute, devicesTotal/,
      ],
      [
        'a kpi tile without kpi',
        { displayName: 'D', tiles: [{ ...kpi, configuration: {} }] },
        /a kpi tile needs configuration\.kpi/,
      ],
      [
        'a chart without telemetry',
        { displayName: 'D', tiles: [{ ...chart('c', 0, 0), configuration: { devices: ['d'] } }] },
        /tiles\[0\] \(id 'c'\): a lineChart tile needs configuration\.telemetry/,
      ],
      [
        'a kpi on a chart',
        {
          displayName: 'D',
          tiles: [{ ...chart('c', 0, 0), configuration: { telemetry: ['t'], kpi: 'devicesTotal' } }],
        },
        /configuration\.kpi is only for kpi tiles/,
      ],
      [
        'a bad window',
        {
          displayName: 'D',
          tiles: [{ ...chart('c', 0, 0), configuration: { telemetry: ['t'], window: 'P1D' } }],
        },
        /configuration\.window 'P1D' is not one of PT5M, PT30M, PT1H, PT24H/,
      ],
      [
        'devices not names',
        {
          displayName: 'D',
          tiles: [{ ...chart('c', 0, 0), configuration: { telemetry: ['t'], devices: [1] } }],
        },
        /configuration\.devices\[0\] must be a non-empty string/,
      ],
      [
        'an unknown configuration field',
        { displayName: 'D', tiles: [{ ...kpi, configuration: { kpi: 'devicesTotal', colour: 'red' } }] },
        /configuration\.colour is not a configuration field/,
      ],
      ['an unknown tile field', { displayName: 'D', tiles: [{ ...kpi, z: 1 }] }, /'z' is not a tile field/],
      [
        'a negative x',
        { displayName: 'D', tiles: [{ ...kpi, x: -1 }] },
        /\(id 'k'\): x must be an integer from 0 to 11, not -1/,
      ],
      ['a negative y', { displayName: 'D', tiles: [{ ...kpi, y: -3 }] }, /y must be an integer from 0/],
      [
        'a zero width',
        { displayName: 'D', tiles: [{ ...kpi, width: 0 }] },
        /width must be an integer from 1 to 12/,
      ],
      [
        'a fractional height',
        { displayName: 'D', tiles: [{ ...kpi, height: 1.5 }] },
        /height must be an integer/,
      ],
      [
        'a string x',
        { displayName: 'D', tiles: [{ ...kpi, x: '1' }] },
        /x must be an integer from 0 to 11, not "1"/,
      ],
      [
        'past the grid',
        { displayName: 'D', tiles: [{ ...kpi, x: 10, width: 3 }] },
        /x \+ width is 13, past the 12 columns/,
      ],
      [
        'overlapping tiles',
        { displayName: 'D', tiles: [chart('a', 0, 0), chart('b', 4, 2)] },
        /tiles\[1\] \(id 'b'\) overlaps tiles\[0\] \(id 'a'\)/,
      ],
      [
        'a missing title',
        { displayName: 'D', tiles: [{ ...kpi, title: undefined }] },
        /title must be a string/,
      ],
      ['not an object', [1, 2], /JSON object/],
    ];
    for (const [what, body, message] of cases) {
      const res = await server.api('PUT', '/api/dashboards/invalid', body);
      assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.body)}`);
      expectApiError(res, 400, 'ERR_DASHBOARD_INVALID', message);
    }
    expectApiError(await server.api('GET', '/api/dashboards/invalid'), 404, 'ERR_DASHBOARD_NOT_FOUND');
    // Touching edges do not overlap.
    assert.equal(
      (
        await server.api('PUT', '/api/dashboards/edges', {
          displayName: 'E',
          tiles: [chart('a', 0, 0), chart('b', 6, 0), chart('c', 0, 4)],
        })
      ).status,
      200,
    );
  });

  it('an Operator reads dashboards but may not change them', async () => {
    const operator = await userSession(server, 'dash-operator', [ROLE_IDS.operator]);
    assert.equal((await server.api('GET', '/api/dashboards/default', undefined, operator)).status, 200);
    expectApiError(
      await server.api('PUT', '/api/dashboards/default', { displayName: 'Mine', tiles: [] }, operator),
      403,
      'ERR_FORBIDDEN',
    );
    const builder = await userSession(server, 'dash-builder', [ROLE_IDS.builder]);
    assert.equal(
      (await server.api('PUT', '/api/dashboards/builders', { displayName: 'Builders', tiles: [] }, builder))
        .status,
      200,
    );
  });
});

describe('dashboards: concurrent creation', () => {
  /**
   * A store whose every query takes a few milliseconds after it releases the connection (as a
   * networked database would): concurrent PUTs all read "no such dashboard" before any inserts.
   */
  class SlowSqliteDialect extends SqliteDialect {
    override createDriver(): Driver {
      const driver = super.createDriver();
      const release = driver.releaseConnection.bind(driver);
      driver.releaseConnection = async (connection) => {
        await release(connection);
        await delay(5);
      };
      return driver;
    }
  }

  let store: SqliteStore;
  let h: ApiHarness;
  before(async () => {
    store = await openSqliteWithHandle({ filename: ':memory:' });
    const slow = new Kysely<Database>({ dialect: new SlowSqliteDialect({ database: store.sqlite }) });
    h = await apiHarness({ dashboards: new DashboardService(slow) }, { store });
  });
  after(async () => {
    await h?.close();
    await store?.db.destroy();
  });

  it('one PUT creates the dashboard, the others are 412 (read it again), never 500', async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        h.call('PUT', '/api/dashboards/created-at-once', {
          displayName: `Version ${i}`,
          tiles: [chart('a', 0, 0)],
        }),
      ),
    );
    const statuses = answers.map((r) => r.statusCode);
    assert.equal(statuses.filter((s) => s === 200).length, 1, statuses.join(','));
    for (const r of answers.filter((x) => x.statusCode !== 200))
      expectError(r, 412, 'ERR_ETAG_MISMATCH', /'created-at-once' was created by another request/);
    const saved = (await h.call('GET', '/api/dashboards/created-at-once')).json<Dashboard>();
    const winner = answers.find((r) => r.statusCode === 200)?.json<Dashboard>();
    assert.deepEqual(saved, winner);
  });
});
