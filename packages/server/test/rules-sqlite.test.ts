/** The rules firing (helpers/rules-suite.ts) on SQLite. */
import { describe } from 'node:test';

import { defineRulesSuite } from './helpers/rules-suite.js';
import { startTestServer } from './helpers/test-server.js';

describe('rules fire on live events: SQLite', () => {
  defineRulesSuite((overrides) => startTestServer(overrides));
});
