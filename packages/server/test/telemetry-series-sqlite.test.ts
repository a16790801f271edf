/**
 * Device telemetry series on SQLite (README "Telemetry series"): JSON aggregation in SQL, the
 * minute and hour rollups kept in the insert's transaction, checked against a brute force.
 */
import { describe } from 'node:test';

import { defineDeviceSeriesSuite } from './helpers/series-suite.js';

describe('telemetry series on SQLite', () => {
  defineDeviceSeriesSuite(() => undefined);
});
