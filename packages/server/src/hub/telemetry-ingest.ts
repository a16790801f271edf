/**
 * Telemetry ingest with group commit. A QoS 1 message is PUBACKed only once it is durable
 * (PROTOCOL.md §3.3; DESIGN.md: acknowledged telemetry is never lost), yet one fsync per
 * message would cap throughput at the disk's sync rate. So messages queue here; one commit
 * runs at a time; every message that arrives while it runs goes into the next transaction;
 * all of a batch's submitters are resolved when its commit returns.
 *
 * With a synchronous store (SQLite on the event loop) the "while it runs" is the time the
 * loop spends in poll reading sockets before the commit's setImmediate fires: everything
 * read in one loop turn lands in one batch.
 */
import type { Logger } from 'pino';

import type { TelemetryInput, TelemetryStore } from './telemetry-store.js';

type Entry = { input: TelemetryInput; resolve: () => void; reject: (err: unknown) => void };

export interface TelemetryIngestOptions {
  store: TelemetryStore;
  logger: Logger;
  /** Largest batch per transaction; default 5000. */
  maxBatch?: number;
  /** Called with each committed batch (events, metrics). Must not throw. */
  onCommitted?: (batch: readonly TelemetryInput[]) => void;
  /** Called with the error of a failed commit (the disk-full alarm). Must not throw. */
  onFailed?: (err: unknown) => void;
}

export class TelemetryIngest {
  /** Committed transactions. */
  batches = 0;
  /** Committed messages. */
  messages = 0;
  /** Largest committed batch so far. */
  largestBatch = 0;

  private pending: Entry[] = [];
  private committing = false;
  private scheduled = false;
  private idleWaiters: Array<() => void> = [];
  private readonly maxBatch: number;

  constructor(private readonly options: TelemetryIngestOptions) {
    this.maxBatch = options.maxBatch ?? 5000;
  }

  /** Queues a message; resolves once it is durable, rejects if the commit fails. */
  submit(input: TelemetryInput): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      this.schedule();
    });
  }

  /** Messages waiting for a commit. */
  get queued(): number {
    return this.pending.length;
  }

  /** Resolves once everything queued so far is committed (or failed). */
  flush(): Promise<void> {
    if (this.pending.length === 0 && !this.committing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.committing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.commit();
    });
  }

  private async commit(): Promise<void> {
    if (this.committing) return;
    if (this.pending.length === 0) {
      this.notifyIdle();
      return;
    }
    this.committing = true;
    const batch = this.pending.splice(0, this.maxBatch);
    const inputs = batch.map((e) => e.input);
    try {
      await this.options.store.appendBatch(inputs);
      this.batches++;
      this.messages += batch.length;
      if (batch.length > this.largestBatch) this.largestBatch = batch.length;
      for (const entry of batch) entry.resolve();
      try {
        this.options.onCommitted?.(inputs);
      } catch (err) {
        this.options.logger.error({ err }, 'telemetry commit listener failed');
      }
    } catch (err) {
      this.options.logger.error({ err, messages: batch.length }, 'telemetry commit failed');
      this.options.onFailed?.(err);
      for (const entry of batch) entry.reject(err);
    } finally {
      this.committing = false;
    }
    if (this.pending.length > 0) this.schedule();
    else this.notifyIdle();
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
