/**
 * A job survives a restart of the server (EXPORT_RULES.md §5.2, jobs/job-runner.ts): stopped
 * with the job in its first batch, the server starts again on the same data folder and the job
 * goes on at the batch it had reached, writing the later batches' desired properties.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { rm } from 'node:fs/promises';

import type { Job } from '../src/jobs/job-body.js';
import { tempDir } from './helpers/pki-files.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const ENV = 'dtmi:gatehouse:EnvironmentalSensor;1';

describe('a job across a restart of the server', () => {
  let server: TestServer | undefined;
  let dataDir: string | undefined;
  after(async () => {
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('resumes where it was', async () => {
    dataDir = await tempDir('gatehouse-jobs-restart-');
    server = await startTestServer({ dataDir, jobAckWaitMs: 60_000 });
    for (const id of ['r-1', 'r-2', 'r-3']) {
      assert.equal((await server.api('PUT', `/api/devices/${id}`, { template: ENV })).status, 200);
    }
    await server.api('PUT', '/api/deviceGroups/all', { displayName: 'All', filter: 'SELECT * FROM devices' });
    const created = await server.api<Job>('PUT', '/api/jobs/names', {
      group: 'all',
      batch: { type: 'number', value: 1 },
      data: [{ type: 'property', target: ENV, path: 'name', value: 'after restart' }],
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const desired = async (id: string) =>
      (
        await server!.api<{ $metadata: Record<string, { desiredValue?: unknown }> }>(
          'GET',
          `/api/devices/${id}/properties`,
        )
      ).body.$metadata['name']?.desiredValue;
    const deadline = Date.now() + 10_000;
    while ((await desired('r-1')) === undefined) {
      assert.ok(Date.now() < deadline, 'the first batch was written');
      await new Promise((r) => setTimeout(r, 100));
    }
    // The first batch waits (up to a minute) for r-1's acknowledgement: stop the server now.
    await server.close();
    server = await startTestServer({ dataDir, jobAckWaitMs: 200 });
    const afterRestart = await server.api<Job>('GET', '/api/jobs/names');
    assert.equal(afterRestart.status, 200);
    assert.ok(['running', 'complete'].includes(afterRestart.body.status), afterRestart.body.status);
    const end = Date.now() + 15_000;
    let job = afterRestart.body;
    while (job.status !== 'complete') {
      assert.ok(Date.now() < end, `job never completed: ${JSON.stringify(job)}`);
      await new Promise((r) => setTimeout(r, 100));
      job = (await server.api<Job>('GET', '/api/jobs/names')).body;
    }
    // Nobody acknowledges (no device is connected): written, and pending.
    assert.deepEqual(job.progress, { total: 3, pending: 3, completed: 0, failed: 0 });
    assert.equal(await desired('r-2'), 'after restart');
    assert.equal(await desired('r-3'), 'after restart');
  });
});
