/**
 * Dashboard tiles that remember a time range and an aggregation (README "Charts over a time
 * range"): the longer windows (PT12H, P7D, P30D) and `aggregation` are kept, a dashboard saved
 * with the first four windows and no aggregation stays valid, and the telemetry KPI tile holds
 * one device and one field. Bad input answers 400 ERR_DASHBOARD_INVALID naming tile and field.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startTestServer, type TestServer } from './helpers/test-server.js';

const tile = (id: string, x: number, type: string, configuration: Record<string, unknown>) => ({
  id,
  title: `Tile ${id}`,
  type,
  x,
  y: 0,
  width: 3,
  height: 3,
  configuration,
});

describe('dashboard tiles with a time range and an aggregation', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ webRoot: '' });
  });
  after(async () => server?.stop());

  it('keeps the longer windows, the aggregation and a telemetry KPI; old windows stay valid', async () => {
    const tiles = [
      tile('a', 0, 'lineChart', { devices: ['d1'], telemetry: ['temp'], window: 'P30D', aggregation: 'max' }),
      tile('b', 3, 'lineChart', { devices: ['d1'], telemetry: ['temp'], window: 'PT12H' }),
      tile('c', 6, 'kpi', {
        kpi: 'telemetry',
        devices: ['d1'],
        telemetry: ['temp'],
        window: 'P7D',
        aggregation: 'avg',
      }),
      tile('d', 9, 'lineChart', { devices: ['d1'], telemetry: ['temp'], window: 'PT5M' }),
    ];
    const put = await server.api<{ tiles: Array<{ configuration: unknown }> }>(
      'PUT',
      '/api/dashboards/ranges',
      { displayName: 'Ranges', tiles },
    );
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const got = await server.api<{ tiles: Array<{ id: string; configuration: unknown }> }>(
      'GET',
      '/api/dashboards/ranges',
    );
    assert.deepEqual(
      got.body.tiles.map((t) => t.configuration),
      tiles.map((t) => t.configuration),
    );
  });

  const bad: Array<[string, Record<string, unknown>, string, RegExp]> = [
    [
      'an unknown aggregation',
      { devices: ['d1'], telemetry: ['temp'], aggregation: 'median' },
      'lineChart',
      /\(id 'x'\).*configuration\.aggregation 'median' is not one of avg, min, max, sum, count, first, last/,
    ],
    [
      'a window the API does not offer',
      { devices: ['d1'], telemetry: ['temp'], window: 'P2D' },
      'lineChart',
      /configuration\.window 'P2D' is not one of PT5M, PT30M, PT1H, PT24H, PT12H, P7D, P30D/,
    ],
    [
      'a telemetry KPI of two devices',
      { kpi: 'telemetry', devices: ['d1', 'd2'], telemetry: ['temp'] },
      'kpi',
      /a telemetry kpi tile needs one device in configuration\.devices and one name in configuration\.telemetry/,
    ],
    [
      'a telemetry KPI without a field',
      { kpi: 'telemetry', devices: ['d1'] },
      'kpi',
      /a telemetry kpi tile needs one device/,
    ],
  ];
  for (const [name, configuration, type, message] of bad) {
    it(`refuses ${name}`, async () => {
      const res = await server.api<{ error: { code: string; message: string } }>(
        'PUT',
        '/api/dashboards/bad',
        {
          displayName: 'Bad',
          tiles: [tile('x', 0, type, configuration)],
        },
      );
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'ERR_DASHBOARD_INVALID');
      assert.match(res.body.error.message, message);
    });
  }
});
