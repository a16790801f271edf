/**
 * Jobs (EXPORT_RULES.md §5.2): a property, cloud-property or command operation over the devices
 * of a device group, run batch after batch, stopped by its cancellation threshold (per batch or
 * over the whole job), stoppable and resumable, rerun on its failed devices. Its state lives in
 * the store (job-store.ts), so after a restart a running job resumes at the batch and the device
 * it had reached; the per-device work goes through {@link JobTargets}.
 *
 * Per device:
 * - property: the desired patch is written (delivered now, or when the device connects) and the
 *   device stays `pending` until it acknowledges that version (`av` ≥ it): `ac` 200 completes
 *   it, 4xx/5xx fail it, 201–203 keep it pending (CENTRAL_API.md §5.3). A batch waits up to
 *   `ackWaitMs` for its acknowledgements, then the next batch starts; later acknowledgements
 *   still complete their devices, after the job itself is `complete`.
 * - cloudProperty: stored at once: `completed`.
 * - command: run with the data's `connectionTimeout` (default 0: an offline device fails at
 *   once with ERR_DEVICE_OFFLINE, as IoT Hub answers 404; up to 30 s waits for it to connect);
 *   a 2xx answer completes the device, any other answer or a timeout fails it.
 * The job is `complete` once every batch ran (failed devices included, as IoT Central shows),
 * `cancelled` when the threshold is reached, `failed` when the runner itself could not go on.
 */
import type { Logger } from 'pino';

import type { TemplateSummary } from '../app/dtdl-summary.js';
import { KeyedMutex } from '../keyed-mutex.js';
import { ackOutcome, checkJobId } from './job-acks.js';
import { dispatchDevice, type DispatchContext } from './job-dispatch.js';
import { jobError } from './errors.js';
import {
  batchSize,
  parseJobDefinition,
  thresholdReached,
  type Job,
  type JobData,
  type JobDefinition,
  type JobChecks,
  type JobDeviceStatus,
} from './job-body.js';
import type { JobStore } from './job-store.js';
import { ACTIVE_STATUSES, definitionOf, ENDED_STATUSES } from './job-store.js';
import type { JobTargets } from './job-targets.js';

/** EXPORT_RULES.md §5.2 (D-LIM): at most 5 jobs run at once. */
export const MAX_CONCURRENT_JOBS = 5;
/** EXPORT_RULES.md §5.2: 30 days of job history. */
export const JOB_HISTORY_DAYS = 30;
const DAY_MS = 86_400_000;

export interface JobServiceOptions {
  store: JobStore;
  targets: JobTargets;
  groups: { exists(id: string): Promise<boolean>; deviceIds(id: string): Promise<string[]> };
  templates: (id: string) => Promise<TemplateSummary | undefined>;
  logger: Logger;
  now?: () => Date;
  /** How long a batch waits for property acknowledgements before the next one starts (default 30 s). */
  ackWaitMs?: number;
  /** Devices of one batch worked on at once (default 8). */
  parallel?: number;
  /** Period of the history sweep (default 1 h). */
  sweepEveryMs?: number;
  /**
   * In a cluster, one node runs a job's loop: the lease of the job (a PostgreSQL advisory
   * lock held for the loop's duration), or undefined when another node holds it. Without it
   * (one process) every job runs here.
   */
  lease?: (jobId: string) => Promise<(() => Promise<void>) | undefined>;
  /** With a lease: how often this node looks for active jobs nobody runs (a dead node's; default 5 s). */
  adoptEveryMs?: number;
}

export class JobService {
  private readonly store: JobStore;
  private readonly now: () => Date;
  private readonly ackWaitMs: number;
  private readonly parallel: number;
  /** What the per-device work (job-dispatch.ts) needs. */
  private readonly dispatchContext: DispatchContext;
  /** Loops running in this process, by job ID. */
  private readonly active = new Map<string, Promise<void>>();
  /** Wakes a loop waiting for its batch's acknowledgements. */
  private readonly wakers = new Map<string, () => void>();
  /** Creations, resumes and reruns one at a time, so two cannot both take the 5th slot. */
  private readonly admission = new KeyedMutex();
  private unsubscribe: (() => void) | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private adoptTimer: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(private readonly o: JobServiceOptions) {
    this.store = o.store;
    this.now = o.now ?? (() => new Date());
    this.ackWaitMs = o.ackWaitMs ?? 30_000;
    this.parallel = o.parallel ?? 8;
    this.dispatchContext = {
      store: o.store,
      targets: o.targets,
      logger: o.logger,
      now: this.now,
      checkAcks: (deviceId) => this.checkAcks(deviceId),
    };
  }

