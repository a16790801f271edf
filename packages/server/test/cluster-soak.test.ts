/**
 * The soak of CLUSTER.md §6.6 (T6), CI-sized: 24 devices stream QoS 1 telemetry through
 * HAProxy to three nodes (about 500 msg/s offered) for 75 s while a random node is killed with
 * SIGKILL every 15 s and started again. Every message a device saw acknowledged is a row in
 * PostgreSQL afterwards (none lost); duplicates (QoS 1 redelivery after a kill) are counted and
 * printed; no device goes more than 10 s without an acknowledgement.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  auditTelemetry,
  enrollClusterFleet,
  streamFleet,
  TELEMETRY_SEQ_QUERY,
} from '../bench/cluster-fleet.js';
import { clusterSkipReason, withCluster } from './helpers/cluster.js';

const DEVICES = Number(process.env['GATEHOUSE_SOAK_DEVICES'] ?? 24);
const SECONDS = Number(process.env['GATEHOUSE_SOAK_SECONDS'] ?? 75);
const KILL_EVERY_MS = 15_000;

describe(
  'soak: QoS 1 through HAProxy while a random node is killed every 15 s',
  { skip: clusterSkipReason() },
  () => {
    const c = withCluster();

    it(
      'every acknowledged message is in PostgreSQL; duplicates counted',
      { timeout: (SECONDS + 90) * 1000 },
      async () => {
        const fleet = await enrollClusterFleet(c.cluster, DEVICES, 'soak');
        const stream = await streamFleet(c.cluster, fleet, { intervalMs: 50, window: 4 });
        const kills: string[] = [];
        const end = Date.now() + SECONDS * 1000;
        try {
          while (Date.now() + KILL_EVERY_MS <= end) {
            await new Promise((r) => setTimeout(r, KILL_EVERY_MS - 3_000));
            const victim = Math.floor(Math.random() * 3);
            await c.cluster.kill(victim);
            kills.push(c.cluster.nodes[victim]!.nodeId);
            await new Promise((r) => setTimeout(r, 3_000));
            await c.cluster.restart(victim);
          }
          await new Promise((r) => setTimeout(r, Math.max(0, end - Date.now())));
        } finally {
          await stream.stop();
        }
        const stats = stream.stats;
        const rows = await c.query<{ device_id: string; seq: number }>(TELEMETRY_SEQ_QUERY, ['soak-%']);
        const audit = auditTelemetry(stats.acked, rows);
        console.log(
          `# soak: ${DEVICES} devices, ${SECONDS} s, kills ${kills.join(', ')}; sent ${stats.sent}, acknowledged ${stats.acked.size} (${(stats.acked.size / SECONDS).toFixed(0)}/s), stored ${audit.stored}, duplicates ${audit.duplicates}, lost ${audit.lost.length}, reconnects ${stats.reconnects}, longest gap ${stats.longestGapMs} ms`,
        );
        assert.ok(kills.length >= 3, 'at least three kills');
        assert.ok(stats.acked.size > 1000, `enough traffic: ${stats.acked.size}`);
        assert.deepEqual(audit.lost.slice(0, 20), [], `${audit.lost.length} acknowledged messages lost`);
        assert.ok(
          stats.longestGapMs < 10_000,
          `a device went ${stats.longestGapMs} ms without an acknowledgement`,
        );
      },
    );
  },
);
