/**
 * Moving from Azure with the real Azure SDK: the application starts with the Azure ID scope
 * (`serve --id-scope`), the DPS export is imported, and a device whose key was derived from the
 * imported group key provisions and connects with the key it already has; an imported IoT Hub
 * identity connects straight to the hub with its original SAS key. A second start with another
 * ID scope is refused. Holds the 8883 lock (the SDK's fixed port).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deriveDeviceKey } from '@gatehouse/protocol';
import { runAzureProvision } from './helpers/azure-device.js';
import { AzureHubDevice } from './helpers/azure-hub.js';
import { fixture, type PlanBody } from './helpers/import-fixtures.js';
import { withPortLock } from './helpers/port-lock.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

/** The ID scope the devices were configured with in Azure. */
const AZURE_SCOPE = '0ne00ABC123';
/** The group key of `contoso-sas-fleet` in dps-enrollment-groups.json. */
const GROUP_KEY = 'BanDhLeXIOZb/K27wDYmtT+tnEWeKrLvEi7SNW/BFiaXTLXJ9zG1NwMkcCuB+g7EH7xluYvPkqKAdjYJGxW+AA==';
/** The primary key of `meter-33` in hub-export.jsonl. */
const METER_KEY = 'tYeJI5AsHCPzFbSwXzKxi55Tuk5GpJLopDJqdCd0ZvJ0qzv7E96dX20uFm30evCKnJGNoUDidZ+1GTmTPT8YMA==';

describe('import: devices keep their Azure configuration (real Azure SDK)', { concurrency: false }, () => {
  let server: TestServer | undefined;
  let dataDir: string;
  let release: () => void = () => undefined;
  const devices: AzureHubDevice[] = [];

  before(async () => {
    await new Promise<void>((ready, fail) => {
      withPortLock(8883, () => new Promise<void>((done) => ((release = done), ready()))).catch(fail);
    });
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-import-sdk-'));
    server = await startTestServer({ mqttPort: 8883, dataDir, idScope: AZURE_SCOPE });
  });

  after(async () => {
    for (const d of devices) await d.stop();
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
    release();
  });

  it('starts with the Azure ID scope', async () => {
    const app = await server!.api<{ idScope: string }>('GET', '/api/application');
    assert.equal(app.body.idScope, AZURE_SCOPE);
  });

  it('a device with a key derived from an imported group key provisions and connects', async () => {
    const groups = fixture('dps-enrollment-groups.json').content;
    // Only the SAS group: the X.509 one needs a certificate this test does not make.
    const sasOnly = JSON.stringify([(JSON.parse(groups) as unknown[])[0]]);
    const res = await server!.api<PlanBody>('POST', '/api/imports', {
      format: 'dps',
      idScope: AZURE_SCOPE,
      files: [{ name: 'dps-enrollment-groups.json', content: sasOnly }],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.idScope, AZURE_SCOPE);

    // What the device already has from Azure: the scope and its derived key (PROTOCOL.md §6.2).
    const key = deriveDeviceKey(GROUP_KEY, 'sensor-9001');
    const reg = await runAzureProvision({
      caPath: server!.serverCaPath!,
      idScope: AZURE_SCOPE,
      registrationId: 'sensor-9001',
      symmetricKey: key,
    });
    assert.equal(reg.ok, true, JSON.stringify(reg.error));
    assert.equal(reg.result!.deviceId, 'sensor-9001');
    const device = new AzureHubDevice(
      {
        HUB_HOST: reg.result!.assignedHub,
        DEVICE_ID: 'sensor-9001',
        SHARED_ACCESS_KEY: key,
        TELEMETRY_COUNT: '1',
        TELEMETRY_INTERVAL_MS: '100',
      },
      server!.serverCaPath!,
    );
    devices.push(device);
    await device.waitFor((e) => e.event === 'sent', 20_000, 'telemetry sent');
    const d = await server!.api<{ enabled: boolean; provisioned: boolean }>(
      'GET',
      '/api/devices/sensor-9001',
    );
    assert.equal(d.body.provisioned, true);
  });

  it('an imported IoT Hub identity connects to the hub with its original SAS key', async () => {
    const res = await server!.api<PlanBody>('POST', '/api/imports', {
      format: 'hub',
      files: [fixture('hub-export.jsonl')],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const device = new AzureHubDevice(
      {
        HUB_HOST: 'localhost',
        DEVICE_ID: 'meter-33',
        SHARED_ACCESS_KEY: METER_KEY,
        TELEMETRY_COUNT: '1',
        TELEMETRY_INTERVAL_MS: '100',
      },
      server!.serverCaPath!,
    );
    devices.push(device);
    await device.waitFor((e) => e.event === 'sent', 20_000, 'telemetry sent');
    const status = await server!.api<{ status: { connected: boolean } }>('GET', '/api/devices/meter-33');
    assert.equal(status.body.status.connected, true);
  });

  it('a second start with another ID scope is refused (ERR_ID_SCOPE_CONFLICT)', async () => {
    for (const d of devices.splice(0)) await d.stop();
    await server!.close();
    server = undefined;
    await assert.rejects(
      startTestServer({ mqttPort: 8883, dataDir, idScope: '0ne00DEF456' }),
      (err: { code?: string; message: string }) =>
        err.code === 'ERR_ID_SCOPE_CONFLICT' && err.message.includes(AZURE_SCOPE),
    );
    // The same scope again, or none, starts.
    server = await startTestServer({ mqttPort: 8883, dataDir, idScope: AZURE_SCOPE });
    assert.equal(server.idScope, AZURE_SCOPE);
  });
});
