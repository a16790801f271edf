/**
 * Jobs over a device group of real Azure SDK devices (azure-iot-provisioning-device +
 * azure-iot-device over MQTT/TLS, the tutorial's SAS path), one of them offline at first:
 * a property job stopped in its first batch and resumed, completing each device when the SDK
 * acknowledges the desired version (the offline one when it connects and reads its twin); a
 * command job that fails the offline device; a rerun of that failed device once it is back.
 * The SDK speaks only to 8883, so the file holds the 8883 lock (STYLE.md §8).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { deriveDeviceKey } from '@gatehouse/protocol';

import type { Job } from '../src/jobs/job-body.js';
import { runAzureProvision } from './helpers/azure-device.js';
import { AzureHubDevice } from './helpers/azure-hub.js';
import { withPortLock } from './helpers/port-lock.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const ENV_MODEL = 'dtmi:com:example:EnvironmentalSensor;1';
const ENV = 'dtmi:gatehouse:EnvironmentalSensor;1';
const IDS = ['sdk-1', 'sdk-2', 'sdk-3'];
const ACK_WAIT_MS = 3000;

describe('jobs over a group of real Azure SDK devices', { concurrency: false }, () => {
  let server: TestServer;
  let release: () => void = () => undefined;
  const keys = new Map<string, string>();
  const devices = new Map<string, AzureHubDevice>();

  const job = async (id: string) => (await server.api<Job>('GET', `/api/jobs/${id}`)).body;
  const until = async (id: string, ok: (j: Job) => boolean, ms = 30_000): Promise<Job> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const j = await job(id);
      if (ok(j)) return j;
      if (Date.now() > deadline) throw new Error(`job ${id} never got there: ${JSON.stringify(j)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const statuses = async (id: string) =>
    Object.fromEntries(
      (
        await server.api<{ value: Array<{ id: string; status: string; message?: string }> }>(
          'GET',
          `/api/jobs/${id}/devices`,
        )
      ).body.value.map((d) => [d.id, d]),
    );
  const start = async (id: string) => {
    const device = new AzureHubDevice(
      { HUB_HOST: 'localhost', DEVICE_ID: id, SHARED_ACCESS_KEY: keys.get(id)! },
      server.serverCaPath!,
    );
    devices.set(id, device);
    await device.waitFor((e) => e.event === 'reported', 20_000, `${id} start-up report`);
    return device;
  };
  const stop = async (id: string) => {
    await devices.get(id)?.stop();
    devices.delete(id);
    const deadline = Date.now() + 10_000;
    while (
      (await server.api<{ status: { connected: boolean } }>('GET', `/api/devices/${id}`)).body.status
        .connected
    ) {
      if (Date.now() > deadline) throw new Error(`${id} still connected`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    await new Promise<void>((ready, fail) => {
      withPortLock(8883, () => new Promise<void>((done) => ((release = done), ready()))).catch(fail);
    });
    server = await startTestServer({ mqttPort: 8883, jobAckWaitMs: ACK_WAIT_MS });
    const g = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      '/api/enrollmentGroups/SAS-IoT-Devices',
    );
    for (const id of IDS) {
      const key = deriveDeviceKey(g.body.attestation.symmetricKey.primaryKey, id);
      keys.set(id, key);
      // The device announces its model: provisioning gives it the Environmental Sensor template.
      const reg = await runAzureProvision({
        caPath: server.serverCaPath!,
        idScope: server.idScope,
        registrationId: id,
        symmetricKey: key,
        payload: { modelId: ENV_MODEL },
      });
      assert.equal(reg.ok, true, JSON.stringify(reg.error));
    }
    const group = await server.api('PUT', '/api/deviceGroups/sensors', {
      displayName: 'Provisioned sensors',
      filter: `SELECT * FROM devices WHERE $template = "${ENV}" AND $provisioned = true`,
    });
    assert.equal(group.status, 200, JSON.stringify(group.body));
    // sdk-1 stays offline for now.
    await start('sdk-2');
    await start('sdk-3');
  });

  after(async () => {
    for (const d of devices.values()) await d.stop();
    await server?.stop();
    release();
  });

  it('the group selects the three provisioned devices', async () => {
    const res = await server.api<{ value: Array<{ id: string }> }>(
      'GET',
      '/api/deviceGroups/sensors/devices',
    );
    assert.deepEqual(
      res.body.value.map((d) => d.id),
      IDS,
    );
  });

  it('a property job in batches of one, stopped while the offline device holds the first batch, then resumed', async () => {
    const created = await server.api<Job>('PUT', '/api/jobs/brightness', {
      displayName: 'Dim the LEDs',
      group: 'sensors',
      batch: { type: 'number', value: 1 },
      data: [{ type: 'property', target: ENV, path: 'brightness', value: 2 }],
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    await until('brightness', (j) => j.status === 'running');
    assert.equal((await server.api('POST', '/api/jobs/brightness/stop')).status, 204);
    assert.equal((await job('brightness')).status, 'stopped');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(
      devices
        .get('sdk-2')!
        .events.some(
          (e) => e.event === 'desired' && (e['delta'] as Record<string, unknown>)['brightness'] !== undefined,
        ),
      false,
      'the second batch was not started',
    );

    assert.equal((await server.api('POST', '/api/jobs/brightness/resume')).status, 204);
    const done = await until('brightness', (j) => j.status === 'complete');
    assert.deepEqual(done.progress, { total: 3, pending: 1, completed: 2, failed: 0 });
    for (const id of ['sdk-2', 'sdk-3']) {
      const desired = await devices
        .get(id)!
        .waitFor(
          (e) => e.event === 'desired' && (e['delta'] as Record<string, unknown>)['brightness'] === 2,
          10_000,
          `${id} desired brightness`,
        );
      assert.ok(desired);
    }
    const before = await statuses('brightness');
    assert.equal(before['sdk-1']?.status, 'pending', 'offline: waits for its acknowledgement');

    // The device connects, gets its twin with the desired value and acknowledges it.
    await start('sdk-1');
    await until('brightness', (j) => j.progress.completed === 3);
    const properties = await server.api<{
      brightness: number;
      $metadata: { brightness: { ackCode: number } };
    }>('GET', '/api/devices/sdk-1/properties');
    assert.equal(properties.body.brightness, 2);
    assert.equal(properties.body.$metadata.brightness.ackCode, 200);
  });

  it('a command job: the offline device fails (device offline), the others answer', async () => {
    await stop('sdk-1');
    const created = await server.api<Job>('PUT', '/api/jobs/blink', {
      group: 'sensors',
      data: [{ type: 'command', target: ENV, path: 'blink', value: 3, responseTimeout: 10 }],
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const done = await until('blink', (j) => j.status === 'complete');
    assert.deepEqual(done.progress, { total: 3, pending: 0, completed: 2, failed: 1 });
    const s = await statuses('blink');
    assert.equal(s['sdk-1']?.status, 'failed');
    assert.match(s['sdk-1']?.message ?? '', /^ERR_DEVICE_OFFLINE/);
    for (const id of ['sdk-2', 'sdk-3']) {
      assert.equal(s[id]?.status, 'completed');
      await devices
        .get(id)!
        .waitFor(
          (e) => e.event === 'method' && e['name'] === 'blink' && e['payload'] === 3,
          5000,
          `${id} blink`,
        );
    }
  });

  it('rerun of the failed device once it is back', async () => {
    const sdk1 = await start('sdk-1');
    const rerun = await server.api<Job>('PUT', '/api/jobs/blink/rerun/blink-again');
    assert.equal(rerun.status, 200, JSON.stringify(rerun.body));
    assert.equal(rerun.body.progress.total, 1);
    assert.equal(rerun.body.rerunOf, 'blink');
    const done = await until('blink-again', (j) => j.status === 'complete');
    assert.deepEqual(done.progress, { total: 1, pending: 0, completed: 1, failed: 0 });
    await sdk1.waitFor((e) => e.event === 'method' && e['name'] === 'blink', 5000, 'sdk-1 blink');
    const list = await server.api<{ value: Job[] }>('GET', '/api/jobs');
    assert.deepEqual(list.body.value.map((j) => j.id).sort(), ['blink', 'blink-again', 'brightness']);
  });
});
