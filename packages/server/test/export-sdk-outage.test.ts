/**
 * At-least-once export with the how-to's device built from the real Azure SDK: the webhook
 * receiver is down (connection refused, then HTTP 500s) for 30 s while the device keeps sending
 * one message every 500 ms, and Gatehouse is restarted on its data meanwhile (the SDK reconnects
 * by itself). Afterwards every message the server acknowledged (stored) has arrived; duplicates
 * are counted and allowed. The SDK speaks only to 8883, so the file holds the 8883 lock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { deriveDeviceKey } from '@gatehouse/protocol';

import { runAzureProvision } from './helpers/azure-device.js';
import { AzureHubDevice } from './helpers/azure-hub.js';
import { tempDir } from './helpers/pki-files.js';
import { withPortLock } from './helpers/port-lock.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const V = '?api-version=2022-10-31-preview';
const DEVICE = 'sdk-outage';
const COUNT = 70;

type Body = Record<string, unknown>;

describe(
  'export through a 30 s receiver outage and a server restart, real Azure SDK device',
  { timeout: 240_000 },
  () => {
    let server: TestServer;
    let dataDir: string;
    let release: () => void = () => undefined;
    let hook: WebhookReceiver;
    let device: AzureHubDevice | undefined;

    const status = async () => (await server.api<Body>('GET', `/api/dataExport/exports/outage${V}`)).body;

    before(async () => {
      await new Promise<void>((ready, fail) => {
        withPortLock(8883, () => new Promise<void>((done) => ((release = done), ready()))).catch(fail);
      });
      dataDir = await tempDir('gatehouse-export-sdk-outage-');
      hook = await startWebhookReceiver();
      server = await startTestServer({ mqttPort: 8883, dataDir });
    });

    after(async () => {
      await device?.stop();
      await server?.stop();
      release();
      await hook?.close();
    });

    it('every acknowledged message arrives after refusals, 500s and a restart', async () => {
      const d = await server.api('PUT', `/api/dataExport/destinations/hook${V}`, {
        displayName: 'Receiver',
        type: 'webhook@v1',
        url: hook.url,
      });
      assert.equal(d.status, 200, JSON.stringify(d.body));
      const e = await server.api('PUT', `/api/dataExport/exports/outage${V}`, {
        displayName: 'Outage',
        enabled: true,
        source: 'telemetry',
        filter: `SELECT * FROM devices WHERE $id = "${DEVICE}"`,
        destinations: [{ id: 'hook' }],
      });
      assert.equal(e.status, 200, JSON.stringify(e.body));
      const g = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
        'GET',
        '/api/enrollmentGroups/SAS-IoT-Devices',
      );
      const key = deriveDeviceKey(g.body.attestation.symmetricKey.primaryKey, DEVICE);
      const reg = await runAzureProvision({
        caPath: server.serverCaPath!,
        idScope: server.idScope,
        registrationId: DEVICE,
        symmetricKey: key,
      });
      assert.equal(reg.ok, true, JSON.stringify(reg.error));

      await hook.down();
      const outageStart = Date.now();
      device = new AzureHubDevice(
        {
          HUB_HOST: reg.result!.assignedHub,
          DEVICE_ID: DEVICE,
          SHARED_ACCESS_KEY: key,
          TELEMETRY_COUNT: String(COUNT),
          TELEMETRY_INTERVAL_MS: '500',
        },
        server.serverCaPath!,
      );
      // A twin request in flight when the server stops is never answered (PROTOCOL.md §3.5): let
      // the start-up exchange finish first.
      await device.waitFor((ev) => ev.event === 'reported', 20_000, 'start-up report');
      await device.waitFor((ev) => ev.event === 'sent' && ev['n'] === 9, 20_000, 'ten messages sent');
      const refused = await status();
      assert.equal(refused['status'], 'error', JSON.stringify(refused));
      assert.match(JSON.stringify(refused), /connection refused by 127\.0\.0\.1/);

      // Then the receiver answers 500s, and Gatehouse restarts on its data meanwhile.
      await hook.up();
      hook.mode = 'fail';
      await server.stop();
      server = await startTestServer({ mqttPort: 8883, dataDir });
      await device.waitFor(
        (ev) => ev.event === 'sent' && ev['n'] === 40,
        60_000,
        'sending after the restart',
      );
      const failing = await status();
      assert.match(JSON.stringify(failing), /HTTP 500: receiver is failing/);
      assert.ok(Number(failing['backlog']) > 0, `the backlog is shown: ${JSON.stringify(failing)}`);
      assert.equal(hook.received.length, 0, 'nothing accepted while down');

      const rest = 30_000 - (Date.now() - outageStart);
      if (rest > 0) await sleep(rest);
      hook.mode = 'ok';
      await device.waitFor((ev) => ev.event === 'sent' && ev['n'] === COUNT - 1, 60_000, 'all messages sent');

      const acknowledged = new Set(
        device.events.filter((ev) => ev.event === 'sent').map((ev) => ev['n'] as number),
      );
      assert.equal(acknowledged.size, COUNT);
      const seqOf = (b: Body) => Number((b['messageProperties'] as Record<string, string>)['seq']);
      const arrived = () =>
        hook.received
          .map((r) => r.body as Body)
          .filter((b) => b['deviceId'] === DEVICE && b['messageSource'] === 'telemetry');
      await hook
        .waitFor(() => new Set(arrived().map(seqOf)).size >= COUNT, 60_000)
        .catch((err: Error) => {
          const got = new Set(arrived().map(seqOf));
          throw new Error(
            `${err.message}: missing ${[...acknowledged].filter((n) => !got.has(n)).join(',')}`,
          );
        });
      const got = arrived();
      for (const n of acknowledged)
        assert.ok(
          got.some((b) => seqOf(b) === n),
          `message ${n} arrived`,
        );
      for (const b of got) {
        assert.deepEqual(b['telemetry'], { temp: 20 + seqOf(b), humid: 50 + seqOf(b) });
      }
      const duplicates = got.length - new Set(got.map(seqOf)).size;
      let healthy = await status();
      for (const end = Date.now() + 15_000; !(healthy['status'] === 'healthy' && healthy['backlog'] === 0);) {
        assert.ok(Date.now() < end, `the export catches up by itself: ${JSON.stringify(healthy)}`);
        await sleep(100);
        healthy = await status();
      }
      assert.equal(healthy['dropped'], 0);
      assert.ok(Number(healthy['delivered']) >= COUNT, JSON.stringify(healthy));
      process.stdout.write(`# ${COUNT} acknowledged, ${got.length} received, ${duplicates} duplicates\n`);
    });
  },
);
