/**
 * What the device group and job tests share: a real hub with two connected Environmental
 * sensors that answer `blink` and acknowledge `brightness`, one offline sensor and one
 * Thermostat, the `env` group selecting the sensors, and the queries that read a job back.
 * Command timeouts run at 1 "second" = 20 ms; a batch waits 1.5 s for acks.
 */
import assert from 'node:assert/strict';

import type { MqttClient } from 'mqtt';

import type { Job } from '../../src/jobs/job-body.js';
import { apiHubHarness, type ApiHubHarness } from './api-hub-harness.js';
import { answerMethods, twinPatchReported } from './hub-device.js';
import { eventually } from './hub-harness.js';

export const ENV = 'dtmi:gatehouse:EnvironmentalSensor;1';
export const ACK_WAIT_MS = 1500;

/** A device that answers `blink` and acknowledges desired `brightness` (never `name`). */
export function behave(client: MqttClient): void {
  answerMethods(client, (name, payload) =>
    name === 'blink' ? [200, { blinking: payload }] : [404, 'unknown'],
  );
  client.on('message', (topic, payload) => {
    const m = /^\$iothub\/twin\/PATCH\/properties\/desired\/\?\$version=(\d+)/.exec(topic);
    if (!m) return;
    const delta = JSON.parse(payload.toString()) as Record<string, unknown>;
    if (delta['brightness'] === undefined) return;
    const ack = { brightness: { value: delta['brightness'], ac: 200, ad: 'done', av: Number(m[1]) } };
    void twinPatchReported(client, JSON.stringify(ack));
  });
}

/**
 * Reading jobs back over REST, and assigning a template; `harness` answers the harness the
 * file's `before` made.
 */
export function jobQueries(harness: () => ApiHubHarness) {
  const job = (id: string) =>
    harness()
      .call('GET', `/api/jobs/${id}`)
      .then((r) => r.json() as Job);
  const deviceStatuses = async (id: string) => {
    const res = await harness().call('GET', `/api/jobs/${id}/devices`);
    assert.equal(res.statusCode, 200, res.body);
    return Object.fromEntries(
      (res.json() as { value: Array<{ id: string; status: string; message?: string }> }).value.map((d) => [
        d.id,
        d,
      ]),
    );
  };
  const until = async (id: string, ok: (j: Job) => boolean, ms = 8000) => {
    let last: Job | undefined;
    await eventually(async () => ok((last = await job(id))), ms).catch(() => {
      throw new Error(`job ${id} never got there: ${JSON.stringify(last)}`);
    });
    return last!;
  };
  const setTemplate = async (id: string, template: string) => {
    const res = await harness().call('PATCH', `/api/devices/${id}`, { template });
    assert.equal(res.statusCode, 200, res.body);
  };
  return { job, deviceStatuses, until, setTemplate };
}

/** The hub, its devices and the `env` group, as every device group and job test starts. */
export async function jobsHub(): Promise<ApiHubHarness> {
  const h = await apiHubHarness({}, { jobs: { ackWaitMs: ACK_WAIT_MS } });
  const { setTemplate } = jobQueries(() => h);
  await h.api.deps.templates.ensureBuiltIns();
  for (const id of ['env-a', 'env-b']) {
    const client = await h.connect(id, [
      '$iothub/methods/POST/#',
      '$iothub/twin/res/#',
      '$iothub/twin/PATCH/properties/desired/#',
    ]);
    behave(client);
  }
  await h.addDevice('env-off');
  await h.addDevice('thermo-1');
  for (const id of ['env-a', 'env-b', 'env-off']) await setTemplate(id, ENV);
  await setTemplate('thermo-1', 'dtmi:gatehouse:Thermostat;1');
  const put = await h.call('PUT', '/api/deviceGroups/env', {
    displayName: 'Environmental sensors',
    filter: `SELECT * FROM devices WHERE $template = "${ENV}"`,
  });
  assert.equal(put.statusCode, 200, put.body);
  return h;
}
