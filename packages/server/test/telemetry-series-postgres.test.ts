/**
 * Device telemetry series on PostgreSQL (README "Telemetry series"): jsonb aggregation over
 * the daily partitions and the rollups kept in the batch's statement, against the same brute
 * force as on SQLite. Needs GATEHOUSE_TEST_DATABASE_URL (GATEHOUSE_REQUIRE_POSTGRES=1 makes
 * its absence a failure).
 */
import { describe } from 'node:test';

import { postgresSkipReason, withPostgres } from './helpers/postgres.js';
import { defineDeviceSeriesSuite } from './helpers/series-suite.js';

describe('telemetry series on PostgreSQL', { skip: postgresSkipReason() }, () => {
  const pg = withPostgres();
  defineDeviceSeriesSuite(() => pg.url);
});
