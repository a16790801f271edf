/** Data export end to end on SQLite (helpers/export-delivery-suite.ts). */
import { describe } from 'node:test';

import { exportDeliverySuite } from './helpers/export-delivery-suite.js';

describe('data export delivery (SQLite)', () => {
  exportDeliverySuite({ database: async () => undefined });
});
