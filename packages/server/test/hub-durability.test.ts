/**
 * "Acknowledged means durable": a device streams QoS 1 telemetry, the server
 * process is killed with SIGKILL mid-stream and started again on the same data
 * folder, and every message the device saw acknowledged (PUBACK) is in the
 * store. The server runs as `gatehouse serve` in its own process.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startServe, type ServeProcess } from '../bench/util.js';
import { connectX509Device, DURABILITY_TOKEN, serveApi, streamUntilAcked } from './helpers/durable-stream.js';

/** `gatehouse serve` in its own process: the benchmarks' launcher, so there is one copy. */
const serve = (dataDir: string): Promise<ServeProcess> => startServe(dataDir, DURABILITY_TOKEN);

describe('telemetry durability across SIGKILL', () => {
  let dataDir: string;
  let running: ServeProcess | undefined;
  after(async () => {
    running?.child.kill('SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('every message the device saw acknowledged is stored after a SIGKILL and restart', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-durability-'));
    running = await serve(dataDir);
    const killed = running;
    const client = await connectX509Device(running, 'dur-device');
    const { acked: ackedAtKill } = await streamUntilAcked(client, 'dur-device', () =>
      killed.child.kill('SIGKILL'),
    );
    assert.ok(ackedAtKill.length >= 1000);

    running = await serve(dataDir);
    const history = await serveApi<{ value: Array<{ body: { seq: number } }> }>(
      running,
      'GET',
      '/api/devices/dur-device/telemetry?limit=10000',
    );
    assert.equal(history.status, 200, JSON.stringify(history.body));
    const stored = new Set(history.body.value.map((m) => m.body.seq));
    const lost = ackedAtKill.filter((seq) => !stored.has(seq));
    assert.deepEqual(
      lost,
      [],
      `${lost.length} acknowledged messages were lost (of ${ackedAtKill.length} acknowledged, ${stored.size} stored)`,
    );
  });
});