  /** Listens for acknowledgements, resumes the jobs a restart interrupted, starts the history sweep. */
  async start(): Promise<void> {
    this.unsubscribe = this.o.targets.onReported((deviceId) => {
      void this.checkAcks(deviceId).catch((err: unknown) =>
        this.o.logger.error({ err, deviceId }, 'job ack check failed'),
      );
    });
    // Acknowledgements that arrived while the server was down are in the twins already.
    await this.checkAcks();
    for (const id of await this.store.idsWithStatus(ACTIVE_STATUSES)) this.launch(id);
    await this.sweep();
    this.sweepTimer = setInterval(
      () => void this.sweep().catch(() => undefined),
      this.o.sweepEveryMs ?? 3_600_000,
    );
    this.sweepTimer.unref();
    if (this.o.lease) {
      // The jobs of a node that died (its lease went with its connection) go on here.
      this.adoptTimer = setInterval(() => {
        void this.store
          .idsWithStatus(ACTIVE_STATUSES)
          .then((ids) => ids.forEach((id) => this.launch(id)))
          .catch(() => undefined);
      }, this.o.adoptEveryMs ?? 5000);
      this.adoptTimer.unref();
    }
  }

  /** Stops the loops (their jobs stay `running` in the store and resume at the next start). */
  async close(): Promise<void> {
    this.closing = true;
    this.unsubscribe?.();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.adoptTimer) clearInterval(this.adoptTimer);
    for (const wake of this.wakers.values()) wake();
    await Promise.allSettled([...this.active.values()]);
  }

  list(): Promise<Job[]> {
    return this.store.list();
  }

  get(id: string): Promise<Job> {
    checkJobId(id);
    return this.store.get(id);
  }

  async devices(id: string): Promise<Array<{ id: string; status: JobDeviceStatus; message?: string }>> {
    checkJobId(id);
    await this.store.row(id);
    return (await this.store.devices(id)).map((d) => {
      // A pending device is either not reached yet or written and awaiting its acknowledgement.
      const message =
        d.message ??
        (d.status === 'pending' && d.desiredVersion !== null
          ? `Written; waiting for the device to acknowledge desired version ${d.desiredVersion}.`
          : null);
      return { id: d.deviceId, status: d.status, ...(message !== null ? { message } : {}) };
    });
  }

  /** PUT /api/jobs/{id}: checks the body, takes a slot, snapshots the group's devices and runs. */
  async create(
    id: string,
    body: unknown,
    extra: { scheduledJobId?: string; displayName?: string } = {},
  ): Promise<Job> {
    checkJobId(id);
    const def = await parseJobDefinition(body, this.checks());
    if (extra.displayName !== undefined) def.displayName = extra.displayName;
    return this.admit(async () => {
      if (await this.store.exists(id))
        throw jobError('ERR_JOB_EXISTS', `Job '${id}' exists already; a job cannot be replaced.`);
      await this.checkSlot();
      const deviceIds = await this.o.groups.deviceIds(def.group);
      await this.insert(
        id,
        def,
        deviceIds,
        extra.scheduledJobId === undefined ? {} : { scheduledJobId: extra.scheduledJobId },
      );
      this.launch(id);
      return this.store.get(id);
    });
  }

  /** POST /api/jobs/{id}/stop → 204 at once: no further device is started; in-flight ones finish. */
  async stop(id: string): Promise<void> {
    checkJobId(id);
    const row = await this.store.row(id);
    if (!ACTIVE_STATUSES.includes(row.status as never)) {
      throw jobError(
        'ERR_JOB_STATE',
        `Job '${id}' is ${row.status}; only a pending or running job can be stopped.`,
      );
    }
    if (!(await this.store.transition(id, ACTIVE_STATUSES, 'stopped', this.now().toISOString()))) {
      throw jobError('ERR_JOB_STATE', `Job '${id}' has just ended; it cannot be stopped.`);
    }
    // The loop sees it before its next device; one in flight (a command waiting up to 30 s for
    // its answer) finishes in the background, and resume waits for it.
    this.wakers.get(id)?.();
  }

  /** POST /api/jobs/{id}/resume → 204: a stopped job goes on where it stopped. */
  async resume(id: string): Promise<void> {
    checkJobId(id);
    await this.admit(async () => {
      const row = await this.store.row(id);
      if (row.status !== 'stopped') {
        throw jobError('ERR_JOB_STATE', `Job '${id}' is ${row.status}; only a stopped job can be resumed.`);
      }
      // Its loop may still be finishing the device it was on when stopped.
      await this.active.get(id);
      await this.checkSlot();
      await this.store.transition(id, ['stopped'], 'pending', this.now().toISOString(), { end: null });
      this.launch(id);
    });
  }

  /** PUT /api/jobs/{id}/rerun/{rerunId}: a new job with the same data, over the failed devices only. */
  async rerun(id: string, rerunId: string): Promise<Job> {
    checkJobId(id);
    checkJobId(rerunId, 'rerunId');
    return this.admit(async () => {
      const row = await this.store.row(id);
      if (!ENDED_STATUSES.includes(row.status as never) && row.status !== 'stopped') {
        throw jobError('ERR_JOB_STATE', `Job '${id}' is ${row.status}; rerun it when it has ended.`);
      }
      const failed = (await this.store.devices(id))
        .filter((d) => d.status === 'failed')
        .map((d) => d.deviceId);
      if (failed.length === 0) throw jobError('ERR_JOB_STATE', `Job '${id}' has no failed devices to rerun.`);
      if (await this.store.exists(rerunId)) {
        throw jobError('ERR_JOB_EXISTS', `Job '${rerunId}' exists already; choose another rerunId.`);
      }
      await this.checkSlot();
      await this.insert(rerunId, definitionOf(row), failed, { rerunOf: id });
      this.launch(rerunId);
      return this.store.get(rerunId);
    });
  }

  /** Deletes jobs past the 30 days of history. */
  async sweep(): Promise<number> {
    const cutoff = new Date(this.now().getTime() - JOB_HISTORY_DAYS * DAY_MS).toISOString();
    return this.store.sweep(cutoff);
  }

  /** Resolves when the job's loop in this process has ended (tests; the CLI waits by polling). */
  async settled(id: string): Promise<void> {
    await this.active.get(id);
  }

  /** The checks a job body goes through (scheduled jobs check theirs with them too). */
  checks(): JobChecks {
    return { groupExists: (g: string) => this.o.groups.exists(g), template: this.o.templates };
  }

  private admit<T>(fn: () => Promise<T>): Promise<T> {
    return this.admission.run('jobs', fn);
  }

  private async checkSlot(): Promise<void> {
    const running = await this.store.activeCount();
    if (running >= MAX_CONCURRENT_JOBS) {
      throw jobError(
        'ERR_JOB_LIMIT',
        `${running} jobs are pending or running; at most ${MAX_CONCURRENT_JOBS} run at once. Wait for one to end or stop one.`,
      );
    }
  }

  private async insert(
    id: string,
    def: JobDefinition,
    deviceIds: string[],
    links: { scheduledJobId?: string; rerunOf?: string },
  ): Promise<void> {
    const target = def.data[0]!.target;
    // A device of another template cannot take the data: it fails at once, and says why.
    const devices: Array<{ deviceId: string; batch: number; status: JobDeviceStatus; message?: string }> = [];
    const eligible: string[] = [];
    for (const deviceId of deviceIds) {
      const template = await this.o.targets.deviceTemplate(deviceId);
      if (template === target) eligible.push(deviceId);
      else if (template !== undefined) {
        devices.push({
          deviceId,
          batch: 0,
          status: 'failed',
          message: `The device's template is ${template === null ? 'not set' : `'${template}'`}, not the job's target '${target}'.`,
        });
      }
    }
    const size = batchSize(def.batch, eligible.length);
    eligible.forEach((deviceId, i) =>
      devices.push({ deviceId, batch: Math.floor(i / size), status: 'pending' }),
    );
    const time = this.now().toISOString();
    await this.store.db
      .transaction()
      .execute((trx) => this.store.insert(trx, { id, def, time, ...links }, devices));
  }

  private launch(id: string): void {
    if (this.active.has(id) || this.closing) return;
    const leased = async (): Promise<void> => {
      if (!this.o.lease) return this.loop(id);
      const release = await this.o.lease(id);
      // Another node runs this job: it stays there (and comes here if that node dies).
      if (!release) return;
      try {
        await this.loop(id);
      } finally {
        await release();
      }
    };
    const loop = leased()
      .catch(async (err: unknown) => {
        this.o.logger.error({ err, jobId: id }, 'job failed');
        await this.store
          .transition(id, ACTIVE_STATUSES, 'failed', this.now().toISOString(), {
            end: this.now().toISOString(),
          })
          .catch(() => undefined);
      })
      .finally(() => this.active.delete(id));
    this.active.set(id, loop);
  }

  private async loop(id: string): Promise<void> {
    let row = await this.store.row(id);
    if (!ACTIVE_STATUSES.includes(row.status as never)) return;
    const time = this.now().toISOString();
    if (
      !(await this.store.transition(
        id,
        ACTIVE_STATUSES,
        'running',
        time,
        row.start === null ? { start: time } : {},
      ))
    )
      return;
    const def = definitionOf(row);
    for (;;) {
      row = await this.store.row(id);
      if (row.status !== 'running' || this.closing) return;
      const devices = await this.store.devices(id);
      const batch = row.current_batch;
      const lastBatch = devices.reduce((max, d) => Math.max(max, d.batch), 0);
      if (batch > lastBatch) {
        await this.store.transition(id, ['running'], 'complete', this.now().toISOString(), {
          end: this.now().toISOString(),
        });
        return;
      }
      const todo = devices.filter((d) => d.batch === batch && !d.dispatched && d.status === 'pending');
      let next = 0;
      const worker = async () => {
        while (next < todo.length) {
          const device = todo[next++]!;
          if (!(await this.stillRunning(id))) return;
          await dispatchDevice(this.dispatchContext, id, def.data, device);
          if (await this.overThreshold(id, def, batch)) return;
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.parallel, todo.length) }, worker));
      if (!(await this.stillRunning(id))) return;
      if (def.data[0]!.type === 'property') await this.waitForAcks(id, batch);
      if (await this.overThreshold(id, def, batch)) return;
      if (!(await this.stillRunning(id))) return;
      await this.store.setBatch(id, batch + 1, this.now().toISOString());
    }
  }

  private async stillRunning(id: string): Promise<boolean> {
    if (this.closing) return false;
    return (await this.store.row(id)).status === 'running';
  }

  /** Cancels the job (status `cancelled`) when its threshold is reached; answers whether it did. */
  private async overThreshold(id: string, def: JobDefinition, batch: number): Promise<boolean> {
    const t = def.cancellationThreshold;
    if (!t) return false;
    const devices = await this.store.devices(id);
    const counted = t.batch ? devices.filter((d) => d.batch === batch) : devices;
    const failed = counted.filter((d) => d.status === 'failed').length;
    if (!thresholdReached(t, failed, counted.length)) return false;
    const time = this.now().toISOString();
    if (!(await this.store.transition(id, ['running'], 'cancelled', time, { end: time }))) return true;
    this.o.logger.info({ jobId: id, failed, batch }, 'job cancelled: cancellation threshold reached');
    return true;
  }

  /** Waits until no device of the batch awaits its acknowledgement, for at most `ackWaitMs`. */
  private async waitForAcks(id: string, batch: number): Promise<void> {
    const deadline = Date.now() + this.ackWaitMs;
    for (;;) {
      const pending = (await this.store.devices(id)).some((d) => d.batch === batch && d.status === 'pending');
      if (!pending || Date.now() >= deadline || !(await this.stillRunning(id))) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(1000, Math.max(0, deadline - Date.now())));
        this.wakers.set(id, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.wakers.delete(id);
    }
  }

  /**
   * Reads the acknowledgements of devices waiting in property jobs (one device after a reported
   * patch; every waiting device at start-up) and completes or fails them.
   */
  private async checkAcks(deviceId?: string): Promise<void> {
    const waiting = await this.store.awaitingAck(deviceId);
    const reported = new Map<string, Record<string, unknown>>();
    for (const w of waiting) {
      if (!reported.has(w.deviceId)) reported.set(w.deviceId, await this.o.targets.reported(w.deviceId));
      const outcome = ackOutcome(reported.get(w.deviceId)!, JSON.parse(w.data) as JobData[], w.version);
      if (outcome.status === 'pending') continue;
      await this.store.updateDevice(
        w.jobId,
        w.deviceId,
        { status: outcome.status, message: outcome.message ?? null },
        this.now().toISOString(),
      );
      if (outcome.status === 'failed') {
        const row = await this.store.row(w.jobId);
        if (row.status === 'running') await this.overThreshold(w.jobId, definitionOf(row), row.current_batch);
      }
      this.wakers.get(w.jobId)?.();
    }
  }
}
