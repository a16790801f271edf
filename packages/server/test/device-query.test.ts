/**
 * The device query parser (app/device-query.ts), table-driven: the filters IoT Central's docs and
 * examples use (EXPORT_RULES.md §3, §5.1) parse to the expected tree; bad queries are refused
 * with the 1-based position and the text of the token at fault. Then the evaluator over a real
 * SQLite store: SQL and the in-memory check agree, NULL logic included.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { DeviceQueryError, parseDeviceQuery, type QueryExpr } from '../src/app/device-query.js';
import { matchingDeviceIds } from '../src/app/device-query-eval.js';
import { openSqlite } from '../src/store/sqlite.js';
import type { Kysely } from 'kysely';
import type { Database } from '../src/store/schema.js';

const GOOD: Array<[string, { template?: string; where?: QueryExpr }]> = [
  ['SELECT * FROM devices', {}],
  [
    'SELECT * FROM devices WHERE $template = "dtmi:modelDefinition:dtdlv2" AND $provisioned = true',
    {
      where: {
        kind: 'and',
        items: [
          {
            kind: 'compare',
            operand: { kind: 'system', field: '$template' },
            op: '=',
            value: 'dtmi:modelDefinition:dtdlv2',
          },
          { kind: 'compare', operand: { kind: 'system', field: '$provisioned' }, op: '=', value: true },
        ],
      },
    },
  ],
  [
    'SELECT * FROM devices WHERE $displayName != "abc" AND $id = "a"',
    {
      where: {
        kind: 'and',
        items: [
          { kind: 'compare', operand: { kind: 'system', field: '$displayName' }, op: '!=', value: 'abc' },
          { kind: 'compare', operand: { kind: 'system', field: '$id' }, op: '=', value: 'a' },
        ],
      },
    },
  ],
  [
    'SELECT * FROM devices WHERE $id == "a"',
    { where: { kind: 'compare', operand: { kind: 'system', field: '$id' }, op: '=', value: 'a' } },
  ],
  [
    'SELECT * FROM devices WHERE CONTAINS($displayName, "a")',
    {
      where: { kind: 'text', fn: 'contains', operand: { kind: 'system', field: '$displayName' }, value: 'a' },
    },
  ],
  [
    'select * from DEVICES where $simulated = true',
    { where: { kind: 'compare', operand: { kind: 'system', field: '$simulated' }, op: '=', value: true } },
  ],
  [
    'SELECT * FROM dtmi:com:example:Thermostat;1 WHERE targetTemperature >= 20.5',
    {
      template: 'dtmi:com:example:Thermostat;1',
      where: {
        kind: 'compare',
        operand: { kind: 'property', name: 'targetTemperature' },
        op: '>=',
        value: 20.5,
      },
    },
  ],
  [
    "SELECT * FROM devices WHERE thermostat1.targetTemperature <> 3 OR NOT ($id IN ['a', 'b'])",
    {
      where: {
        kind: 'or',
        items: [
          {
            kind: 'compare',
            operand: { kind: 'property', component: 'thermostat1', name: 'targetTemperature' },
            op: '!=',
            value: 3,
          },
          {
            kind: 'not',
            item: { kind: 'in', operand: { kind: 'system', field: '$id' }, values: ['a', 'b'] },
          },
        ],
      },
    },
  ],
  [
    'SELECT * FROM devices WHERE (STARTS_WITH($id, "s-") or ends_with($id, "-x")) and name = null',
    {
      where: {
        kind: 'and',
        items: [
          {
            kind: 'or',
            items: [
              { kind: 'text', fn: 'startsWith', operand: { kind: 'system', field: '$id' }, value: 's-' },
              { kind: 'text', fn: 'endsWith', operand: { kind: 'system', field: '$id' }, value: '-x' },
            ],
          },
          { kind: 'compare', operand: { kind: 'property', name: 'name' }, op: '=', value: null },
        ],
      },
    },
  ],
];

/** [query, position (1-based), token found there, words of the reason]. */
const BAD: Array<[string, number, string, RegExp]> = [
  ['', 1, '', /expected SELECT/],
  ['SELECT $id FROM devices', 8, '$id', /expected '\*'/],
  ['SELECT * FROM', 14, '', /expected 'devices'/],
  ['SELECT * FROM things', 15, 'things', /expected 'devices' or a device template ID/],
  ['SELECT * FROM devices $id = "a"', 23, '$id', /expected WHERE/],
  ['SELECT * FROM devices WHERE $tmplate = "x"', 29, '$tmplate', /unknown system field/],
  ['SELECT * FROM devices WHERE $id = "a" AND', 42, '', /expected a field/],
  ['SELECT * FROM devices WHERE $id = "a', 35, '"a', /no closing quote/],
  ['SELECT * FROM devices WHERE $id ~ "a"', 33, '~', /unexpected character/],
  ['SELECT * FROM devices WHERE $id LIKE "a"', 33, 'LIKE', /expected a comparison/],
  ['SELECT * FROM devices WHERE $provisioned = "yes"', 44, '"yes"', /\$provisioned is a boolean/],
  ['SELECT * FROM devices WHERE $id = "a" "b"', 39, '"b"', /expected AND, OR or the end/],
  ['SELECT * FROM devices WHERE ($id = "a"', 39, '', /expected '\)'/],
  ['SELECT * FROM devices WHERE CONTAINS($id, 3)', 43, '3', /expected a "string"/],
  ['SELECT * FROM devices WHERE $id IN ["a" "b"]', 41, '"b"', /expected ',' or ']'/],
  ['SELECT * FROM devices WHERE $id = ', 35, '', /expected a value/],
];

