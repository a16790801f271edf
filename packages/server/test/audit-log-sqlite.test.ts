import { auditSuite } from './helpers/audit-suite.js';
import { startTestServer } from './helpers/test-server.js';

auditSuite('SQLite', () => startTestServer({ databaseUrl: '' }));
