/**
 * The tutorial's SAS path with the real Azure SDK: a device of the default
 * SAS-IoT-Devices group provisions with its derived key
 * (SymmetricKeySecurityClient), connects with `SharedAccessKey=<derived key>`,
 * and keeps methods, C2D and desired properties working across SAS token
 * renewals, which make the SDK reconnect without re-subscribing (PROTOCOL.md
 * §3.9). Holds the 8883 lock (the SDK's fixed port).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deriveDeviceKey } from '@gatehouse/protocol';
import { runAzureProvision } from './helpers/azure-device.js';
import { AzureHubDevice } from './helpers/azure-hub.js';
import { withPortLock } from './helpers/port-lock.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

describe(
  'SAS device with the real Azure SDK: provisioning, hub, token renewal',
  { concurrency: false },
  () => {
    let server: TestServer;
    let release: () => void = () => undefined;
    let device: AzureHubDevice | undefined;
    let key: string;

    before(async () => {
      await new Promise<void>((ready, fail) => {
        withPortLock(8883, () => new Promise<void>((done) => ((release = done), ready()))).catch(fail);
      });
      server = await startTestServer({ mqttPort: 8883 });
      const g = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
        'GET',
        '/api/enrollmentGroups/SAS-IoT-Devices',
      );
      key = deriveDeviceKey(g.body.attestation.symmetricKey.primaryKey, 'sas-sensor');
    });

    after(async () => {
      await device?.stop();
      await server?.stop();
      release();
    });

    it('provisions with the derived key and connects to the hub with the same key', async () => {
      const reg = await runAzureProvision({
        caPath: server.serverCaPath!,
        idScope: server.idScope,
        registrationId: 'sas-sensor',
        symmetricKey: key,
      });
      assert.equal(reg.ok, true, JSON.stringify(reg.error));
      device = new AzureHubDevice(
        {
          HUB_HOST: reg.result!.assignedHub,
          DEVICE_ID: reg.result!.deviceId,
          SHARED_ACCESS_KEY: key,
          TELEMETRY_COUNT: '2',
          TELEMETRY_INTERVAL_MS: '100',
          TOKEN_RENEWAL_SECONDS: '8',
        },
        server.serverCaPath!,
      );
      await device.waitFor((e) => e.event === 'sent' && e['n'] === 1, 20_000, 'telemetry sent');
      const latest = await server.api<{ value: number }>('GET', '/api/devices/sas-sensor/telemetry/temp');
      assert.equal(latest.body.value, 21);
    });

    it('keeps methods, C2D and desired properties across token renewals (reconnects without re-subscribing)', async () => {
      await device!.waitFor((e) => e.event === 'reported', 20_000, 'start-up twin patch');
      const before = await server.api<{ status: { lastConnected: string } }>(
        'GET',
        '/api/devices/sas-sensor',
      );
      // Tokens live 8 s and are renewed 5 s after issue: wait for at least two renewals.
      await new Promise((r) => setTimeout(r, 12_000));
      const afterRenewals = await server.api<{ status: { lastConnected: string; connected: boolean } }>(
        'GET',
        '/api/devices/sas-sensor',
      );
      assert.notEqual(
        afterRenewals.body.status.lastConnected,
        before.body.status.lastConnected,
        'the SDK reconnected with a renewed token',
      );
      assert.equal(afterRenewals.body.status.connected, true);
      const r = await server.api<{ responseCode: number; response: { status: string } }>(
        'POST',
        '/api/devices/sas-sensor/commands/blink',
        { request: 2, responseTimeout: 10 },
      );
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.response.status, 'Blinking LED every 2 seconds');
      await server.api('POST', '/api/devices/sas-sensor/messages', { body: 'after renewal' });
      await device!.waitFor(
        (e) => e.event === 'c2d' && e['body'] === 'after renewal',
        20_000,
        'C2D after renewal',
      );
      const desired = device!.next(
        (e) => e.event === 'desired' && (e['delta'] as Record<string, unknown>)['name'] !== undefined,
        20_000,
        'desired after renewal',
      );
      await server.api('PATCH', '/api/devices/sas-sensor/properties', { name: 'renewed' });
      assert.equal(((await desired)['delta'] as Record<string, unknown>)['name'], 'renewed');
    });
  },
);
