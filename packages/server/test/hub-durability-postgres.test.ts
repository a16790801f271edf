/**
 * "Acknowledged means durable" on PostgreSQL (CLUSTER.md §6.4): a device streams QoS 1
 * telemetry to `gatehouse serve --database-url` in its own process, the process is killed
 * with SIGKILL mid-stream, and every message the device saw acknowledged is a row in
 * PostgreSQL; a second node with an empty data folder serves them through the REST API.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { startServe, type ServeProcess } from '../bench/util.js';
import {
  connectX509Device,
  DURABILITY_TOKEN,
  serveApi as api,
  streamUntilAcked,
} from './helpers/durable-stream.js';
import { postgresSkipReason, withPostgres } from './helpers/postgres.js';

describe('telemetry durability on PostgreSQL across SIGKILL', { skip: postgresSkipReason() }, () => {
  const pg = withPostgres();
  const dirs: string[] = [];
  const running: ServeProcess[] = [];
  const node = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-pg-durability-'));
    dirs.push(dir);
    const s = await startServe(dir, DURABILITY_TOKEN, ['--database-url', pg.url]);
    running.push(s);
    return s;
  };
  after(async () => {
    for (const s of running) s.child.kill('SIGKILL');
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('every acknowledged message is in PostgreSQL after the node is killed', async () => {
    const first = await node();
    const client = await connectX509Device(first, 'pg-dur-device');
    const { acked: ackedAtKill, sent } = await streamUntilAcked(client, 'pg-dur-device', () =>
      first.child.kill('SIGKILL'),
    );

    const rows = await pg.query<{ seq: number }>(
      "SELECT (convert_from(body, 'UTF8')::jsonb->>'seq')::int AS seq FROM telemetry WHERE device_id = 'pg-dur-device'",
    );
    const stored = new Set(rows.map((r) => r.seq));
    const lost = ackedAtKill.filter((seq) => !stored.has(seq));
    assert.deepEqual(lost, [], `${lost.length} of ${ackedAtKill.length} acknowledged messages lost`);
    console.log(`# ${ackedAtKill.length} acknowledged, ${stored.size} stored, ${sent} sent at the kill`);

    // Another node, nothing in its data folder: the same history through its REST API.
    const second = await node();
    const history = await api<{ value: Array<{ body: { seq: number } }> }>(
      second,
      'GET',
      '/api/devices/pg-dur-device/telemetry?limit=10000',
    );
    assert.equal(history.status, 200, JSON.stringify(history.body));
    assert.equal(history.body.value.length, stored.size);
  });
});
