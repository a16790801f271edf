/**
 * The device list pages, filters and sorts in the database (hub/device-list.ts) with 100,000
 * generated devices, on SQLite and on PostgreSQL, over a real server's REST API: following
 * nextLink to the end gives every matching device once, in order, and each answer equals a
 * brute-force computation in memory (the in-memory list options of api/list-query.ts over the
 * same devices). Devices created and deleted between two pages neither repeat nor displace others
 * (keyset paging), and a token is only good for the order it came from.
 */
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import { after, before, describe, it } from 'node:test';

import type { Device } from '../src/hub/hub-api.js';
import { listAnswer } from '../src/api/list-query.js';
import { DEVICE_FIELDS } from '../src/api/routes/devices.js';
import { DEVICE_LIST_FIELDS } from '../src/hub/device-list.js';
import { insertFleet, type FleetDevice } from './helpers/device-fleet.js';
import { createTestDatabase, dropTestDatabase, postgresSkipReason } from './helpers/postgres.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const FLEET = 100_000;

/** A generated device as the list shows it (its status from the stored rows). */
function asDevice(d: FleetDevice): Device {
  return {
    id: d.id,
    etag: `"${d.id}"`,
    displayName: d.displayName,
    ...(d.template !== null ? { template: d.template } : {}),
    enabled: d.enabled,
    provisioned: d.provisioned,
    simulated: d.simulated,
    status: { connected: d.connected, lastActivity: d.lastActivity, lastConnected: d.lastActivity },
  };
}

/** The brute-force answer: the whole list filtered and sorted in memory. */
function expected(devices: Device[], options: { $filter?: string; $orderby?: string }): string[] {
  const query = {
    ...(options.$filter !== undefined ? { $filter: options.$filter } : {}),
    ...(options.$orderby !== undefined ? { $orderby: options.$orderby } : {}),
  };
  const request = { query, url: '/api/devices' } as unknown as FastifyRequest;
  return listAnswer(request, devices, DEVICE_FIELDS, { hostName: 'x', httpPort: 1 }).value.map((d) => d.id);
}

type Page = { value: Device[]; nextLink?: string };

/** The path and query of a nextLink (the test server answers on another address than its host name). */
function local(link: string | undefined): string {
  assert.ok(link !== undefined, 'a nextLink');
  const url = new URL(link);
  return url.pathname + url.search;
}

