/**
 * `gatehouse store copy --from <data folder> --to postgres://…` moves an SQLite application to
 * PostgreSQL with everything it holds: the built binary copies a data folder made by a real
 * server, and a server started on the database then shows the same application (ID scope,
 * server CA, token, devices, groups, dashboards, users, telemetry of several days).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createRootCa } from '@gatehouse/pki';

import { SqliteTelemetryStore } from '../src/hub/telemetry-store.js';
import { COPY_ORDER } from '../src/store/copy.js';
import { openSqliteWithHandle } from '../src/store/sqlite.js';
import { postgresSkipReason, withPostgres } from './helpers/postgres.js';
import { startTestServer, TEST_ADMIN_TOKEN } from './helpers/test-server.js';

const ROOT = process.env['GATEHOUSE_REPO_ROOT'] ?? fileURLToPath(new URL('../../../../', import.meta.url));
const CLI = join(ROOT, 'packages', 'cli', 'dist', 'src', 'main.js');

function gatehouse(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, GATEHOUSE_DATABASE_URL: '' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const DAY = 86_400_000;

describe('gatehouse store copy', { skip: postgresSkipReason(), concurrency: false }, () => {
  const pg = withPostgres();
  let from: string;
  let idScope: string;
  const days = [3, 1, 0].map((d) => new Date(Date.now() - d * DAY).toISOString());

  before(async () => {
    from = await mkdtemp(join(tmpdir(), 'gatehouse-copy-from-'));
    // An application made through its REST API, as a user makes it.
    const server = await startTestServer({ dataDir: from });
    try {
      idScope = server.idScope;
      const root = await createRootCa({ commonName: 'copy-root' });
      const created = [
        await server.api('PUT', '/api/enrollmentGroups/copy-group', {
          displayName: 'copy-group',
          type: 'iot',
          attestation: { type: 'x509' },
        }),
        await server.api('PUT', '/api/enrollmentGroups/copy-group/certificates/primary', {
          certificate: root.certificate.pem,
          verified: true,
        }),
        await server.api('PUT', '/api/devices/copy-dev-1', { displayName: 'Copy 1' }),
        await server.api('PUT', '/api/devices/copy-dev-2', { displayName: 'Copy 2' }),
        await server.api('PATCH', '/api/devices/copy-dev-1/properties', { name: 'kept' }),
      ];
      for (const r of created) assert.ok(r.status < 300, JSON.stringify(r.body));
    } finally {
      await server.close();
    }
    // Telemetry of three days, written as the hub writes it.
    const store = await openSqliteWithHandle({ filename: join(from, 'gatehouse.db') });
    const telemetry = new SqliteTelemetryStore(store.sqlite);
    await telemetry.appendBatch(
      days.flatMap((enqueuedAt, i) =>
        ['copy-dev-1', 'copy-dev-2'].map((deviceId) => ({
          deviceId,
          enqueuedAt,
          component: null,
          body: Buffer.from(JSON.stringify({ temp: 20 + i })),
          contentType: 'application/json',
          systemProperties: {},
          properties: {},
          fields: { temp: 20 + i },
        })),
      ),
    );
    await store.db.destroy();
  });
  after(async () => {
    if (from) await rm(from, { recursive: true, force: true });
  });

  it('copies every table, checks the counts, and a server on PostgreSQL is the same application', async () => {
    const r = gatehouse('store', 'copy', '--from', from, '--to', pg.url, '--json');
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      tables: Array<{ table: string; rows: number }>;
      tlsIdentity: boolean;
    };
    assert.equal(report.tlsIdentity, true);
    const rows = new Map(report.tables.map((t) => [t.table, t.rows]));
    assert.equal(rows.get('telemetry'), 6);
    assert.ok((rows.get('devices') ?? 0) >= 2);
    assert.ok((rows.get('enrollment_groups') ?? 0) >= 3, 'the two SAS groups and copy-group');

    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-copy-to-'));
    const server = await startTestServer({ dataDir, databaseUrl: pg.url, adminToken: TEST_ADMIN_TOKEN });
    try {
      assert.equal(server.idScope, idScope);
      // The CA devices already trust is the one the PostgreSQL node serves and writes.
      assert.equal(
        await readFile(join(dataDir, 'server-ca.pem'), 'utf8'),
        await readFile(join(from, 'server-ca.pem'), 'utf8'),
      );
      const device = await server.api<{ displayName: string }>('GET', '/api/devices/copy-dev-1');
      assert.equal(device.status, 200);
      assert.equal(device.body.displayName, 'Copy 1');
      const group = await server.api<{
        attestation: { x509: { signingCertificates: { primary: { verified: boolean } } } };
      }>('GET', '/api/enrollmentGroups/copy-group');
      assert.equal(group.body.attestation.x509.signingCertificates.primary.verified, true);
      const history = await server.api<{ value: Array<{ timestamp?: string }> }>(
        'GET',
        `/api/devices/copy-dev-2/telemetry?from=${encodeURIComponent(new Date(Date.now() - 5 * DAY).toISOString())}`,
      );
      assert.equal(history.status, 200, JSON.stringify(history.body));
      assert.equal(history.body.value.length, 3, JSON.stringify(history.body));
      const latest = await server.api<{ value: number }>('GET', '/api/devices/copy-dev-1/telemetry/temp');
      assert.equal(latest.body.value, 22);
      // Three days of history: three daily partitions, made before the rows went in.
      const partitions = await pg.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'telemetry'::regclass`,
      );
      assert.ok((partitions[0]?.n ?? 0) >= 3);
    } finally {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a non-empty target without --force, naming what it holds; --force replaces it', () => {
    const refused = gatehouse('store', 'copy', '--from', from, '--to', pg.url);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^ERR_STORE_COPY_TARGET_NOT_EMPTY: .*already holds data: .*--force/);
    const forced = gatehouse('store', 'copy', '--from', from, '--to', pg.url, '--force');
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(forced.stdout, /every table's count matches the source/);
    assert.match(forced.stdout, /telemetry\s+6/);
  });

  it('refuses a folder without gatehouse.db, and a missing --to', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'gatehouse-copy-empty-'));
    try {
      const noSource = gatehouse('store', 'copy', '--from', empty, '--to', pg.url);
      assert.equal(noSource.status, 1);
      assert.match(noSource.stderr, /^ERR_STORE_COPY_SOURCE_MISSING: .*gatehouse\.db/);
      const noTarget = gatehouse('store', 'copy', '--from', from);
      assert.equal(noTarget.status, 1);
      assert.match(noTarget.stderr, /^ERR_CLI_MISSING_OPTION: --to is missing/);
      const badUrl = gatehouse('store', 'copy', '--from', from, '--to', 'mysql://x@127.0.0.1/db');
      assert.match(badUrl.stderr, /^ERR_DATABASE_URL_INVALID: /);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('leaves out no table of the target', async () => {
    const tables = await pg.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables
       WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name NOT LIKE 'kysely_%'
         AND table_name NOT IN (SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid)`,
    );
    const missing = tables.map((t) => t.name).filter((t) => !(COPY_ORDER as readonly string[]).includes(t));
    assert.deepEqual(missing, [], 'a new table needs its place in COPY_ORDER (foreign keys first)');
  });
});
