/**
 * Jobs and their per-device state in the store (portable kysely only: the same queries run on
 * SQLite and PostgreSQL). Rows → the REST `Job`, with `progress` counted from `job_devices`.
 */
import type { Kysely, Selectable, Transaction } from 'kysely';

import type { Database, JobsTable } from '../store/schema.js';
import type { Job, JobDefinition, JobDeviceStatus, JobProgress, JobStatus } from './job-body.js';
import { jobError } from './errors.js';

/** Statuses that hold one of the 5 concurrent job slots (EXPORT_RULES.md §5.2). */
export const ACTIVE_STATUSES: readonly JobStatus[] = ['pending', 'running'];
/** Statuses after which a job never runs again (a stopped job may be resumed). */
export const ENDED_STATUSES: readonly JobStatus[] = ['complete', 'failed', 'cancelled'];

export interface JobDeviceRow {
  deviceId: string;
  batch: number;
  status: JobDeviceStatus;
  dispatched: boolean;
  desiredVersion: number | null;
  message: string | null;
}

export function definitionOf(row: Selectable<JobsTable>): JobDefinition {
  return {
    group: row.group_id,
    data: JSON.parse(row.data) as JobDefinition['data'],
    ...(row.display_name !== null ? { displayName: row.display_name } : {}),
    ...(row.description !== null ? { description: row.description } : {}),
    ...(row.batch !== null ? { batch: JSON.parse(row.batch) as NonNullable<JobDefinition['batch']> } : {}),
    ...(row.cancellation_threshold !== null
      ? {
          cancellationThreshold: JSON.parse(row.cancellation_threshold) as NonNullable<
            JobDefinition['cancellationThreshold']
          >,
        }
      : {}),
  };
}

function toJob(row: Selectable<JobsTable>, progress: JobProgress): Job {
  const def = definitionOf(row);
  return {
    id: row.id,
    ...(row.scheduled_job_id !== null ? { scheduledJobId: row.scheduled_job_id } : {}),
    ...(def.displayName !== undefined ? { displayName: def.displayName } : {}),
    ...(def.description !== undefined ? { description: def.description } : {}),
    group: def.group,
    ...(def.batch ? { batch: def.batch } : {}),
    ...(def.cancellationThreshold ? { cancellationThreshold: def.cancellationThreshold } : {}),
    data: def.data,
    ...(row.start !== null ? { start: row.start } : {}),
    ...(row.end !== null ? { end: row.end } : {}),
    progress,
    status: row.status as JobStatus,
    ...(row.rerun_of !== null ? { rerunOf: row.rerun_of } : {}),
  };
}

export class JobStore {
  constructor(readonly db: Kysely<Database>) {}

