/**
 * T10 of CLUSTER.md §6.6: PostgreSQL's postmaster is killed with SIGKILL while devices stream
 * QoS 1 telemetry through HAProxy to three nodes, then started again. With
 * synchronous_commit=on (checked), every message a device saw acknowledged is a row after the
 * restart: PUBACK only after a COMMIT that reached the WAL on disk. This file runs a PostgreSQL
 * of its own (started the way scripts/test-services.mjs does), since it kills it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  auditTelemetry,
  enrollClusterFleet,
  streamFleet,
  TELEMETRY_SEQ_QUERY,
} from '../bench/cluster-fleet.js';
import { clusterSkipReason, until, withCluster } from './helpers/cluster.js';

const root = process.env['GATEHOUSE_REPO_ROOT'] ?? join(process.cwd());
const servicesScript = join(root, 'scripts', 'test-services.mjs');

/** The services folder of this file's own PostgreSQL (and Redis), from test-services.mjs. */
let servicesDir: string | undefined;

function runPg(bin: string, args: string[]): { status: number | null; out: string } {
  const asRoot = process.getuid?.() === 0;
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe(
  'PostgreSQL killed with SIGKILL under a QoS 1 stream (T10)',
  { skip: clusterSkipReason(), concurrency: false },
  () => {
    before(() => {
      // A PostgreSQL of our own; the suite's database is created on it (the variable is read
      // by the database helper when the cluster's `before` runs, after this one).
      const r = spawnSync(process.execPath, [servicesScript, 'start', 'postgres', 'redis'], {
        encoding: 'utf8',
        env: process.env,
      });
      assert.equal(r.status, 0, r.stderr);
      for (const line of r.stdout.split('\n')) {
        const m = /^export (\w+)='(.*)'$/.exec(line.trim());
        if (!m) continue;
        if (m[1] === 'GATEHOUSE_TEST_SERVICES_DIR') servicesDir = m[2];
        if (m[1] === 'GATEHOUSE_TEST_DATABASE_URL') process.env['GATEHOUSE_TEST_DATABASE_URL'] = m[2];
      }
      assert.ok(servicesDir, `no services folder in ${r.stdout}`);
    });
    const c = withCluster();
    after(() => {
      if (servicesDir)
        spawnSync(process.execPath, [servicesScript, 'stop'], {
          env: { ...process.env, GATEHOUSE_TEST_SERVICES_DIR: servicesDir },
        });
    });

    it(
      'every acknowledged message is in PostgreSQL after the postmaster was killed and restarted',
      { timeout: 150_000 },
      async () => {
        const setting = await c.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
        assert.equal(setting[0]?.synchronous_commit, 'on');
        const fleet = await enrollClusterFleet(c.cluster, 10, 't10');
        const stream = await streamFleet(c.cluster, fleet, { intervalMs: 50, window: 4 });
        let restartedAfter = 0;
        try {
          await until(async () => stream.stats.acked.size >= 1000 || undefined, 30_000, 'telemetry flowing');
          const ackedAtKill = stream.stats.acked.size;
          const data = join(servicesDir!, 'pg');
          const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
          const killedAt = Date.now();
          process.kill(pid, 'SIGKILL');
          await new Promise((r) => setTimeout(r, 2_000));
          // The orphaned backends notice their postmaster is gone and exit; until then a new
          // postmaster refuses to start on the same data folder, so try again for a while.
          const bin = readFileSync(join(servicesDir!, 'pg-bin'), 'utf8');
          let last = '';
          await until(
            async () => {
              const r = runPg(join(bin, 'pg_ctl'), [
                'start',
                '-w',
                '-t',
                '30',
                '-D',
                data,
                '-l',
                join(servicesDir!, 'postgres.log'),
              ]);
              last = r.out;
              return r.status === 0 || undefined;
            },
            45_000,
            `PostgreSQL starts again (${last})`,
          );
          restartedAfter = Date.now() - killedAt;
          // The stream resumes: acknowledgements again after the restart.
          const resumedFrom = stream.stats.acked.size;
          try {
            await until(
              async () => stream.stats.acked.size >= resumedFrom + 500 || undefined,
              45_000,
              'acknowledgements again',
            );
          } catch (err) {
            const states = await Promise.all(
              c.cluster.nodes.map(async (n) => {
                const ready = await fetch(`http://127.0.0.1:${n.httpPort}/readyz`)
                  .then(async (r) => `${r.status} ${await r.text()}`)
                  .catch((e: Error) => e.message);
                return `${n.nodeId} (${n.child?.exitCode ?? n.child?.signalCode ?? 'running'}): /readyz ${ready}\n${n.output.slice(-1500)}`;
              }),
            );
            throw new Error(
              `${(err as Error).message}; acked ${stream.stats.acked.size}; devices connected ${stream.clients.filter((x) => x.connected).length}/${stream.clients.length}, reconnects ${stream.stats.reconnects}, sent ${stream.stats.sent}\n${states.join('\n')}`,
            );
          }
          console.log(
            `# T10: ${ackedAtKill} acknowledged at the kill; PostgreSQL back after ${restartedAfter} ms`,
          );
        } finally {
          await stream.stop();
        }
        const stats = stream.stats;
        const rows = await c.query<{ device_id: string; seq: number }>(TELEMETRY_SEQ_QUERY, ['t10-%']);
        const audit = auditTelemetry(stats.acked, rows);
        console.log(
          `# T10: sent ${stats.sent}, acknowledged ${stats.acked.size}, stored ${audit.stored}, duplicates ${audit.duplicates}, lost ${audit.lost.length}, reconnects ${stats.reconnects}`,
        );
        assert.deepEqual(audit.lost.slice(0, 20), [], `${audit.lost.length} acknowledged messages lost`);
      },
    );
  },
);
