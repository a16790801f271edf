/**
 * Scheduled jobs (EXPORT_RULES.md §5.3, SPEC-GA `ScheduledJob`): a job definition with a
 * schedule `{ start, recurrence?: daily | weekly | monthly, end?: { type: "date", date } |
 * { type: "occurrences", occurrences } }`. Each run is a Job named "<name> - <n>" carrying
 * `scheduledJobId`, created through {@link JobService.create} over the group's devices at that
 * moment (EXPORT_RULES.md §5.3: "always run against current group membership"). A run that
 * finds 5 jobs running is retried on the next tick; one that cannot be created (the group or the
 * template is gone) is skipped and logged. State is in the store, so a restart keeps schedules.
 */
import { randomUUID } from 'node:crypto';

import type { Kysely, Selectable } from 'kysely';
import type { Logger } from 'pino';

import { GatehouseError } from '../errors.js';
import type { Database, ScheduledJobsTable } from '../store/schema.js';
import { newEtag } from '../util.js';
import { commonError, isObject } from '../validation.js';
import { jobError } from './errors.js';
import { JOB_ID, parseJobDefinition, type JobChecks, type JobDefinition } from './job-body.js';
import type { JobService } from './job-runner.js';
import type { Job } from './job-body.js';

export type Recurrence = 'daily' | 'weekly' | 'monthly';
export interface JobSchedule {
  start: string;
  recurrence?: Recurrence;
  end?: { type: 'date'; date: string } | { type: 'occurrences'; occurrences: number };
}

export interface ScheduledJob extends JobDefinition {
  id: string;
  etag: string;
  schedule: JobSchedule;
  enabled: boolean;
  completed: boolean;
  /** Our extension: when the next run is due (absent when none is left). */
  nextRun?: string;
}

function invalid(field: string, message: string): Error {
  return jobError('ERR_SCHEDULED_JOB_INVALID', `${field}: ${message}`);
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function parseSchedule(value: unknown): JobSchedule {
  if (!isObject(value)) throw invalid('schedule', 'is required: { start, recurrence?, end? }.');
  const start = value['start'];
  if (typeof start !== 'string' || Number.isNaN(Date.parse(start)) || !/^\d{4}-\d{2}-\d{2}T/.test(start)) {
    throw invalid('schedule.start', 'must be a date-time such as 2026-12-24T08:00:00Z.');
  }
  const schedule: JobSchedule = { start: new Date(start).toISOString() };
  const recurrence = value['recurrence'];
  if (recurrence !== undefined && recurrence !== null) {
    if (recurrence !== 'daily' && recurrence !== 'weekly' && recurrence !== 'monthly') {
      throw invalid('schedule.recurrence', 'must be "daily", "weekly" or "monthly" (absent: run once).');
    }
    schedule.recurrence = recurrence;
  }
  const end = value['end'];
  if (end !== undefined && end !== null) {
    if (!isObject(end))
      throw invalid(
        'schedule.end',
        'must be { type: "date", date } or { type: "occurrences", occurrences }.',
      );
    if (end['type'] === 'date') {
      const date = end['date'];
      if (typeof date !== 'string' || !DATE.test(date) || Number.isNaN(Date.parse(date))) {
        throw invalid('schedule.end.date', 'must be a date such as 2027-01-31.');
      }
      schedule.end = { type: 'date', date };
    } else if (end['type'] === 'occurrences') {
      const n = end['occurrences'];
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 999) {
        throw invalid('schedule.end.occurrences', 'must be a whole number from 1 to 999.');
      }
      schedule.end = { type: 'occurrences', occurrences: n };
    } else {
      throw invalid('schedule.end.type', 'must be "date" or "occurrences".');
    }
  }
  return schedule;
}