describe('device query parser (EXPORT_RULES.md §3)', () => {
  for (const [text, expected] of GOOD) {
    it(`parses ${text}`, () => {
      const q = parseDeviceQuery(text);
      assert.equal(q.template, expected.template);
      assert.deepEqual(q.where, expected.where);
    });
  }
  for (const [text, position, token, reason] of BAD) {
    it(`refuses ${JSON.stringify(text)} at position ${position}`, () => {
      assert.throws(
        () => parseDeviceQuery(text),
        (err: unknown) => {
          assert.ok(err instanceof DeviceQueryError, String(err));
          assert.equal(err.position, position, err.message);
          assert.equal(err.token, token, err.message);
          assert.match(err.message, reason);
          assert.match(err.message, new RegExp(`at position ${position}`));
          return true;
        },
      );
    });
  }
  it('caps length, nesting and the number of conditions', () => {
    assert.throws(
      () => parseDeviceQuery('SELECT * FROM devices WHERE ' + 'a = 1 AND '.repeat(120) + 'a = 2'),
      /more than 100 conditions/,
    );
    assert.throws(
      () => parseDeviceQuery('SELECT * FROM devices WHERE ' + '('.repeat(40) + '$id = "a"' + ')'.repeat(40)),
      /nested deeper/,
    );
    assert.throws(
      () => parseDeviceQuery('SELECT * FROM devices WHERE $id = "' + 'x'.repeat(3000) + '"'),
      /longer than/,
    );
  });
});