function defineFleetSuite(start: () => Promise<{ server: TestServer; cleanup: () => Promise<void> }>) {
  let server: TestServer;
  let cleanup: () => Promise<void>;
  let devices: Device[];

  before(async () => {
    ({ server, cleanup } = await start());
    devices = (await insertFleet(server.db, FLEET)).map(asDevice);
  });
  after(async () => cleanup?.());

  const get = async (path: string): Promise<Page> => {
    const res = await server.api<Page>('GET', path);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };

  /** Follows nextLink from `path` to the end; returns the IDs in order and the page count. */
  const walk = async (path: string, top: number): Promise<{ ids: string[]; pages: number }> => {
    const ids: string[] = [];
    let pages = 0;
    let next: string | undefined = path;
    while (next !== undefined) {
      const page = await get(next);
      pages++;
      assert.ok(page.value.length <= top, `a page holds at most ${top}`);
      if (page.nextLink !== undefined) assert.equal(page.value.length, top, 'only the last page is short');
      ids.push(...page.value.map((d) => d.id));
      next = page.nextLink === undefined ? undefined : local(page.nextLink);
    }
    return { ids, pages };
  };

  const q = (options: Record<string, string>) =>
    Object.entries(options)
      .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
      .join('&');

  it('pages through all 100,000 by nextLink without repeats or gaps', async () => {
    const { ids, pages } = await walk(`/api/devices?${q({ $top: '100' })}`, 100);
    assert.equal(pages, FLEET / 100);
    assert.equal(new Set(ids).size, FLEET, 'no repeats');
    assert.deepEqual(ids, expected(devices, {}), 'every device, by ID');
  });

  it('IoT Central page size: 25 with maxpagesize, the first page and its link', async () => {
    const page = await get(`/api/devices?${q({ maxpagesize: '25', orderby: 'displayName desc' })}`);
    assert.deepEqual(
      page.value.map((d) => d.id),
      expected(devices, { $orderby: 'displayName desc' }).slice(0, 25),
    );
    assert.ok(page.nextLink?.includes('%24skiptoken='), page.nextLink);
    const second = await get(local(page.nextLink));
    assert.deepEqual(
      second.value.map((d) => d.id),
      expected(devices, { $orderby: 'displayName desc' }).slice(25, 50),
    );
    // The devices are shown with their status.
    const one = page.value[0]!;
    assert.deepEqual(
      one,
      devices.find((d) => d.id === one.id),
    );
  });

  const cases: Array<{ $filter?: string; $orderby?: string }> = [
    { $filter: "startswith(displayName,'Kitchen') and enabled", $orderby: 'displayName' },
    { $filter: "contains(tolower(displayName),'shared')", $orderby: 'template desc, displayName' },
    { $filter: 'template eq null and provisioned eq false', $orderby: 'lastActivity desc' },
    { $filter: "connected and not (template eq 'dtmi:fleet:Meter;1')", $orderby: 'lastActivity' },
    {
      $filter: "endswith(displayName,'7') or indexof(displayName,'O''Brien') eq 0",
      $orderby: 'enabled desc, id desc',
    },
    { $filter: "lastActivity gt '2026-01-12' and simulated", $orderby: 'provisioned, connected desc' },
    { $filter: "not (template lt 'dtmi:fleet:M') and id ge 'fleet-090000'", $orderby: 'template' },
  ];
  for (const c of cases) {
    it(`filters and sorts like the brute force: ${c.$filter} / ${c.$orderby}`, async () => {
      const want = expected(devices, c);
      assert.ok(want.length > 100, `the case selects more than a page (${want.length})`);
      const { ids } = await walk(`/api/devices?${q({ ...c, $top: '100' })}`, 100);
      assert.deepEqual(ids, want);
    });
  }

  it('without $top answers every match at once', async () => {
    const c = { $filter: "startswith(id,'fleet-0999')", $orderby: 'lastActivity desc' };
    const page = await get(`/api/devices?${q(c)}`);
    assert.equal(page.nextLink, undefined);
    assert.deepEqual(
      page.value.map((d) => d.id),
      expected(devices, c),
    );
  });

  it('a device created or deleted between pages neither repeats nor displaces another', async () => {
    const order = { $orderby: 'displayName', $filter: "startswith(displayName,'Porch')", $top: '50' };
    const first = await get(`/api/devices?${q(order)}`);
    const before = expected(devices, order);
    assert.deepEqual(
      first.value.map((d) => d.id),
      before.slice(0, 50),
    );
    // Deleted: one on the next page; created: one that sorts onto the page already read.
    const gone = before[60]!;
    assert.equal((await server.api('DELETE', `/api/devices/${gone}`)).status, 204);
    assert.equal(
      (await server.api('PUT', '/api/devices/aaa-new-porch', { displayName: 'Porch ' })).status,
      200,
    );
    const rest = await walk(local(first.nextLink), 50);
    assert.deepEqual(
      rest.ids,
      before.slice(50).filter((id) => id !== gone),
    );
  });

  it("a device group's devices, filtered and paged: the group's members as one parameter", async () => {
    const put = await server.api('PUT', '/api/deviceGroups/meters', {
      displayName: 'Meters',
      filter: 'SELECT * FROM devices WHERE $template = "dtmi:fleet:Meter;1"',
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const c = { $filter: "startswith(displayName,'Attic')", $orderby: 'lastActivity desc' };
    const members = devices.filter((d) => d.template === 'dtmi:fleet:Meter;1');
    const want = expected(members, c);
    assert.ok(want.length > 100, `${want.length}`);
    const { ids } = await walk(`/api/devices?${q({ ...c, deviceGroup: 'meters', $top: '100' })}`, 100);
    assert.deepEqual(ids, want);
  });

  it('filters and sorts on the fields the route documents, no more, no fewer', () => {
    assert.deepEqual(Object.keys(DEVICE_FIELDS), DEVICE_LIST_FIELDS);
  });

  it('refuses a token from another order or one it did not write', async () => {
    const page = await get(`/api/devices?${q({ $top: '10', $orderby: 'displayName' })}`);
    const token = new URL(page.nextLink!).searchParams.get('$skiptoken')!;
    for (const path of [
      `/api/devices?${q({ $top: '10', $orderby: 'template', $skiptoken: token })}`,
      `/api/devices?${q({ $top: '10', $skiptoken: Buffer.from('{"s":"id+","k":[5]}').toString('base64url') })}`,
      `/api/devices?${q({ $top: '10', $skiptoken: 'bm90IGpzb24' })}`,
    ]) {
      const res = await server.api<{ error: { code: string; message: string } }>('GET', path);
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'ERR_QUERY_INVALID');
      assert.match(res.body.error.message, /follow nextLink as it is/);
    }
  });
}

describe('device list with 100,000 devices: SQLite', { timeout: 600_000 }, () => {
  defineFleetSuite(async () => {
    const server = await startTestServer({ webRoot: '' });
    return { server, cleanup: () => server.stop() };
  });
});

describe(
  'device list with 100,000 devices: PostgreSQL',
  { skip: postgresSkipReason(), timeout: 600_000 },
  () => {
    defineFleetSuite(async () => {
      const db = await createTestDatabase();
      const server = await startTestServer({ webRoot: '', databaseUrl: db.url });
      return {
        server,
        cleanup: async () => {
          await server.stop();
          await dropTestDatabase(db.name);
        },
      };
    });
  },
);
