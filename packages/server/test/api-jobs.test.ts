/**
 * One-off jobs over REST (EXPORT_RULES.md §5) against a real hub with MQTT devices (the Azure
 * SDK's topics, spoken by MQTT.js; jobs-sdk.test.ts runs the real SDK): command, property and
 * cloud-property jobs with an offline device; acknowledgements completing property jobs; stop
 * and resume; rerun of the failed devices; the 5-job limit; a job resumed by a new runner (a
 * restart); every bad input a 4xx naming the field. Scheduled jobs are api-scheduled-jobs.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { pino } from 'pino';

import { THERMOSTAT_MODEL } from '../src/app/device-templates-builtin.js';
import { CloudPropertyStore } from '../src/app/cloud-properties.js';
import { DeviceGroupService } from '../src/app/device-groups.js';
import { DeviceTemplateService } from '../src/app/device-templates.js';
import type { Job } from '../src/jobs/job-body.js';
import { JobService } from '../src/jobs/job-runner.js';
import { JobStore } from '../src/jobs/job-store.js';
import { LocalJobTargets } from '../src/jobs/job-targets.js';
import { expectError } from './helpers/api-harness.js';
import type { ApiHubHarness } from './helpers/api-hub-harness.js';
import { twinPatchReported } from './helpers/hub-device.js';
import { eventually } from './helpers/hub-harness.js';
import { ACK_WAIT_MS, behave, ENV, jobQueries, jobsHub } from './helpers/jobs-fixtures.js';

const CLOUD_TPL = 'dtmi:test:CloudThermostat;1';

describe('device groups and jobs over REST', () => {
  let h: ApiHubHarness;
  const { job, deviceStatuses, until, setTemplate } = jobQueries(() => h);

  before(async () => {
    h = await jobsHub();
  });
  after(async () => h.close());

  describe('bad jobs: a 4xx naming the field, and nothing runs', () => {
    const base = { group: 'env', data: [{ type: 'property', target: ENV, path: 'brightness', value: 3 }] };
    const cases: Array<[string, unknown, number, string, string]> = [
      [
        'an unknown group',
        { ...base, group: 'nope' },
        400,
        'ERR_JOB_INVALID',
        "group: device group 'nope' does not exist",
      ],
      ['no group', { data: base.data }, 400, 'ERR_JOB_INVALID', 'group: is required'],
      [
        'a property of the wrong type',
        { ...base, data: [{ ...base.data[0], value: 'bright' }] },
        400,
        'ERR_JOB_INVALID',
        'data[0].value: property \'brightness\' (Brightness Level): value must be a whole number (long), not the string "bright"',
      ],
      [
        'a property the template lacks',
        { ...base, data: [{ ...base.data[0], path: 'volume' }] },
        400,
        'ERR_JOB_INVALID',
        `data[0].path: the template '${ENV}' has no device property 'volume'; its writable properties are name, brightness`,
      ],
      [
        'a read-only property',
        { ...base, data: [{ ...base.data[0], path: 'state', value: true }] },
        400,
        'ERR_JOB_INVALID',
        "data[0].path: property 'state' is read-only",
      ],
      [
        'a command the template lacks',
        { ...base, data: [{ type: 'command', target: ENV, path: 'reboot' }] },
        400,
        'ERR_JOB_INVALID',
        `data[0].path: the template '${ENV}' has no command 'reboot'; its commands are blink, turnon, turnoff, rundiagnostics`,
      ],
      [
        'a command request of the wrong type',
        { ...base, data: [{ type: 'command', target: ENV, path: 'blink', value: 'fast' }] },
        400,
        'ERR_JOB_INVALID',
        "data[0].value: the request of 'blink': value must be a whole number",
      ],
      [
        'an unknown template',
        { ...base, data: [{ ...base.data[0], target: 'dtmi:no:Such;1' }] },
        400,
        'ERR_JOB_INVALID',
        "data[0].target: device template 'dtmi:no:Such;1' does not exist",
      ],
      [
        'a cloud property the template lacks',
        { ...base, data: [{ type: 'cloudProperty', target: ENV, path: 'brightness', value: 1 }] },
        400,
        'ERR_JOB_INVALID',
        `data[0].path: the template '${ENV}' has no cloud property 'brightness'`,
      ],
      [
        'an unsupported job type',
        { ...base, data: [{ type: 'deviceTemplateMigration', template: ENV }] },
        400,
        'ERR_JOB_INVALID',
        'data[0].type: must be "property", "cloudProperty" or "command" (Gatehouse does not run \'deviceTemplateMigration\' jobs)',
      ],
      ['empty data', { ...base, data: [] }, 400, 'ERR_JOB_INVALID', 'data: must be a non-empty array'],
      [
        'a bad batch',
        { ...base, batch: { type: 'percentage', value: 150 } },
        400,
        'ERR_JOB_INVALID',
        'batch.value: must be a whole number from 1 to 100',
      ],
      [
        'a bad threshold',
        { ...base, cancellationThreshold: { type: 'number', value: 1, batch: 'yes' } },
        400,
        'ERR_JOB_INVALID',
        'cancellationThreshold.batch: must be true or false',
      ],
      [
        'mixed types',
        { ...base, data: [base.data[0], { type: 'command', target: ENV, path: 'blink' }] },
        400,
        'ERR_JOB_INVALID',
        "data[1].type: must be 'property' like data[0]",
      ],
      [
        'a command timeout out of range',
        { ...base, data: [{ type: 'command', target: ENV, path: 'blink', connectionTimeout: 31 }] },
        400,
        'ERR_JOB_INVALID',
        'data[0].connectionTimeout: must be a whole number of seconds from 0 to 30',
      ],
      [
        'a fractional command timeout',
        { ...base, data: [{ type: 'command', target: ENV, path: 'blink', responseTimeout: 5.5 }] },
        400,
        'ERR_JOB_INVALID',
        'data[0].responseTimeout: must be a whole number of seconds from 5 to 30',
      ],
    ];
    for (const [what, body, status, code, message] of cases) {
      it(what, async () => {
        expectError(await h.call('PUT', '/api/jobs/bad-job', body), status, code, message);
      });
    }
    it('a bad job ID, an unknown job', async () => {
      expectError(
        await h.call('PUT', '/api/jobs/bad%20job', base),
        400,
        'ERR_INVALID_ID',
        "jobId 'bad job' is invalid",
      );
      expectError(await h.call('GET', '/api/jobs/no-such-job'), 404, 'ERR_JOB_NOT_FOUND');
      expectError(await h.call('POST', '/api/jobs/no-such-job/stop'), 404, 'ERR_JOB_NOT_FOUND');
      const list = (await h.call('GET', '/api/jobs')).json() as { value: Job[] };
      assert.equal(list.value.filter((j) => j.id === 'bad-job').length, 0);
    });
  });

  describe('running jobs', () => {
    it('a command job: the connected devices complete, the offline one fails (404 offline)', async () => {
      const res = await h.call('PUT', '/api/jobs/blink-1', {
        displayName: 'Blink',
        group: 'env',
        data: [{ type: 'command', target: ENV, path: 'blink', value: 2 }],
      });
      assert.equal(res.statusCode, 200, res.body);
      const created = res.json() as Job;
      assert.ok(['pending', 'running'].includes(created.status), created.status);
      assert.equal(created.progress.total, 3);
      const done = await until('blink-1', (j) => j.status === 'complete');
      assert.deepEqual(done.progress, { total: 3, pending: 0, completed: 2, failed: 1 });
      assert.ok(done.start && done.end);
      const devices = await deviceStatuses('blink-1');
      assert.equal(devices['env-a']?.status, 'completed');
      assert.equal(devices['env-b']?.status, 'completed');
      assert.equal(devices['env-off']?.status, 'failed');
      assert.match(
        devices['env-off']?.message ?? '',
        /^ERR_DEVICE_OFFLINE: Device 'env-off' is not connected/,
      );
      expectError(await h.call('PUT', '/api/jobs/blink-1', res.json()), 409, 'ERR_JOB_EXISTS');
    });

    it('rerun of the failed devices: a new job over the offline device, which is now connected', async () => {
      const client = await h.connect('env-off', [
        '$iothub/methods/POST/#',
        '$iothub/twin/res/#',
        '$iothub/twin/PATCH/properties/desired/#',
      ]);
      behave(client);
      const res = await h.call('PUT', '/api/jobs/blink-1/rerun/blink-1-rerun');
      assert.equal(res.statusCode, 200, res.body);
      const rerun = res.json() as Job;
      assert.equal(rerun.rerunOf, 'blink-1');
      assert.equal(rerun.progress.total, 1);
      const done = await until('blink-1-rerun', (j) => j.status === 'complete');
      assert.deepEqual(done.progress, { total: 1, pending: 0, completed: 1, failed: 0 });
      expectError(
        await h.call('PUT', '/api/jobs/blink-1-rerun/rerun/again'),
        409,
        'ERR_JOB_STATE',
        'has no failed devices',
      );
      client.end(true);
      await eventually(async () => !h.hub.hub.isConnected('env-off'));
    });

    it('a property job completes a device when it acknowledges; an offline device stays pending until it does', async () => {
      const res = await h.call('PUT', '/api/jobs/bright-1', {
        group: 'env',
        data: [{ type: 'property', target: ENV, path: 'brightness', value: 7 }],
      });
      assert.equal(res.statusCode, 200, res.body);
      const done = await until('bright-1', (j) => j.status === 'complete');
      assert.deepEqual(done.progress, { total: 3, pending: 1, completed: 2, failed: 0 });
      const waiting = (await deviceStatuses('bright-1'))['env-off'];
      assert.equal(waiting?.status, 'pending');
      assert.match(
        waiting?.message ?? '',
        /^Written; waiting for the device to acknowledge desired version \d+\.$/,
      );
      // The device connects, reads its twin and acknowledges the version it got.
      const client = await h.connect('env-off', ['$iothub/twin/res/#']);
      const twin = (await h.call('GET', '/api/devices/env-off/properties')).json() as {
        $metadata: { brightness: { desiredValue: number; desiredVersion: number } };
      };
      assert.equal(twin.$metadata.brightness.desiredValue, 7);
      await twinPatchReported(
        client,
        JSON.stringify({ brightness: { value: 7, ac: 200, av: twin.$metadata.brightness.desiredVersion } }),
      );
      await until('bright-1', (j) => j.progress.completed === 3);
      client.end(true);
    });

    it('a device that refuses the value (ac 400) fails the device', async () => {
      const client = await h.connect('env-off', ['$iothub/twin/res/#']);
      await h.call('PUT', '/api/jobs/bright-2', {
        group: 'env',
        data: [{ type: 'property', target: ENV, path: 'brightness', value: 1 }],
      });
      await until('bright-2', (j) => j.progress.completed === 2);
      const version = (
        (await h.call('GET', '/api/devices/env-off/properties')).json() as {
          $metadata: { brightness: { desiredVersion: number } };
        }
      ).$metadata.brightness.desiredVersion;
      await twinPatchReported(
        client,
        JSON.stringify({ brightness: { value: 7, ac: 400, ad: 'out of range', av: version } }),
      );
      await until('bright-2', (j) => j.progress.failed === 1);
      assert.match(
        (await deviceStatuses('bright-2'))['env-off']?.message ?? '',
        /refused 'brightness' \(ac 400: out of range\)/,
      );
      client.end(true);
    });

    it('stop and resume: batches of one, stopped while the first waits for its acknowledgement', async () => {
      const res = await h.call('PUT', '/api/jobs/names-1', {
        group: 'env',
        batch: { type: 'number', value: 1 },
        data: [{ type: 'property', target: ENV, path: 'name', value: 'lab' }],
      });
      assert.equal(res.statusCode, 200, res.body);
      await until('names-1', (j) => j.status === 'running');
      assert.equal((await h.call('POST', '/api/jobs/names-1/stop')).statusCode, 204);
      const stopped = await job('names-1');
      assert.equal(stopped.status, 'stopped');
      const desired = async (id: string) =>
        (
          (await h.call('GET', `/api/devices/${id}/properties`)).json() as {
            $metadata: Record<string, { desiredValue?: unknown }>;
          }
        ).$metadata['name']?.desiredValue;
      assert.equal(await desired('env-a'), 'lab', 'the first batch was written');
      assert.equal(await desired('env-b'), undefined, 'the second batch was not');
      expectError(
        await h.call('POST', '/api/jobs/names-1/stop'),
        409,
        'ERR_JOB_STATE',
        'only a pending or running job can be stopped',
      );
      assert.equal((await h.call('POST', '/api/jobs/names-1/resume')).statusCode, 204);
      const done = await until('names-1', (j) => j.status === 'complete', 4 * ACK_WAIT_MS + 4000);
      assert.equal(done.progress.total, 3);
      assert.equal(await desired('env-b'), 'lab');
      assert.equal(await desired('env-off'), 'lab');
      expectError(
        await h.call('POST', '/api/jobs/names-1/resume'),
        409,
        'ERR_JOB_STATE',
        'only a stopped job can be resumed',
      );
    });

    it('the cancellation threshold cancels the job', async () => {
      const res = await h.call('PUT', '/api/jobs/cancel-1', {
        group: 'env',
        batch: { type: 'number', value: 1 },
        cancellationThreshold: { type: 'number', value: 1, batch: false },
        // env-a and env-b answer 404 to `turnon`: the first device fails, the job stops there.
        data: [{ type: 'command', target: ENV, path: 'turnon' }],
      });
      assert.equal(res.statusCode, 200, res.body);
      const done = await until('cancel-1', (j) => j.status === 'cancelled');
      assert.deepEqual(done.progress, { total: 3, pending: 2, completed: 0, failed: 1 });
      assert.match(
        (await deviceStatuses('cancel-1'))['env-a']?.message ?? '',
        /answered 'turnon' with status 404/,
      );
    });

    it('at most 5 jobs at once: the 6th is refused with 409 ERR_JOB_LIMIT', async () => {
      const body = {
        group: 'env',
        batch: { type: 'number', value: 1 },
        data: [{ type: 'property', target: ENV, path: 'name', value: 'x' }],
      };
      for (let i = 1; i <= 5; i++)
        assert.equal((await h.call('PUT', `/api/jobs/many-${i}`, body)).statusCode, 200);
      expectError(
        await h.call('PUT', '/api/jobs/many-6', body),
        409,
        'ERR_JOB_LIMIT',
        'at most 5 run at once',
      );
      assert.equal((await h.call('POST', '/api/jobs/many-1/stop')).statusCode, 204);
      assert.equal(
        (await h.call('PUT', '/api/jobs/many-6', body)).statusCode,
        200,
        'a stopped job frees its slot',
      );
      expectError(await h.call('POST', '/api/jobs/many-1/resume'), 409, 'ERR_JOB_LIMIT');
      for (let i = 2; i <= 6; i++)
        assert.equal((await h.call('POST', `/api/jobs/many-${i}/stop`)).statusCode, 204);
    });

    it('a cloud-property job stores the value, which a group filter can then select', async () => {
      const model = {
        ...structuredClone(THERMOSTAT_MODEL),
        '@id': CLOUD_TPL,
        contents: [
          ...structuredClone(THERMOSTAT_MODEL).contents,
          { '@type': ['Property', 'Cloud'], name: 'City', schema: 'string' },
        ],
      };
      const put = await h.call('PUT', `/api/deviceTemplates/${encodeURIComponent(CLOUD_TPL)}`, model);
      assert.equal(put.statusCode, 200, put.body);
      await h.addDevice('cloudy');
      await setTemplate('cloudy', CLOUD_TPL);
      await h.call('PUT', '/api/deviceGroups/cloudy', {
        displayName: 'Cloudy',
        filter: `SELECT * FROM ${CLOUD_TPL}`,
      });
      expectError(
        await h.call('PUT', '/api/jobs/city-bad', {
          group: 'cloudy',
          data: [{ type: 'cloudProperty', target: CLOUD_TPL, path: 'City', value: 3 }],
        }),
        400,
        'ERR_JOB_INVALID',
        'data[0].value',
      );
      const res = await h.call('PUT', '/api/jobs/city-1', {
        group: 'cloudy',
        data: [{ type: 'cloudProperty', target: CLOUD_TPL, path: 'City', value: 'Paris' }],
      });
      assert.equal(res.statusCode, 200, res.body);
      await until('city-1', (j) => j.status === 'complete' && j.progress.completed === 1);
      await h.call('PUT', '/api/deviceGroups/paris', {
        displayName: 'Paris',
        filter: 'SELECT * FROM devices WHERE City = "Paris"',
      });
      const devices = (await h.call('GET', '/api/deviceGroups/paris/devices')).json() as {
        value: Array<{ id: string }>;
      };
      assert.deepEqual(
        devices.value.map((d) => d.id),
        ['cloudy'],
      );
    });

    it('a job survives a restart: a new runner on the same store resumes it where it was', async () => {
      const store = new JobStore(h.api.db);
      const templates = new DeviceTemplateService(h.api.db);
      const make = () =>
        new JobService({
          store,
          targets: new LocalJobTargets(h.hub.hub, new CloudPropertyStore(h.api.db)),
          groups: new DeviceGroupService(h.api.db),
          templates: (id) =>
            templates.get(id).then(
              (t) => t.summary,
              () => undefined,
            ),
          logger: pino({ level: 'silent' }),
          ackWaitMs: 400,
        });
      const first = make();
      await first.start();
      await first.create('restart-1', {
        group: 'env',
        batch: { type: 'number', value: 1 },
        data: [{ type: 'property', target: ENV, path: 'name', value: 'restarted' }],
      });
      await eventually(async () => (await store.row('restart-1')).status === 'running');
      await first.close();
      const interrupted = await store.get('restart-1');
      assert.equal(interrupted.status, 'running', 'closing the runner leaves the job running in the store');
      assert.ok(interrupted.progress.pending >= 2);
      const second = make();
      await second.start();
      await eventually(async () => (await store.row('restart-1')).status === 'complete', 5000);
      await second.close();
    });
  });
});
