/** Data export end to end on PostgreSQL (helpers/export-delivery-suite.ts): a fresh database per server. */
import { describe } from 'node:test';

import { exportDeliverySuite } from './helpers/export-delivery-suite.js';
import { postgresSkipReason, withPostgres } from './helpers/postgres.js';

describe('data export delivery (PostgreSQL)', { skip: postgresSkipReason() }, () => {
  const pg = withPostgres();
  exportDeliverySuite({ database: () => pg.fresh() });
});