/** The run after the one due at `previous` (UTC calendar arithmetic), or undefined when the schedule ends. */
export function nextRun(schedule: JobSchedule, previous: Date, runsDone: number): Date | undefined {
  if (!schedule.recurrence) return undefined;
  if (schedule.end?.type === 'occurrences' && runsDone >= schedule.end.occurrences) return undefined;
  const start = new Date(schedule.start);
  const next = new Date(previous);
  if (schedule.recurrence === 'daily') next.setUTCDate(next.getUTCDate() + 1);
  else if (schedule.recurrence === 'weekly') next.setUTCDate(next.getUTCDate() + 7);
  else {
    // Monthly from the start's day of month: Jan 31 → Feb 28 → Mar 31, not Mar 28.
    const months =
      (next.getUTCFullYear() - start.getUTCFullYear()) * 12 + next.getUTCMonth() - start.getUTCMonth() + 1;
    const target = new Date(start);
    target.setUTCDate(1);
    target.setUTCMonth(start.getUTCMonth() + months);
    const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
    target.setUTCDate(Math.min(start.getUTCDate(), lastDay));
    next.setTime(target.getTime());
  }
  if (
    schedule.end?.type === 'date' &&
    next.getTime() >= Date.parse(`${schedule.end.date}T00:00:00Z`) + 86_400_000
  ) {
    return undefined;
  }
  return next;
}

function toApi(row: Selectable<ScheduledJobsTable>): ScheduledJob {
  return {
    id: row.id,
    etag: row.etag,
    ...(row.display_name !== null ? { displayName: row.display_name } : {}),
    ...(row.description !== null ? { description: row.description } : {}),
    group: row.group_id,
    ...(row.batch !== null ? { batch: JSON.parse(row.batch) as NonNullable<JobDefinition['batch']> } : {}),
    ...(row.cancellation_threshold !== null
      ? {
          cancellationThreshold: JSON.parse(row.cancellation_threshold) as NonNullable<
            JobDefinition['cancellationThreshold']
          >,
        }
      : {}),
    data: JSON.parse(row.data) as JobDefinition['data'],
    schedule: JSON.parse(row.schedule) as JobSchedule,
    enabled: row.enabled === 1,
    completed: row.completed === 1,
    ...(row.next_run !== null ? { nextRun: row.next_run } : {}),
  };
}

export interface ScheduledJobServiceOptions {
  db: Kysely<Database>;
  jobs: JobService;
  checks: JobChecks;
  logger: Logger;
  now?: () => Date;
  /** How often due runs are looked for (default 1 s). */
  tickMs?: number;
}

