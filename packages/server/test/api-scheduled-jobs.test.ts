/**
 * Scheduled jobs over REST (EXPORT_RULES.md §5) against a real hub with MQTT devices: the
 * "<name> - <n>" jobs a daily schedule runs, on a moved clock, until its occurrences are used
 * up; bad schedules answered 400 naming the field; and the next run of a monthly recurrence.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Job } from '../src/jobs/job-body.js';
import { nextRun, type ScheduledJob } from '../src/jobs/scheduled-jobs.js';
import { expectError } from './helpers/api-harness.js';
import type { ApiHubHarness } from './helpers/api-hub-harness.js';
import { eventually } from './helpers/hub-harness.js';
import { ENV, jobQueries, jobsHub } from './helpers/jobs-fixtures.js';

describe('device groups and jobs over REST', () => {
  let h: ApiHubHarness;
  const { until } = jobQueries(() => h);

  before(async () => {
    h = await jobsHub();
  });
  after(async () => h.close());

  describe('scheduled jobs', () => {
    it('runs "<name> - <n>" jobs with scheduledJobId, daily, for 2 occurrences', async () => {
      const res = await h.call('PUT', '/api/scheduledJobs/nightly', {
        displayName: 'Nightly blink',
        group: 'env',
        data: [{ type: 'command', target: ENV, path: 'blink', value: 1 }],
        schedule: {
          start: new Date(Date.now() + h.api.clock.offsetMs - 1000).toISOString(),
          recurrence: 'daily',
          end: { type: 'occurrences', occurrences: 2 },
        },
      });
      assert.equal(res.statusCode, 200, res.body);
      const runs = async () =>
        ((await h.call('GET', '/api/scheduledJobs/nightly/jobs')).json() as { value: Job[] }).value;
      await eventually(async () => (await runs()).length === 1, 5000);
      const first = (await runs())[0]!;
      assert.equal(first.displayName, 'Nightly blink - 1');
      assert.equal(first.scheduledJobId, 'nightly');
      let scheduled = (await h.call('GET', '/api/scheduledJobs/nightly')).json() as ScheduledJob;
      assert.equal(scheduled.completed, false);
      h.api.clock.offsetMs += 86_400_000;
      await eventually(async () => (await runs()).length === 2, 5000);
      assert.deepEqual((await runs()).map((j) => j.displayName).sort(), [
        'Nightly blink - 1',
        'Nightly blink - 2',
      ]);
      scheduled = (await h.call('GET', '/api/scheduledJobs/nightly')).json() as ScheduledJob;
      assert.equal(scheduled.completed, true);
      assert.equal(scheduled.nextRun, undefined);
      for (const j of await runs()) await until(j.id, (x) => x.status === 'complete');
      assert.equal((await h.call('DELETE', '/api/scheduledJobs/nightly')).statusCode, 204);
      expectError(await h.call('GET', '/api/scheduledJobs/nightly'), 404, 'ERR_SCHEDULED_JOB_NOT_FOUND');
    });

    it('bad schedules and bad job fields: 400 naming the field', async () => {
      const base = {
        group: 'env',
        data: [{ type: 'command', target: ENV, path: 'blink' }],
        schedule: { start: '2030-01-01T00:00:00Z' },
      };
      expectError(
        await h.call('PUT', '/api/scheduledJobs/s1', {
          ...base,
          schedule: { start: '2030-01-01T00:00:00Z', recurrence: 'yearly' },
        }),
        400,
        'ERR_SCHEDULED_JOB_INVALID',
        'schedule.recurrence',
      );
      expectError(
        await h.call('PUT', '/api/scheduledJobs/s1', { ...base, schedule: { start: 'tomorrow' } }),
        400,
        'ERR_SCHEDULED_JOB_INVALID',
        'schedule.start',
      );
      expectError(
        await h.call('PUT', '/api/scheduledJobs/s1', {
          ...base,
          schedule: { ...base.schedule, end: { type: 'occurrences', occurrences: 1000 } },
        }),
        400,
        'ERR_SCHEDULED_JOB_INVALID',
        'schedule.end.occurrences',
      );
      expectError(
        await h.call('PUT', '/api/scheduledJobs/s1', { ...base, group: 'nope' }),
        400,
        'ERR_JOB_INVALID',
        'group:',
      );
      const ok = await h.call('PUT', '/api/scheduledJobs/s1', base);
      assert.equal(ok.statusCode, 200, ok.body);
      const patched = await h.call('PATCH', '/api/scheduledJobs/s1', { enabled: false }, undefined, {
        'content-type': 'application/merge-patch+json',
      });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.equal((patched.json() as ScheduledJob).enabled, false);
    });

    it('monthly recurrence keeps the day of the month where the month has it', () => {
      const schedule = { start: '2027-01-31T08:00:00.000Z', recurrence: 'monthly' as const };
      const feb = nextRun(schedule, new Date(schedule.start), 1)!;
      assert.equal(feb.toISOString(), '2027-02-28T08:00:00.000Z');
      assert.equal(nextRun(schedule, feb, 2)!.toISOString(), '2027-03-31T08:00:00.000Z');
      const ends = { ...schedule, end: { type: 'date' as const, date: '2027-02-27' } };
      assert.equal(nextRun(ends, new Date(schedule.start), 1), undefined);
      assert.equal(
        nextRun({ start: schedule.start }, new Date(schedule.start), 1),
        undefined,
        'no recurrence: once',
      );
    });
  });
});
