/**
 * The web app's pure logic, run in Node: telemetry points for the charts, dashboard tile
 * layout on the 12-column grid, and the sync state of a writable property.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flow, move, newTileId, resize, sizeOf, windowMs } from '../src/dashboard/layout.js';
import type { Tile } from '../src/devices/types.js';
import { syncState } from '../src/devices/sync-state.js';
import { appendPoints, fieldKey, keyedFields, show, unitLabel } from '../src/devices/telemetry.js';

describe('telemetry for the charts', () => {
  it('keys fields by component and keeps only finite numbers as points', () => {
    assert.equal(fieldKey('temp', null), 'temp');
    assert.equal(fieldKey('temperature', 'thermostat1'), 'thermostat1.temperature');
    const points = appendPoints({}, [
      {
        body: { temp: 20, humid: 50, state: 'on', bad: Number.NaN },
        component: null,
        enqueuedTime: '2026-01-01T00:00:00Z',
      },
      { body: { temperature: 21.5 }, component: 'thermostat1', enqueuedTime: '2026-01-01T00:00:01Z' },
      { body: 'not an object', component: null, enqueuedTime: '2026-01-01T00:00:02Z' },
    ]);
    assert.deepEqual(Object.keys(points).sort(), ['humid', 'temp', 'thermostat1.temperature']);
    assert.deepEqual(points['temp'], [[Date.parse('2026-01-01T00:00:00Z'), 20]]);
    assert.deepEqual(keyedFields({ body: [1, 2], component: null }), []);
  });

  it('keeps at most `max` points per field, the newest', () => {
    const messages = Array.from({ length: 5 }, (_, i) => ({
      body: { v: i },
      component: null,
      enqueuedTime: new Date(1000 * i).toISOString(),
    }));
    const before = {};
    const points = appendPoints(before, messages, 3);
    assert.deepEqual(
      points['v']!.map((p) => p[1]),
      [2, 3, 4],
    );
    assert.deepEqual(before, {}, 'the input map is not changed (React sees a new object)');
  });

  it('shows values and units as people write them', () => {
    assert.equal(show(undefined), '—');
    assert.equal(show(3), '3');
    assert.equal(show(3.14159), '3.14');
    assert.equal(show({ a: 1 }), '{"a":1}');
    assert.equal(unitLabel('degreeFahrenheit'), '°F');
    assert.equal(unitLabel('percent'), '%');
    assert.equal(unitLabel('lux'), 'lux');
    assert.equal(unitLabel(undefined), '');
  });
});

describe('dashboard layout', () => {
  const tile = (id: string, type: Tile['type'], width: number): Tile => ({
    id,
    title: id,
    type,
    x: 0,
    y: 0,
    width,
    height: type === 'lineChart' ? 4 : 2,
    configuration: {},
  });

  it('flows tiles left to right and wraps at 12 columns without overlap', () => {
    const placed = flow([
      tile('a', 'kpi', 3),
      tile('b', 'kpi', 3),
      tile('c', 'lineChart', 12),
      tile('d', 'kpi', 3),
    ]);
    assert.deepEqual(
      placed.map((t) => [t.id, t.x, t.y, t.width]),
      [
        ['a', 0, 0, 3],
        ['b', 3, 0, 3],
        ['c', 0, 2, 12],
        ['d', 0, 6, 3],
      ],
    );
  });

  it('moves a tile and resizes it, keeping others in order', () => {
    const tiles = flow([tile('a', 'kpi', 3), tile('b', 'lineChart', 6)]);
    assert.deepEqual(
      move(tiles, 1, -1).map((t) => t.id),
      ['b', 'a'],
    );
    assert.deepEqual(
      move(tiles, 0, -1).map((t) => t.id),
      ['a', 'b'],
      'moving the first tile earlier changes nothing',
    );
    const wide = resize(tiles, 1, 'wide');
    assert.equal(wide[1]!.width, 12);
    assert.equal(sizeOf(wide[1]!), 'wide');
    assert.equal(sizeOf(tiles[0]!), 'small');
  });

  it('makes unique tile IDs the server accepts, and knows the time windows', () => {
    const tiles = [tile('temperature', 'lineChart', 6)];
    assert.equal(newTileId(tiles, 'Temperature!'), 'Temperature');
    assert.equal(newTileId(tiles, 'temperature'), 'temperature-2');
    assert.equal(newTileId([], '***'), 'tile');
    assert.equal(windowMs(undefined), 30 * 60_000);
    assert.equal(windowMs('PT24H'), 24 * 3_600_000);
  });
});

describe('writable property sync state (ack codes of CENTRAL_API.md §5.3)', () => {
  const cases: Array<[string, Parameters<typeof syncState>[0], unknown, string]> = [
    ['never set', undefined, undefined, 'Not set'],
    [
      'acknowledged with 200 and the same value',
      { desiredValue: 2, desiredVersion: 3, ackCode: 200, ackVersion: 3 },
      2,
      'Synced',
    ],
    [
      'desired but not yet acknowledged',
      { desiredValue: 2, desiredVersion: 4, ackCode: 200, ackVersion: 3 },
      1,
      'Pending',
    ],
    [
      'acknowledged as pending (202)',
      { desiredValue: 2, desiredVersion: 3, ackCode: 202, ackVersion: 3 },
      1,
      'Pending',
    ],
    [
      'refused by the device (400)',
      { desiredValue: 9, desiredVersion: 3, ackCode: 400, ackVersion: 3 },
      1,
      'Error 400',
    ],
    [
      'failed on the device (500)',
      { desiredValue: 9, desiredVersion: 3, ackCode: 500, ackVersion: 3 },
      1,
      'Error 500',
    ],
  ];
  for (const [name, meta, reported, label] of cases) {
    it(name, () => assert.equal(syncState(meta, reported).label, label));
  }
});
