import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { openSqliteWithHandle } from '../src/store/sqlite.js';
import { auditSuite, retentionAtStartSuite } from './helpers/audit-suite.js';
import { startTestServer } from './helpers/test-server.js';

auditSuite('SQLite', () => startTestServer({ databaseUrl: '' }));

describe('GET /api/auditLogs in the OpenAPI document', () => {
  it('is documented with a summary, a tag and its filters', async () => {
    const server = await startTestServer({ databaseUrl: '' });
    try {
      const res = await server.api<{
        paths: Record<
          string,
          Record<string, { summary?: string; tags?: string[]; parameters?: Array<{ name: string }> }>
        >;
      }>('GET', '/api/openapi.json');
      const op = res.body.paths['/api/auditLogs']?.['get'];
      assert.ok(op?.summary);
      assert.deepEqual(op.tags, ['Audit log']);
      const names = (op.parameters ?? []).map((p) => p.name);
      for (const name of [
        'actor',
        'actorType',
        'resourceType',
        'resourceId',
        'action',
        'from',
        'to',
        '$top',
        '$skiptoken',
      ])
        assert.ok(names.includes(name), `${name} is documented`);
    } finally {
      await server.stop();
    }
  });
});

retentionAtStartSuite('SQLite', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-audit-retention-'));
  const store = await openSqliteWithHandle({ filename: join(dataDir, 'gatehouse.db') });
  return {
    dataDir,
    databaseUrl: '',
    db: store.db,
    close: () => store.db.destroy(),
    dispose: () => rm(dataDir, { recursive: true, force: true }),
  };
});
