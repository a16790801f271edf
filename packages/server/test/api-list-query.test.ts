/**
 * The list options of `/api/devices` and `/api/deviceTemplates` (CENTRAL_API.md §1.1–§1.2):
 * OData `$filter` (known answers and every refusal), `$orderby`, and paging with `$top` and
 * `nextLink`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  MAX_FILTER_DEPTH,
  MAX_FILTER_LENGTH,
  parseFilter,
  type FieldTable,
} from '../src/api/odata-filter.js';
import { apiHarness, expectError, type ApiHarness } from './helpers/api-harness.js';

interface Item {
  id: string;
  name: string | null;
  on: boolean;
  n: number;
}

const ITEMS: Item[] = [
  { id: 'a', name: 'Kitchen sensor', on: true, n: 1 },
  { id: 'b', name: "O'Brien's thermostat", on: false, n: 2 },
  { id: 'c', name: null, on: true, n: 3 },
  { id: 'd', name: 'garage SENSOR', on: false, n: -1 },
];

const FIELDS: FieldTable<Item> = {
  id: { type: 'string', get: (i) => i.id },
  displayName: { type: 'string', get: (i) => i.name },
  enabled: { type: 'boolean', get: (i) => i.on },
  n: { type: 'number', get: (i) => i.n },
};

describe('OData $filter', () => {
  const cases: Array<[string, string[]]> = [
    ["id eq 'a'", ['a']],
    ["id ne 'a'", ['b', 'c', 'd']],
    ['enabled eq true', ['a', 'c']],
    ['enabled', ['a', 'c']],
    ['not enabled', ['b', 'd']],
    ['n gt 1', ['b', 'c']],
    ['n ge 1 and n le 2', ['a', 'b']],
    ['n lt 0', ['d']],
    ['n eq -1', ['d']],
    ["id eq 'a' or id eq 'd'", ['a', 'd']],
    ["enabled eq false and (id eq 'b' or id eq 'a')", ['b']],
    ["indexof(displayName,'sensor') ge 0", ['a']],
    ["indexof(displayName,'sensor') eq -1", ['b', 'd']],
    ["indexof(tolower(displayName), 'sensor') ge 0", ['a', 'd']],
    ["contains(displayName,'''Brien')", ['b']],
    ["startswith(displayName,'Kit')", ['a']],
    ["endswith(toupper(displayName),'SENSOR')", ['a', 'd']],
    ['displayName eq null', ['c']],
    ['displayName ne null', ['a', 'b', 'd']],
    ["displayName gt 'L'", ['b', 'd']],
    ["not (id eq 'a' or id eq 'b')", ['c', 'd']],
    ["  id  eq  'b'  ", ['b']],
    // Keywords and operators are case-insensitive; field names are not.
    ["id EQ 'a' OR id Eq 'b'", ['a', 'b']],
    ['NOT enabled AND n GT 0', ['b']],
    ['enabled eq TRUE', ['a', 'c']],
    ['displayName EQ NULL', ['c']],
    ["INDEXOF(displayName,'Kit') eq 0", ['a']],
    ['not(enabled)', ['b', 'd']],
    // A function of a null field is unknown, and so is its negation: c never matches.
    ["not contains(displayName,'x')", ['a', 'b', 'd']],
    ["not startswith(displayName,'K') and not enabled", ['b', 'd']],
    ["contains(displayName,'x') or enabled", ['a', 'c']],
    // not binds tighter than a comparison: (not enabled) eq false.
    ['not enabled eq false', ['a', 'c']],
  ];
  for (const [filter, ids] of cases) {
    it(`${filter} → ${ids.join(',')}`, () => {
      assert.deepEqual(
        ITEMS.filter(parseFilter(filter, FIELDS)).map((i) => i.id),
        ids,
      );
    });
  }

  const refusals: Array<[string, string]> = [
    ['', 'empty'],
    ['   ', 'empty'],
    ["colour eq 'red'", "unknown field 'colour' at position 1; the fields are id, displayName, enabled, n"],
    ["constructor eq 'x'", "unknown field 'constructor'"],
    ["__proto__ eq 'x'", "unknown field '__proto__'"],
    ["id eq 'a", 'has no closing quote'],
    ['id eq 1', 'compares a string with a number'],
    ["enabled eq 'yes'", 'compares a boolean with a string'],
    ['displayName gt null', 'null can only be compared with eq or ne'],
    ["id eq 'a' xor id eq 'b'", "expected 'and', 'or' or the end, found 'xor' at position 11"],
    ["id eq 'a' and", 'expected a field, a literal or'],
    ["(id eq 'a'", "expected ')', found the end"],
    ["id eq 'a')", "expected 'and', 'or' or the end, found ')'"],
    ['id', 'must be a condition'],
    ['indexof(displayName) ge 0', 'indexof() takes 2 arguments'],
    ["tolower(displayName, 'x') eq 'a'", 'tolower() takes 1 argument'],
    ["contains(n,'1')", 'the arguments of contains() must be strings'],
    ["id eq 'a' ; drop", "unexpected ';' at position 11"],
    ['id eq - 1', "unexpected '-' at position 7"],
    ['n eq 1 and id', 'must be a condition'],
    // OData asks for white space around binary operators.
    ['n eq 1and enabled', "'and' at position 7 needs a space before it"],
    ["id eq 'a'or enabled", "'or' at position 10 needs a space before it"],
    ['n eq 1 and(enabled)', "'and' at position 8 needs a space after it"],
    ["id eq'a'", "'eq' at position 4 needs a space after it"],
    ['notenabled', "unknown field 'notenabled'"],
    ['not-1 eq 1', "'not' at position 1 needs a space or '(' after it"],
    ['x'.repeat(MAX_FILTER_LENGTH + 1), `longer than ${MAX_FILTER_LENGTH} characters`],
    ['('.repeat(MAX_FILTER_DEPTH + 1) + 'enabled' + ')'.repeat(MAX_FILTER_DEPTH + 1), 'nested deeper than'],
    ['not '.repeat(MAX_FILTER_DEPTH + 1) + 'enabled', 'nested deeper than'],
  ];
  for (const [filter, message] of refusals) {
    it(`refuses ${JSON.stringify(filter.slice(0, 40))}: ${message}`, () => {
      assert.throws(
        () => parseFilter(filter, FIELDS),
        (err: { code?: string; status?: number; message?: string }) => {
          assert.equal(err.code, 'ERR_QUERY_INVALID');
          assert.equal(err.status, 400);
          assert.ok(err.message?.includes(message), `${err.message} should include ${message}`);
          return true;
        },
      );
    });
  }

  it('nests as deep as the cap allows', () => {
    const filter = '('.repeat(MAX_FILTER_DEPTH) + 'enabled' + ')'.repeat(MAX_FILTER_DEPTH);
    assert.deepEqual(
      ITEMS.filter(parseFilter(filter, FIELDS)).map((i) => i.id),
      ['a', 'c'],
    );
  });
});

describe('list options over REST', () => {
  let h: ApiHarness;
  const names = ['Kitchen sensor', 'Garage sensor', 'Attic thermostat', 'Cellar sensor', 'Porch light'];

  before(async () => {
    h = await apiHarness();
    await h.deps.templates.ensureBuiltIns();
    for (const [i, name] of names.entries()) {
      const res = await h.call('PUT', `/api/devices/dev-${i}`, { displayName: name, enabled: i !== 1 });
      assert.equal(res.statusCode, 200, res.body);
    }
  });
  after(async () => h.close());

  const ids = (body: { value: Array<{ id: string }> }) => body.value.map((d) => d.id);

  it('filters the devices with $filter and with filter', async () => {
    const q = encodeURIComponent("indexof(displayName,'sensor') ge 0 and enabled eq true");
    const res = await h.call('GET', `/api/devices?$filter=${q}`);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(ids(res.json()), ['dev-0', 'dev-3']);
    const alias = await h.call('GET', `/api/devices?filter=${encodeURIComponent('enabled eq false')}`);
    assert.deepEqual(ids(alias.json()), ['dev-1']);
    const none = await h.call('GET', `/api/devices?$filter=${encodeURIComponent('template ne null')}`);
    assert.deepEqual(none.json(), { value: [] });
  });

  it('orders the devices with $orderby', async () => {
    const res = await h.call('GET', `/api/devices?$orderby=${encodeURIComponent('displayName desc')}`);
    assert.deepEqual(ids(res.json()), ['dev-4', 'dev-0', 'dev-1', 'dev-3', 'dev-2']);
    const two = await h.call('GET', `/api/devices?orderby=${encodeURIComponent('enabled, displayName ASC')}`);
    assert.deepEqual(ids(two.json()), ['dev-1', 'dev-2', 'dev-3', 'dev-0', 'dev-4']);
  });

  it('pages with $top and nextLink until nextLink is absent, with the filter and order kept', async () => {
    const seen: string[] = [];
    let url: string | undefined = `/api/devices?$top=2&$orderby=${encodeURIComponent('displayName')}`;
    let pages = 0;
    while (url !== undefined) {
      const res = await h.call('GET', url);
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json<{ value: Array<{ id: string }>; nextLink?: string }>();
      assert.ok(body.value.length <= 2);
      seen.push(...ids(body));
      pages++;
      if (body.nextLink === undefined) break;
      const next = new URL(body.nextLink);
      assert.match(next.protocol, /^https?:$/, 'nextLink is absolute');
      url = next.pathname + next.search;
    }
    assert.equal(pages, 3);
    assert.deepEqual(seen, ['dev-2', 'dev-3', 'dev-1', 'dev-0', 'dev-4']);
    // The link names this server's configured host, never the Host header a client sent.
    const forged = await h.call('GET', '/api/devices?$top=2', undefined, undefined, {
      host: 'attacker.example',
    });
    const link = forged.json<{ nextLink?: string }>().nextLink ?? '';
    assert.match(link, /^http:\/\/gatehouse\.test:3000\/api\/devices\?/, link);
    const last = await h.call('GET', '/api/devices?maxpagesize=5');
    assert.equal(last.json<{ nextLink?: string }>().nextLink, undefined, 'no nextLink when all fit');
  });

  it('filters the templates: the two built-ins, and by name', async () => {
    const builtIn = await h.call(
      'GET',
      `/api/deviceTemplates?$filter=${encodeURIComponent('builtIn eq true')}`,
    );
    assert.equal(builtIn.statusCode, 200, builtIn.body);
    assert.equal(builtIn.json<{ value: unknown[] }>().value.length, 2);
    const thermostat = await h.call(
      'GET',
      `/api/deviceTemplates?$filter=${encodeURIComponent("contains(id,'Thermostat')")}`,
    );
    assert.deepEqual(
      thermostat.json<{ value: Array<{ '@id': string }> }>().value.map((t) => t['@id']),
      ['dtmi:gatehouse:Thermostat;1'],
    );
  });

  const bad: Array<[string, string, string?]> = [
    [`$filter=${encodeURIComponent('colour eq 1')}`, "unknown field 'colour'"],
    ['$orderby=colour', "unknown field 'colour'"],
    [`$orderby=${encodeURIComponent('displayName sideways')}`, "is not 'field', 'field asc' or 'field desc'"],
    [`$orderby=${encodeURIComponent('enabled,enabled')}`, "'enabled' is given more than once"],
    [`$orderby=${'enabled,'.repeat(300)}id`, 'longer than 2048 characters'],
    ['$top=0', '$top must be a whole number from 1 to 100'],
    ['$top=101', '$top must be a whole number from 1 to 100'],
    ['$top=ten', '$top must be a whole number'],
    ['$skiptoken=not-ours', 'follow nextLink as it is'],
    ['$top=2&maxpagesize=2', 'not both'],
    // The route's query schema says one string, so fastify refuses a repeated option first.
    ['$filter=enabled&$filter=enabled', '$filter must be string', 'ERR_BAD_REQUEST'],
  ];
  for (const [query, message, code = 'ERR_QUERY_INVALID'] of bad) {
    it(`answers 400 ${code} to ?${query}`, async () => {
      const res = await h.call('GET', `/api/devices?${query}`);
      expectError(res, 400, code);
      assert.ok(res.json<{ error: { message: string } }>().error.message.includes(message), res.body);
    });
  }
});