describe('device query evaluation: SQL where it can, in memory for the rest', () => {
  let db: Kysely<Database>;
  const ids = (q: string) => matchingDeviceIds(db, parseDeviceQuery(q));

  before(async () => {
    db = await openSqlite({ filename: ':memory:' });
    const time = new Date().toISOString();
    const device = (
      id: string,
      displayName: string,
      template: string | null,
      simulated: number,
      provisioned: number,
    ) => ({
      id,
      display_name: displayName,
      template,
      enabled: 1,
      provisioned,
      simulated,
      auth_type: 'none',
      x509_primary_sha1: null,
      x509_primary_sha256: null,
      x509_secondary_sha1: null,
      x509_secondary_sha256: null,
      sas_primary_key: null,
      sas_secondary_key: null,
      enrollment_group_id: null,
      assigned_hub: null,
      etag: 'e',
      created_at: time,
      updated_at: time,
    });
    await db
      .insertInto('devices')
      .values([
        device('a-1', 'Alpha One', 'dtmi:t:A;1', 0, 1),
        device('a-2', 'alpha two', 'dtmi:t:A;1', 1, 0),
        device('b-1', 'Beta_100%', 'dtmi:t:B;1', 0, 1),
        device('n-1', 'No template', null, 0, 0),
      ])
      .execute();
    const twin = (id: string, reported: unknown) => ({
      device_id: id,
      desired: '{}',
      desired_version: 1,
      desired_updated: '{}',
      reported: JSON.stringify(reported),
      reported_version: 2,
      reported_updated: '{}',
      updated_at: time,
    });
    await db
      .insertInto('twins')
      .values([
        twin('a-1', { brightness: { value: 5, ac: 200, av: 2 }, state: true, th: { __t: 'c', target: 21 } }),
        twin('a-2', { brightness: 9 }),
      ])
      .execute();
    await db
      .insertInto('cloud_properties')
      .values({ device_id: 'b-1', component: '', name: 'City', value: '"Seattle"', updated_at: time })
      .execute();
  });
  after(async () => db.destroy());

  it('system fields (exact in SQL)', async () => {
    assert.deepEqual(await ids('SELECT * FROM devices'), ['a-1', 'a-2', 'b-1', 'n-1']);
    assert.deepEqual(
      await ids('SELECT * FROM devices WHERE $template = "dtmi:t:A;1" AND $provisioned = true'),
      ['a-1'],
    );
    assert.deepEqual(await ids('SELECT * FROM devices WHERE $simulated = true OR $id IN ["b-1"]'), [
      'a-2',
      'b-1',
    ]);
    assert.deepEqual(await ids('SELECT * FROM dtmi:t:B;1'), ['b-1']);
    assert.deepEqual(await ids('SELECT * FROM devices WHERE $template = null'), ['n-1']);
  });

  it('a missing field is unknown: neither it nor NOT it matches', async () => {
    assert.deepEqual(await ids('SELECT * FROM devices WHERE $template != "dtmi:t:A;1"'), ['b-1']);
    assert.deepEqual(await ids('SELECT * FROM devices WHERE NOT ($template = "dtmi:t:A;1")'), ['b-1']);
    assert.deepEqual(await ids('SELECT * FROM devices WHERE NOT (brightness > 6)'), ['a-1']);
  });

  it('CONTAINS is case-sensitive and takes % and _ literally (LIKE narrows, memory decides)', async () => {
    assert.deepEqual(await ids('SELECT * FROM devices WHERE CONTAINS($displayName, "Alpha")'), ['a-1']);
    assert.deepEqual(await ids('SELECT * FROM devices WHERE CONTAINS($displayName, "_100%")'), ['b-1']);
    assert.deepEqual(
      await ids('SELECT * FROM devices WHERE STARTS_WITH($id, "a-") AND ENDS_WITH($id, "2")'),
      ['a-2'],
    );
  });

  it('device properties (acks unwrapped, components) and cloud properties, in memory', async () => {
    assert.deepEqual(await ids('SELECT * FROM devices WHERE brightness >= 5'), ['a-1', 'a-2']);
    assert.deepEqual(await ids('SELECT * FROM devices WHERE brightness = 5 AND state = true'), ['a-1']);
    assert.deepEqual(await ids('SELECT * FROM devices WHERE th.target = 21'), ['a-1']);
    assert.deepEqual(await ids('SELECT * FROM devices WHERE City = "Seattle" OR brightness = 9'), [
      'a-2',
      'b-1',
    ]);
    assert.deepEqual(await ids('SELECT * FROM devices WHERE brightness = "5"'), []);
  });
});
