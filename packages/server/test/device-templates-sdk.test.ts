/**
 * Automatic template assignment with the real Azure SDK packages (contract §A Assignment): a
 * device of the default SAS-IoT-Devices group provisions with `{ modelId }` (or the legacy
 * `iotcModelId`) as its DPS payload and ends up with the matching template; an unknown model
 * leaves it unassigned; an existing template is kept. Then the hub side: the SDK's
 * `setOptions({ modelId })` announces `model-id` in the username. Holds the 8883 lock (the SDK's
 * fixed port).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deriveDeviceKey } from '@gatehouse/protocol';
import { runAzureProvision } from './helpers/azure-device.js';
import { AzureHubDevice } from './helpers/azure-hub.js';
import { withPortLock } from './helpers/port-lock.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const THERMOSTAT = 'dtmi:gatehouse:Thermostat;1';
const SENSOR = 'dtmi:gatehouse:EnvironmentalSensor;1';

describe('template assignment from the model ID, real Azure SDK on 8883', { concurrency: false }, () => {
  let server: TestServer;
  let release: () => void = () => undefined;
  let groupKey: string;
  const devices: AzureHubDevice[] = [];

  before(async () => {
    await new Promise<void>((ready, fail) => {
      withPortLock(8883, () => new Promise<void>((done) => ((release = done), ready()))).catch(fail);
    });
    server = await startTestServer({ mqttPort: 8883 });
    const g = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      '/api/enrollmentGroups/SAS-IoT-Devices',
    );
    groupKey = g.body.attestation.symmetricKey.primaryKey;
  });

  after(async () => {
    for (const d of devices) await d.stop();
    await server?.stop();
    release();
  });

  async function provision(id: string, payload?: unknown) {
    const reg = await runAzureProvision({
      caPath: server.serverCaPath!,
      idScope: server.idScope,
      registrationId: id,
      symmetricKey: deriveDeviceKey(groupKey, id),
      ...(payload !== undefined ? { payload } : {}),
    });
    assert.equal(reg.ok, true, JSON.stringify(reg.error));
    return reg.result!;
  }

  const templateOf = async (id: string) =>
    (await server.api<{ template?: string }>('GET', `/api/devices/${id}`)).body.template;

  const CASES: Array<[string, string, unknown, string | undefined]> = [
    [
      'payload modelId of the Thermostat',
      'thermostat-1',
      { modelId: 'dtmi:com:example:Thermostat;1' },
      THERMOSTAT,
    ],
    [
      'legacy payload iotcModelId',
      'sensor-1',
      { iotcModelId: 'dtmi:com:example:EnvironmentalSensor;1' },
      SENSOR,
    ],
    ['an unknown model ID', 'unknown-1', { modelId: 'dtmi:com:example:Unknown;1' }, undefined],
    ['no payload', 'plain-1', undefined, undefined],
  ];
  for (const [what, id, payload, expected] of CASES) {
    it(`provisioning with ${what} → ${expected ?? 'unassigned'}`, async () => {
      await provision(id, payload);
      assert.equal(await templateOf(id), expected);
    });
  }

  it('re-provisioning with another model keeps the template the device has', async () => {
    await provision('thermostat-1', { modelId: 'dtmi:com:example:EnvironmentalSensor;1' });
    assert.equal(await templateOf('thermostat-1'), THERMOSTAT);
    const t = await server.api<{ devices: number }>(
      'GET',
      `/api/deviceTemplates/${encodeURIComponent(THERMOSTAT)}`,
    );
    assert.equal(t.body.devices, 1);
  });

  it('a hub connection announcing model-id assigns the template to an unassigned device', async () => {
    const reg = await provision('hub-thermostat-1');
    assert.equal(await templateOf('hub-thermostat-1'), undefined);
    const device = new AzureHubDevice(
      {
        HUB_HOST: reg.assignedHub,
        DEVICE_ID: reg.deviceId,
        SHARED_ACCESS_KEY: deriveDeviceKey(groupKey, 'hub-thermostat-1'),
        MODEL_ID: 'dtmi:com:example:Thermostat;1',
      },
      server.serverCaPath!,
    );
    devices.push(device);
    await device.waitFor((e) => e.event === 'open', 20_000, 'hub connection');
    let template: string | undefined;
    for (let i = 0; i < 50 && template === undefined; i++) {
      template = await templateOf('hub-thermostat-1');
      if (template === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(template, THERMOSTAT);
  });
});
