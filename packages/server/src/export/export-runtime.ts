/**
 * The running side of data export: one {@link DeliveryLoop} per enabled export and destination,
 * started and stopped as the configuration changes (on this node at once, on the others within
 * {@link RECONCILE_MS}). In a cluster an export runs on the one node holding its lease (a
 * PostgreSQL advisory lock `export:<id>`, as jobs do), so each stored message goes to each
 * destination once, whichever node stored it; when that node dies another takes the lease.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';

import type { Metrics } from '../metrics.js';
import type { Database } from '../store/schema.js';
import type { AuditFeed, Transform } from './contracts.js';
import { CursorStore } from './cursor-store.js';
import { DeliveryLoop } from './delivery.js';
import { destinationType } from './destination-types.js';
import type { DeviceSnapshots } from './device-snapshot.js';
import type { CompileTransform, ExportConfig, StoredDestination, StoredExport } from './export-config.js';
import { parseExportFilter } from './export-filter.js';
import { AuditSourceFeed, OutboxFeed, TelemetryFeed, type Feed } from './feeds.js';

export const RECONCILE_MS = 5000;

export interface ExportRuntimeOptions {
  db: Kysely<Database>;
  config: ExportConfig;
  devices: DeviceSnapshots;
  /** Read when an export starts (the service reads it from the store first). */
  applicationId: () => string;
  backlogMs: number;
  postgres: boolean;
  metrics: Metrics;
  logger?: Logger;
  compileTransform?: CompileTransform;
  auditFeed?: AuditFeed;
  /** Called after each reconcile (the service follows which sources are wanted). */
  onReconciled?: () => Promise<void>;
  /** Takes a cluster-wide lease; undefined when another node holds it. */
  lease?: (key: string) => Promise<(() => Promise<void>) | undefined>;
}

interface Running {
  fingerprint: string;
  release: (() => Promise<void>) | undefined;
  loops: DeliveryLoop[];
  close: Array<() => Promise<void> | void>;
}

export class ExportRuntime {
  readonly cursors: CursorStore;
  private readonly running = new Map<string, Running>();
  private readonly feeds = new Map<string, Feed>();
  private timer: NodeJS.Timeout | undefined;
  private reconciling: Promise<void> = Promise.resolve();
  private closed = false;
  private enabledSources = new Set<string>();
  private readonly counters;

  constructor(private readonly o: ExportRuntimeOptions) {
    this.cursors = new CursorStore(o.db);
    this.counters = {
      delivered: o.metrics.counter(
        'gatehouse_export_delivered_total',
        'Messages a destination accepted, by export and destination.',
      ),
      dropped: o.metrics.counter(
        'gatehouse_export_dropped_total',
        'Stored messages dropped over the backlog bound, by export and destination.',
      ),
      failures: o.metrics.counter(
        'gatehouse_export_failures_total',
        'Failed delivery attempts, by export and destination.',
      ),
    };
  }

  feed(source: string): Feed {
    let f = this.feeds.get(source);
    if (!f) {
      f =
        source === 'telemetry'
          ? new TelemetryFeed(this.o.db)
          : source === 'audit' && this.o.auditFeed
            ? new AuditSourceFeed(this.o.auditFeed)
            : new OutboxFeed(this.o.db, source);
      this.feeds.set(source, f);
    }
    return f;
  }

  /** Sources some enabled export reads (the outbox writes only those). */
  wants(source: string): boolean {
    return this.enabledSources.has(source);
  }

  start(): void {
    this.timer = setInterval(() => void this.reconcile(), RECONCILE_MS);
    this.timer.unref();
  }

  /** Brings the loops in line with the stored configuration (serialised). */
  reconcile(): Promise<void> {
    this.reconciling = this.reconciling
      .then(() => this.doReconcile())
      .then(() => this.o.onReconciled?.())
      .catch((err: unknown) => this.o.logger?.warn({ err }, 'data export reconcile failed'));
    return this.reconciling;
  }