  async row(id: string): Promise<Selectable<JobsTable>> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw jobError('ERR_JOB_NOT_FOUND', `Job '${id.slice(0, 255)}' does not exist.`);
    return row;
  }

  async exists(id: string): Promise<boolean> {
    return (
      (await this.db.selectFrom('jobs').select('id').where('id', '=', id).executeTakeFirst()) !== undefined
    );
  }

  async get(id: string): Promise<Job> {
    const row = await this.row(id);
    return toJob(row, (await this.progress([id])).get(id) ?? emptyProgress());
  }

  /** Every job, newest first; or those of one scheduled job. */
  async list(scheduledJobId?: string): Promise<Job[]> {
    let q = this.db.selectFrom('jobs').selectAll().orderBy('created_at', 'desc').orderBy('id');
    if (scheduledJobId !== undefined) q = q.where('scheduled_job_id', '=', scheduledJobId);
    const rows = await q.execute();
    const progress = await this.progress(rows.map((r) => r.id));
    return rows.map((r) => toJob(r, progress.get(r.id) ?? emptyProgress()));
  }

  async activeCount(): Promise<number> {
    const { count } = await this.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('status', 'in', [...ACTIVE_STATUSES])
      .executeTakeFirstOrThrow();
    return Number(count);
  }

  async idsWithStatus(statuses: readonly JobStatus[]): Promise<string[]> {
    const rows = await this.db
      .selectFrom('jobs')
      .select('id')
      .where('status', 'in', [...statuses])
      .execute();
    return rows.map((r) => r.id);
  }

  async insert(
    trx: Transaction<Database>,
    job: { id: string; def: JobDefinition; scheduledJobId?: string; rerunOf?: string; time: string },
    devices: Array<{ deviceId: string; batch: number; status: JobDeviceStatus; message?: string }>,
  ): Promise<void> {
    const { def } = job;
    await trx
      .insertInto('jobs')
      .values({
        id: job.id,
        scheduled_job_id: job.scheduledJobId ?? null,
        rerun_of: job.rerunOf ?? null,
        display_name: def.displayName ?? null,
        description: def.description ?? null,
        group_id: def.group,
        batch: def.batch ? JSON.stringify(def.batch) : null,
        cancellation_threshold: def.cancellationThreshold ? JSON.stringify(def.cancellationThreshold) : null,
        data: JSON.stringify(def.data),
        status: 'pending',
        current_batch: 0,
        created_at: job.time,
        start: null,
        end: null,
        updated_at: job.time,
      })
      .execute();
    // Chunks keep each INSERT under every database's parameter limit.
    for (let i = 0; i < devices.length; i += 100) {
      await trx
        .insertInto('job_devices')
        .values(
          devices.slice(i, i + 100).map((d) => ({
            job_id: job.id,
            device_id: d.deviceId,
            batch: d.batch,
            status: d.status,
            dispatched: d.status === 'pending' ? 0 : 1,
            desired_version: null,
            message: d.message ?? null,
            updated_at: job.time,
          })),
        )
        .execute();
    }
  }

  /**
   * Moves the job to `status` only if it is in one of `from` (one conditional UPDATE, so a stop
   * racing the runner's "complete" cannot be overwritten). Answers whether it moved.
   */
  async transition(
    id: string,
    from: readonly JobStatus[],
    status: JobStatus,
    time: string,
    extra: { start?: string; end?: string | null } = {},
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('jobs')
      .set({ status, updated_at: time, ...extra })
      .where('id', '=', id)
      .where('status', 'in', [...from])
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async setBatch(id: string, batch: number, time: string): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({ current_batch: batch, updated_at: time })
      .where('id', '=', id)
      .execute();
  }

  async devices(id: string): Promise<JobDeviceRow[]> {
    const rows = await this.db
      .selectFrom('job_devices')
      .selectAll()
      .where('job_id', '=', id)
      .orderBy('batch')
      .orderBy('device_id')
      .execute();
    return rows.map((r) => ({
      deviceId: r.device_id,
      batch: r.batch,
      status: r.status as JobDeviceStatus,
      dispatched: r.dispatched === 1,
      desiredVersion: r.desired_version,
      message: r.message,
    }));
  }

  async updateDevice(
    jobId: string,
    deviceId: string,
    fields: {
      status: JobDeviceStatus;
      dispatched?: boolean;
      desiredVersion?: number | null;
      message?: string | null;
    },
    time: string,
  ): Promise<void> {
    await this.db
      .updateTable('job_devices')
      .set({
        status: fields.status,
        ...(fields.dispatched !== undefined ? { dispatched: fields.dispatched ? 1 : 0 } : {}),
        ...(fields.desiredVersion !== undefined ? { desired_version: fields.desiredVersion } : {}),
        ...(fields.message !== undefined ? { message: fields.message } : {}),
        updated_at: time,
      })
      .where('job_id', '=', jobId)
      .where('device_id', '=', deviceId)
      .execute();
  }

  /** Devices of property jobs written and waiting for the device's acknowledgement. */
  async awaitingAck(
    deviceId?: string,
  ): Promise<Array<{ jobId: string; deviceId: string; version: number; data: string }>> {
    let q = this.db
      .selectFrom('job_devices')
      .innerJoin('jobs', 'jobs.id', 'job_devices.job_id')
      .select([
        'job_devices.job_id as jobId',
        'job_devices.device_id as deviceId',
        'job_devices.desired_version as version',
        'jobs.data as data',
      ])
      .where('job_devices.status', '=', 'pending')
      .where('job_devices.dispatched', '=', 1)
      .where('job_devices.desired_version', 'is not', null);
    if (deviceId !== undefined) q = q.where('job_devices.device_id', '=', deviceId);
    const rows = await q.execute();
    return rows.map((r) => ({ jobId: r.jobId, deviceId: r.deviceId, version: r.version!, data: r.data }));
  }

  /** Jobs ended before `cutoff` (and stopped jobs untouched since): EXPORT_RULES.md §5.2's 30 days. */
  async sweep(cutoff: string): Promise<number> {
    const old = await this.db
      .selectFrom('jobs')
      .select('id')
      .where((eb) =>
        eb.or([
          eb.and([eb('status', 'in', [...ENDED_STATUSES]), eb('end', '<', cutoff)]),
          eb.and([eb('status', '=', 'stopped'), eb('updated_at', '<', cutoff)]),
        ]),
      )
      .execute();
    const ids = old.map((r) => r.id);
    for (let i = 0; i < ids.length; i += 100) {
      const chunk = ids.slice(i, i + 100);
      await this.db.deleteFrom('job_devices').where('job_id', 'in', chunk).execute();
      await this.db.deleteFrom('jobs').where('id', 'in', chunk).execute();
    }
    return ids.length;
  }

  private async progress(ids: string[]): Promise<Map<string, JobProgress>> {
    const out = new Map<string, JobProgress>();
    for (let i = 0; i < ids.length; i += 100) {
      const rows = await this.db
        .selectFrom('job_devices')
        .select(['job_id', 'status', (eb) => eb.fn.countAll<number>().as('count')])
        .where('job_id', 'in', ids.slice(i, i + 100))
        .groupBy(['job_id', 'status'])
        .execute();
      for (const r of rows) {
        const p = out.get(r.job_id) ?? emptyProgress();
        const n = Number(r.count);
        p.total += n;
        if (r.status === 'completed') p.completed += n;
        else if (r.status === 'failed') p.failed += n;
        else p.pending += n;
        out.set(r.job_id, p);
      }
    }
    return out;
  }
}

function emptyProgress(): JobProgress {
  return { total: 0, pending: 0, completed: 0, failed: 0 };
}
