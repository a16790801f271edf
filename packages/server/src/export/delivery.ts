/**
 * One export's delivery to one destination: read after the cursor, drop what is older than the
 * backlog bound (counted), filter / enrich / format / transform, send, and move the cursor only
 * once the destination accepted. A failure is recorded in words and retried with exponential
 * backoff (1 s doubling to 30 s) for as long as it lasts: an export never stays failed, it
 * catches up as soon as the destination answers again.
 */
import type { Logger } from 'pino';

import type { DestinationAdapter, Transform } from './contracts.js';
import type { CursorStore } from './cursor-store.js';
import type { DeviceSnapshots } from './device-snapshot.js';
import { HoleGuard, type Feed } from './feeds.js';
import { applyTransform, prepare, type PipelineSpec } from './pipeline.js';

export const BATCH_SIZE = 500;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30_000;
/** Poll interval when the feed is empty: short while data flows, longer when idle. */
const POLL_BUSY_MS = 50;
const POLL_IDLE_MS = 250;

export interface DeliveryCounters {
  delivered(n: number): void;
  dropped(n: number): void;
  failed(): void;
}

export interface DeliveryOptions {
  exportId: string;
  destinationId: string;
  feed: Feed;
  spec: PipelineSpec;
  adapter: DestinationAdapter;
  transform: Transform | undefined;
  cursors: CursorStore;
  devices: DeviceSnapshots;
  backlogMs: number;
  /** Hole waiting (PostgreSQL ids are not in commit order). */
  holes: boolean;
  counters: DeliveryCounters;
  logger?: Logger;
}

export class DeliveryLoop {
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private readonly done: Promise<void>;
  private readonly guard: HoleGuard;

  readonly source: string;

  constructor(private readonly o: DeliveryOptions) {
    this.source = o.spec.source;
    this.guard = new HoleGuard(o.holes);
    this.done = this.run();
  }

  /** New data may be there: stop waiting for the poll (not for a backoff). */
  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.done;
  }

  private sleep(ms: number, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, ms);
      this.wakeUp = () => {
        if (!wakeable && !this.stopped) return;
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    const { exportId, destinationId, cursors } = this.o;
    let backoff = 0;
    let idleSince = Date.now();
    while (!this.stopped) {
      try {
        const row = await cursors.get(exportId, destinationId);
        if (!row) {
          await this.sleep(POLL_IDLE_MS, true);
          continue;
        }
        const moved = await this.step(Number(row.cursor));
        backoff = 0;
        if (moved) idleSince = Date.now();
        else await this.sleep(Date.now() - idleSince > 5000 ? POLL_IDLE_MS : POLL_BUSY_MS, true);
      } catch (err) {
        backoff = backoff === 0 ? BACKOFF_MIN_MS : Math.min(BACKOFF_MAX_MS, backoff * 2);
        const message = (err as Error).message;
        this.o.counters.failed();
        this.o.logger?.warn(
          { exportId, destinationId, err: message, retryInMs: backoff },
          'export delivery failed',
        );
        await cursors.fail(exportId, destinationId, message).catch(() => undefined);
        await this.sleep(backoff, false);
      }
    }
  }

  /** One batch; false when there was nothing to read. */
  private async step(cursor: number): Promise<boolean> {
    const { o } = this;
    const items = this.guard.cut(cursor, await o.feed.after(cursor, BATCH_SIZE));
    if (items.length === 0) return false;
    // Over the backlog bound: the oldest go first, counted (issue 12 §1 "Delivery").
    const horizon = new Date(Date.now() - o.backlogMs).toISOString();
    let expired = 0;
    while (expired < items.length && items[expired]!.enqueuedAt < horizon) expired++;
    if (expired > 0) {
      const dropped = items.slice(0, expired).filter((i) => i.source === o.spec.source).length;
      await o.cursors.advance(o.exportId, o.destinationId, items[expired - 1]!.id, 0, dropped, false);
      o.counters.dropped(dropped);
      return true;
    }
    const prepared = await prepare(o.spec, items, o.devices);
    const { messages, items: contexts } = await applyTransform(prepared, o.transform);
    if (messages.length > 0) await o.adapter.send(messages, { items: contexts });
    await o.cursors.advance(
      o.exportId,
      o.destinationId,
      items.at(-1)!.id,
      messages.length,
      0,
      messages.length > 0,
    );
    o.counters.delivered(messages.length);
    return true;
  }
}
