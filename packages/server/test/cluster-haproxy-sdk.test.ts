/**
 * The how-to device on three real nodes behind HAProxy (CLUSTER.md §6.6), with the real Azure
 * IoT SDK packages: it provisions and connects through HAProxy on 8883 (the SDK's only port,
 * so this file holds the 8883 lock); its commands, desired properties and C2D messages are
 * sent through the REST API of each of the three nodes. Then the node holding it is killed
 * with SIGKILL (T4): a command at once answers 404 fast, the SDK reconnects through HAProxy to
 * another node by itself, and commands, twin and C2D work again — the twin subscription,
 * which the SDK does not renew (PROTOCOL.md §3.9), comes back from PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDeviceCertificate, createRootCa } from '@gatehouse/pki';

import { runAzureProvision } from './helpers/azure-device.js';
import { AzureHubDevice } from './helpers/azure-hub.js';
import { clusterSkipReason, until, withCluster } from './helpers/cluster.js';
import { tempDir, writeIssued } from './helpers/pki-files.js';

const ID = 'cluster-howto';

describe(
  'the how-to device on three nodes behind HAProxy',
  { skip: clusterSkipReason(), concurrency: false },
  () => {
    const c = withCluster({ mqttFrontPort: 8883 });
    let device: AzureHubDevice | undefined;
    let files: { cert: string; key: string };

    const holder = async () =>
      (
        await c.query<{ node_id: string; epoch: string }>(
          'SELECT node_id, epoch FROM device_sessions WHERE device_id = $1',
          [ID],
        )
      )[0];
    const indexOf = (nodeId: string) => c.cluster.nodes.findIndex((n) => n.nodeId === nodeId);

    /** A command, a desired property and a C2D message through node `i`, each seen by the device. */
    async function exercise(i: number, round: string): Promise<void> {
      const d = device!;
      const methodSeen = d.next(
        (e) => e.event === 'method' && e['payload'] === round,
        15_000,
        `method ${round}`,
      );
      const cmd = await c.cluster.api<{ responseCode: number; response: unknown }>(
        i,
        'POST',
        `/api/devices/${ID}/commands/blink`,
        { request: round, responseTimeout: 10 },
      );
      assert.equal(cmd.status, 201, `command via node ${i + 1}: ${JSON.stringify(cmd.body)}`);
      assert.equal(cmd.body.responseCode, 200);
      await methodSeen;

      const desiredSeen = d.next(
        (e) => e.event === 'desired' && (e['delta'] as Record<string, unknown>)['round'] === round,
        15_000,
        `desired ${round}`,
      );
      const patch = await c.cluster.api(i, 'PATCH', `/api/devices/${ID}/properties`, { round });
      assert.equal(patch.status, 202, `desired via node ${i + 1}: ${JSON.stringify(patch.body)}`);
      await desiredSeen;

      const c2dSeen = d.next(
        (e) => e.event === 'c2d' && e['body'] === `c2d-${round}`,
        15_000,
        `c2d ${round}`,
      );
      const msg = await c.cluster.api(i, 'POST', `/api/devices/${ID}/messages`, { body: `c2d-${round}` });
      assert.equal(msg.status, 201, `C2D via node ${i + 1}: ${JSON.stringify(msg.body)}`);
      await c2dSeen;
    }

    before(async () => {
      const root = await createRootCa({ commonName: 'cluster-howto-root' });
      const group = await c.cluster.api(1, 'PUT', '/api/enrollmentGroups/ClusterHowTo', {
        displayName: 'ClusterHowTo',
        type: 'iot',
        attestation: { type: 'x509' },
      });
      assert.equal(group.status, 200, JSON.stringify(group.body));
      const up = await c.cluster.api(1, 'PUT', '/api/enrollmentGroups/ClusterHowTo/certificates/primary', {
        certificate: root.certificate.pem,
        verified: true,
      });
      assert.equal(up.status, 200, JSON.stringify(up.body));
      files = await writeIssued(
        await tempDir(),
        ID,
        await createDeviceCertificate({ commonName: ID, issuer: root }),
      );
    });
    after(async () => {
      await device?.stop();
    });

    it('provisions and connects through HAProxy on 8883; commands, desired properties and C2D through each node', async () => {
      const reg = await runAzureProvision({
        caPath: c.cluster.caPath,
        idScope: c.cluster.idScope,
        registrationId: ID,
        certFile: files.cert,
        keyFile: files.key,
      });
      assert.equal(reg.ok, true, JSON.stringify(reg.error));
      assert.equal(reg.result?.deviceId, ID);
      device = new AzureHubDevice(
        {
          HUB_HOST: 'localhost',
          DEVICE_ID: ID,
          CERT_FILE: files.cert,
          KEY_FILE: files.key,
          TELEMETRY_COUNT: '2',
        },
        c.cluster.caPath,
      );
      await device.waitFor((e) => e.event === 'reported', 20_000, 'connected, twin read, reported');
      await device.waitFor((e) => e.event === 'sent' && e['n'] === 1, 20_000, 'telemetry sent');
      const row = await holder();
      assert.ok(row, 'a device_sessions row');
      assert.notEqual(indexOf(row.node_id), -1, `held by a node of the cluster: ${row.node_id}`);
      for (const i of [0, 1, 2]) await exercise(i, `r${i}`);
      // Its telemetry is visible on every node.
      for (const i of [0, 1, 2]) {
        const t = await c.cluster.api<{ value: unknown[] }>(i, 'GET', `/api/devices/${ID}/telemetry`);
        assert.equal(t.body.value.length, 2);
      }
    });

    it('kill -9 of the node holding it: 404 at once, the SDK reconnects elsewhere, everything works again', async () => {
      const d = device!;
      const before = (await holder())!;
      const dead = indexOf(before.node_id);
      const other = (dead + 1) % 3;
      const killedAt = Date.now();
      await c.cluster.kill(dead);

      // T4: a command right after the kill finds nobody subscribed: 404 within a second (or, if
      // the SDK was already back, it simply works).
      const t0 = Date.now();
      const first = await c.cluster.api<{ error?: { code: string } }>(
        other,
        'POST',
        `/api/devices/${ID}/commands/blink`,
        {
          request: 'right-after-kill',
          responseTimeout: 5,
        },
      );
      const took = Date.now() - t0;
      assert.ok(
        (first.status === 404 && first.body.error?.code === 'ERR_DEVICE_OFFLINE' && took < 1000) ||
          first.status === 201,
        `right after the kill: ${first.status} in ${took} ms ${JSON.stringify(first.body)}`,
      );

      // The SDK reconnects through HAProxy by itself, to a live node.
      const moved = await until(
        async () => {
          const r = await holder();
          return r && r.node_id !== before.node_id && BigInt(r.epoch) > BigInt(before.epoch) ? r : undefined;
        },
        30_000,
        'the device holds a session on another node',
      );
      const okAt = await until(
        async () => {
          const r = await c.cluster.api(other, 'POST', `/api/devices/${ID}/commands/turnon`, {
            responseTimeout: 5,
          });
          return r.status === 201 ? Date.now() : undefined;
        },
        30_000,
        'a command succeeds again',
      );
      console.log(
        `# failover: ${before.node_id} killed; ${moved.node_id} holds the device; command ok after ${okAt - killedAt} ms`,
      );

      // The killed node comes back and serves REST again; every node reaches the device.
      await c.cluster.restart(dead);
      for (const i of [0, 1, 2]) await exercise(i, `after-${i}`);
      d.send({ cmd: 'send', body: 'after-failover' });
      await d.next(
        (e) => e.event === 'sent' && e['body'] === 'after-failover',
        15_000,
        'telemetry after failover',
      );
      const rows = await c.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM telemetry WHERE device_id = $1 AND convert_from(body, 'UTF8') = 'after-failover'",
        [ID],
      );
      assert.equal(rows[0]?.n, 1);
    });
  },
);
