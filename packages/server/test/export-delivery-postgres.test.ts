/**
 * Data export end to end on PostgreSQL (helpers/export-delivery-suite.ts): a fresh database per
 * server; and two nodes on one database, where the export's lease makes one node deliver.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { RECONCILE_MS } from '../src/export/export-runtime.js';
import { sasFleet } from './helpers/sas-device.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

import { exportDeliverySuite } from './helpers/export-delivery-suite.js';
import { postgresSkipReason, withPostgres } from './helpers/postgres.js';

describe('data export delivery (PostgreSQL)', { skip: postgresSkipReason() }, () => {
  const pg = withPostgres();
  exportDeliverySuite({ database: () => pg.fresh() });
});

describe('data export on two nodes sharing PostgreSQL', { skip: postgresSkipReason() }, () => {
  const pg = withPostgres();
  let hook: WebhookReceiver;
  const servers: TestServer[] = [];
  const dirs: string[] = [];
  after(async () => {
    for (const s of servers) await s.stop().catch(() => undefined);
    await hook?.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('each stored message goes to the destination once, whichever node stored it', async () => {
    hook = await startWebhookReceiver();
    const url = await pg.fresh();
    for (let i = 0; i < 2; i++) {
      const dir = await mkdtemp(join(tmpdir(), 'gatehouse-export-node-'));
      dirs.push(dir);
      servers.push(await startTestServer({ dataDir: dir, databaseUrl: url }));
    }
    const [a, b] = servers as [TestServer, TestServer];
    const V = '?api-version=2022-10-31-preview';
    await a.api('PUT', `/api/dataExport/destinations/hook${V}`, {
      displayName: 'r',
      type: 'webhook@v1',
      url: hook.url,
    });
    const put = await a.api('PUT', `/api/dataExport/exports/e1${V}`, {
      displayName: 'e1',
      enabled: true,
      source: 'telemetry',
      destinations: [{ id: 'hook' }],
    });
    assert.equal(put.status, 200);
    // The second node picks the export up at its next reconcile; only one holds the lease.
    await new Promise((r) => setTimeout(r, RECONCILE_MS + 1000));
    const group = await b.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      '/api/enrollmentGroups/SAS-IoT-Devices',
    );
    const onA = await sasFleet(a, group.body.attestation.symmetricKey.primaryKey).connect('node-a-dev');
    const onB = await sasFleet(b, group.body.attestation.symmetricKey.primaryKey).connect('node-b-dev');
    for (let i = 0; i < 10; i++) {
      await onA.publishAsync('devices/node-a-dev/messages/events/', JSON.stringify({ n: i }), { qos: 1 });
      await onB.publishAsync('devices/node-b-dev/messages/events/', JSON.stringify({ n: i }), { qos: 1 });
    }
    onA.end(true);
    onB.end(true);
    await hook.waitFor((r) => r.length >= 20, 20_000);
    await new Promise((r) => setTimeout(r, 2000));
    const keys = hook.received.map((r) => {
      const m = r.body as { deviceId: string; telemetry: { n: number } };
      return `${m.deviceId}:${m.telemetry.n}`;
    });
    assert.equal(new Set(keys).size, 20, 'every message arrived');
    assert.equal(keys.length, 20, 'no node delivered a message the other delivered');
  });
});