  /** New data for `source` was stored here: wake its loops. */
  wake(source: string): void {
    for (const [, r] of this.running) for (const loop of r.loops) if (loop.source === source) loop.wake();
  }

  /** Cursors of a new or re-enabled export start at the feed's head (no backfill). */
  async begin(next: StoredExport, previous: StoredExport | undefined): Promise<void> {
    if (!next.enabled) return;
    const head = await this.feed(next.source).head();
    const reset = !previous || !previous.enabled || previous.source !== next.source;
    for (const d of next.destinations) await this.cursors.begin(next.id, d.id, head, reset);
  }

  private async doReconcile(): Promise<void> {
    if (this.closed) return;
    const [exports, destinations] = await Promise.all([
      this.o.config.listExports(),
      this.o.config.listDestinations(),
    ]);
    const byId = new Map(destinations.map((d) => [d.id, d]));
    this.enabledSources = new Set(exports.filter((e) => e.enabled).map((e) => e.source));
    await this.cursors.keepOnly(
      exports.flatMap((e) => e.destinations.map((d) => ({ exportId: e.id, destinationId: d.id }))),
    );
    const wanted = new Map<string, { e: StoredExport; fingerprint: string }>();
    for (const e of exports) {
      if (!e.enabled) continue;
      const fingerprint = JSON.stringify([e, e.destinations.map((d) => byId.get(d.id))]);
      wanted.set(e.id, { e, fingerprint });
    }
    for (const [id, r] of this.running) {
      if (wanted.get(id)?.fingerprint === r.fingerprint) continue;
      await this.stopOne(id, r);
    }
    for (const [id, { e, fingerprint }] of wanted) {
      if (this.running.has(id) || this.closed) continue;
      const release = this.o.lease ? await this.o.lease(`export:${id}`) : undefined;
      if (this.o.lease && !release) continue;
      // Cursors exist for every pair (created with the export); begin() is idempotent here.
      await this.begin(e, e);
      this.running.set(id, await this.startOne(e, byId, fingerprint, release));
    }
  }

  private async startOne(
    e: StoredExport,
    byId: Map<string, StoredDestination>,
    fingerprint: string,
    release: (() => Promise<void>) | undefined,
  ): Promise<Running> {
    const r: Running = { fingerprint, release, loops: [], close: [] };
    const filter = e.filter ? parseExportFilter(e.filter) : undefined;
    const spec = {
      applicationId: this.o.applicationId(),
      source: e.source,
      filter,
      enrichments: e.enrichments,
    };
    for (const d of e.destinations) {
      const stored = byId.get(d.id);
      const impl = stored && destinationType(stored.type);
      if (!stored || !impl) continue;
      let transform: Transform | undefined;
      if (d.transform !== undefined && this.o.compileTransform) {
        transform = await this.o.compileTransform(d.transform);
        r.close.push(() => transform?.close());
      }
      const adapter = impl.create(stored.config);
      r.close.push(() => adapter.close());
      const labels = { export: e.id, destination: d.id };
      const loop = new DeliveryLoop({
        exportId: e.id,
        destinationId: d.id,
        feed: this.feed(e.source),
        spec,
        adapter,
        transform,
        cursors: this.cursors,
        devices: this.o.devices,
        backlogMs: this.o.backlogMs,
        holes: this.o.postgres && e.source !== 'audit',
        counters: {
          delivered: (n) => this.counters.delivered.inc(labels, n),
          dropped: (n) => this.counters.dropped.inc(labels, n),
          failed: () => this.counters.failures.inc(labels),
        },
        ...(this.o.logger ? { logger: this.o.logger } : {}),
      });
      r.loops.push(loop);
    }
    return r;
  }

  private async stopOne(id: string, r: Running): Promise<void> {
    this.running.delete(id);
    await Promise.all(r.loops.map((l) => l.stop()));
    for (const c of r.close) await Promise.resolve(c()).catch(() => undefined);
    await r.release?.().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.reconciling;
    for (const [id, r] of [...this.running]) await this.stopOne(id, r);
  }
}