export class ScheduledJobService {
  private readonly now: () => Date;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(private readonly o: ScheduledJobServiceOptions) {
    this.now = o.now ?? (() => new Date());
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.tickMs ?? 1000);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
  }

  async list(): Promise<ScheduledJob[]> {
    const rows = await this.o.db
      .selectFrom('scheduled_jobs')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
    return rows.map(toApi);
  }

  async get(id: string): Promise<ScheduledJob> {
    return toApi(await this.row(id));
  }

  /** The runs of a scheduled job (Jobs with its `scheduledJobId`). */
  async runs(id: string): Promise<Job[]> {
    await this.row(id);
    return (await this.o.jobs.list()).filter((j) => j.scheduledJobId === id);
  }

  async put(id: string, body: unknown): Promise<ScheduledJob> {
    checkScheduledJobId(id);
    if (!isObject(body)) throw invalid('body', 'must be a JSON object.');
    const existing = await this.o.db
      .selectFrom('scheduled_jobs')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (typeof body['etag'] === 'string' && existing && body['etag'] !== existing.etag) {
      throw commonError('ERR_ETAG_MISMATCH', `Scheduled job '${id}' has changed since etag ${body['etag']}.`);
    }
    await this.write(id, body, existing);
    return this.get(id);
  }

  /** Merge patch (SPEC-GA takes only application/merge-patch+json; plain JSON is accepted too). */
  async patch(id: string, body: unknown): Promise<ScheduledJob> {
    const existing = await this.row(id);
    if (!isObject(body)) throw invalid('body', 'must be a JSON object.');
    if (typeof body['etag'] === 'string' && body['etag'] !== existing.etag) {
      throw commonError('ERR_ETAG_MISMATCH', `Scheduled job '${id}' has changed since etag ${body['etag']}.`);
    }
    const current = toApi(existing) as unknown as Record<string, unknown>;
    const merged: Record<string, unknown> = { ...current };
    for (const [k, v] of Object.entries(body)) {
      if (v === null) delete merged[k];
      else merged[k] = v;
    }
    await this.write(id, merged, existing);
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    await this.row(id);
    await this.o.db.deleteFrom('scheduled_jobs').where('id', '=', id).execute();
  }

  /** Starts the runs that are due. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = this.runDue()
      .catch((err: unknown) => this.o.logger.error({ err }, 'scheduled jobs tick failed'))
      .finally(() => (this.ticking = undefined));
    await this.ticking;
  }

  private async runDue(): Promise<void> {
    const now = this.now();
    const due = await this.o.db
      .selectFrom('scheduled_jobs')
      .selectAll()
      .where('enabled', '=', 1)
      .where('completed', '=', 0)
      .where('next_run', '<=', now.toISOString())
      .orderBy('next_run')
      .execute();
    for (const row of due) {
      const def = toApi(row);
      const n = row.runs + 1;
      const next = nextRun(def.schedule, new Date(row.next_run!), n);
      // Every node ticks; the one whose update moves the run counter on takes this run.
      const claimed = await this.o.db
        .updateTable('scheduled_jobs')
        .set({
          runs: n,
          next_run: next ? next.toISOString() : null,
          completed: next ? 0 : 1,
          updated_at: now.toISOString(),
        })
        .where('id', '=', row.id)
        .where('runs', '=', row.runs)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 0) continue;
      try {
        await this.o.jobs.create(randomUUID(), def, {
          scheduledJobId: row.id,
          displayName: `${row.display_name ?? row.id} - ${n}`,
        });
      } catch (err) {
        if (err instanceof GatehouseError && err.code === 'ERR_JOB_LIMIT') {
          // Five jobs running: the run waits for the next tick instead of being lost.
          await this.o.db
            .updateTable('scheduled_jobs')
            .set({ runs: row.runs, next_run: row.next_run, completed: 0 })
            .where('id', '=', row.id)
            .where('runs', '=', n)
            .execute();
          continue;
        }
        this.o.logger.warn({ err, scheduledJobId: row.id, run: n }, 'scheduled job run skipped');
      }
    }
  }

  private async write(
    id: string,
    body: Record<string, unknown>,
    existing: Selectable<ScheduledJobsTable> | undefined,
  ): Promise<void> {
    const schedule = parseSchedule(body['schedule']);
    const def = await parseJobDefinition(body, this.o.checks);
    const enabled = body['enabled'];
    if (enabled !== undefined && typeof enabled !== 'boolean')
      throw invalid('enabled', 'must be true or false.');
    const time = this.now().toISOString();
    const scheduleChanged = !existing || existing.schedule !== JSON.stringify(schedule);
    const values = {
      display_name: def.displayName ?? null,
      description: def.description ?? null,
      group_id: def.group,
      batch: def.batch ? JSON.stringify(def.batch) : null,
      cancellation_threshold: def.cancellationThreshold ? JSON.stringify(def.cancellationThreshold) : null,
      data: JSON.stringify(def.data),
      schedule: JSON.stringify(schedule),
      enabled: enabled === false ? 0 : 1,
      etag: newEtag(),
      updated_at: time,
      // A new schedule starts over; otherwise the runs done so far stand.
      ...(scheduleChanged ? { runs: 0, completed: 0, next_run: schedule.start } : {}),
    };
    if (existing) {
      await this.o.db.updateTable('scheduled_jobs').set(values).where('id', '=', id).execute();
    } else {
      await this.o.db
        .insertInto('scheduled_jobs')
        .values({ id, runs: 0, completed: 0, next_run: schedule.start, ...values, created_at: time })
        .execute();
    }
  }

  private async row(id: string): Promise<Selectable<ScheduledJobsTable>> {
    checkScheduledJobId(id);
    const row = await this.o.db
      .selectFrom('scheduled_jobs')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw jobError('ERR_SCHEDULED_JOB_NOT_FOUND', `Scheduled job '${id}' does not exist.`);
    return row;
  }
}

function checkScheduledJobId(id: string): void {
  if (!JOB_ID.test(id)) {
    throw commonError(
      'ERR_INVALID_ID',
      `scheduledJobId '${id.slice(0, 64)}' is invalid: use letters, digits, - and _, 1–255 characters.`,
    );
  }
}
