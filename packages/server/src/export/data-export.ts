/**
 * Data export (issue 12 §1, EXPORT_RULES.md §1–§2): the service the REST routes call. It keeps
 * the configuration (export-config.ts), runs the deliveries (export-runtime.ts), writes the
 * outbox of the non-telemetry sources (outbox.ts), and answers destinations and exports in IoT
 * Central's shape with their status: `status`, `errors` (the last failure in words),
 * `lastExportTime`, and Gatehouse's `backlog`, `delivered` and `dropped`.
 */
import { randomUUID } from 'node:crypto';

import type { Kysely } from 'kysely';
import type { Logger } from 'pino';

import type { HubEvent } from '../hub/hub-api.js';
import type { Metrics } from '../metrics.js';
import type { Database } from '../store/schema.js';
import { Settings } from '../store/settings.js';
import { DeliveryError, type AuditFeed } from './contracts.js';
import { isFailing, type CursorRow } from './cursor-store.js';
import { destinationType } from './destination-types.js';
import { DeviceSnapshots } from './device-snapshot.js';
import { exportError } from './errors.js';
import {
  EXPORT_SOURCES,
  ExportConfig,
  type CompileTransform,
  type StoredDestination,
  type StoredExport,
} from './export-config.js';
import { ExportRuntime } from './export-runtime.js';
import { pruneOutbox } from './feeds.js';
import { SCHEMA } from './message-format.js';
import { OutboxWriter } from './outbox.js';
import { TemplateWatch } from './template-watch.js';

/** `--export-backlog` default: 24 h of messages (issue 12 §1). */
export const DEFAULT_EXPORT_BACKLOG_MS = 24 * 3_600_000;
const PRUNE_MS = 600_000;

export interface DeliveryStatus {
  status: string;
  errors: Array<{ code: string; message: string }>;
  lastExportTime?: string;
  backlog: number;
  delivered: number;
  dropped: number;
}

export interface DataExportOptions {
  db: Kysely<Database>;
  metrics: Metrics;
  logger?: Logger;
  /** The hub's events (properties, connectivity, lifecycle → the outbox). */
  subscribe: (listener: (event: HubEvent) => void) => () => void;
  postgres: boolean;
  backlogMs?: number;
  compileTransform?: CompileTransform;
  auditFeed?: AuditFeed;
  lease?: (key: string) => Promise<(() => Promise<void>) | undefined>;
}

function statusOf(
  rows: Array<CursorRow | undefined>,
  backlog: number,
  enabled: boolean,
  idle: string,
): DeliveryStatus {
  const present = rows.filter((r): r is CursorRow => r !== undefined);
  const failing = present.filter(isFailing);
  const last = present
    .map((r) => r.last_export_time)
    .filter((t): t is string => t !== null)
    .sort()
    .at(-1);
  return {
    status: !enabled ? idle : failing.length > 0 ? 'error' : 'healthy',
    errors: failing.map((r) => ({ code: 'deliveryFailed', message: r.last_error ?? 'delivery failed' })),
    ...(last ? { lastExportTime: last } : {}),
    backlog,
    delivered: present.reduce((n, r) => n + Number(r.delivered), 0),
    dropped: present.reduce((n, r) => n + Number(r.dropped), 0),
  };
}

export class DataExportService {
  readonly config: ExportConfig;
  private readonly runtime: ExportRuntime;
  private readonly devices: DeviceSnapshots;
  private outbox: OutboxWriter | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly templates: TemplateWatch;
  private pruneTimer: NodeJS.Timeout | undefined;
  private readonly backlogGauge;
  applicationId = '';

  constructor(private readonly o: DataExportOptions) {
    const sources = EXPORT_SOURCES.filter((s) => s !== 'audit' || o.auditFeed !== undefined);
    this.config = new ExportConfig(o.db, {
      sources,
      ...(o.compileTransform ? { compileTransform: o.compileTransform } : {}),
    });
    this.devices = new DeviceSnapshots(o.db);
    this.runtime = new ExportRuntime({
      db: o.db,
      config: this.config,
      devices: this.devices,
      applicationId: () => this.applicationId,
      backlogMs: o.backlogMs ?? DEFAULT_EXPORT_BACKLOG_MS,
      postgres: o.postgres,
      metrics: o.metrics,
      ...(o.logger ? { logger: o.logger } : {}),
      ...(o.compileTransform ? { compileTransform: o.compileTransform } : {}),
      ...(o.auditFeed ? { auditFeed: o.auditFeed } : {}),
      ...(o.lease ? { lease: o.lease } : {}),
      onReconciled: () => this.follow(),
    });
    this.templates = new TemplateWatch(o.db);
    this.backlogGauge = o.metrics.gauge(
      'gatehouse_export_backlog',
      'Stored messages not yet delivered, by export and destination.',
    );
  }

  /** Reads (or creates) the application ID, writes the outbox from the hub's events, starts the loops. */
  async start(): Promise<void> {
    const settings = new Settings(this.o.db);
    let id = await settings.get('applicationId');
    if (!id) {
      await settings.set('applicationId', randomUUID());
      id = (await settings.get('applicationId'))!;
    }
    this.applicationId = id;
    this.outbox = new OutboxWriter(
      this.o.db,
      this.devices,
      (source) => this.runtime.wants(source),
      () => {
        for (const s of ['properties', 'deviceConnectivity', 'deviceLifecycle']) this.runtime.wake(s);
      },
      this.o.logger,
    );
    await this.outbox.start();
    await this.runtime.reconcile();
    this.runtime.start();
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_MS);
    this.pruneTimer.unref();
  }

  /**
   * Listens to the hub's events only while an enabled export reads a source they feed: a
   * listener of every device's events makes a cluster node receive each of them over the bus.
   * Watches the templates while `deviceTemplateLifecycle` is read.
   */
  private async follow(): Promise<void> {
    const wanted = ['properties', 'deviceConnectivity', 'deviceLifecycle'].some((s) => this.runtime.wants(s));
    if (wanted && !this.unsubscribe && this.outbox) {
      const outbox = this.outbox;
      await outbox.start();
      this.unsubscribe ??= this.o.subscribe((event) => outbox.onEvent(event));
    } else if (!wanted && this.unsubscribe) {
      this.unsubscribe();
      this.unsubscribe = undefined;
    }
    // The backlog gauge of /metrics follows the stored cursors (other nodes' deliveries too).
    await this.listExports();
    if (this.runtime.wants('deviceTemplateLifecycle')) {
      if ((await this.templates.check()) > 0) this.runtime.wake('deviceTemplateLifecycle');
    } else this.templates.reset();
  }

  /** Resolves once the outbox holds the events heard so far (tests). */
  async settled(): Promise<void> {
    await this.outbox?.flush();
  }

  private async prune(): Promise<void> {
    try {
      const exports = await this.config.listExports();
      const outboxPairs = exports.filter(
        (e) => e.enabled && e.source !== 'telemetry' && e.source !== 'audit',
      );
      const rows = await this.runtime.cursors.all();
      const cursors = rows
        .filter((r) => outboxPairs.some((e) => e.id === r.export_id))
        .map((r) => Number(r.cursor));
      const passed = cursors.length > 0 ? Math.min(...cursors) : Number.MAX_SAFE_INTEGER;
      const olderThan = new Date(Date.now() - (this.o.backlogMs ?? DEFAULT_EXPORT_BACKLOG_MS)).toISOString();
      await pruneOutbox(this.o.db, passed, olderThan);
    } catch (err) {
      this.o.logger?.warn({ err }, 'export outbox prune failed');
    }
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.outbox?.flush();
    await this.runtime.close();
  }

  // --- destinations ---

  private async destinationAnswer(
    d: StoredDestination,
    exports?: StoredExport[],
  ): Promise<Record<string, unknown>> {
    const all = exports ?? (await this.config.listExports());
    const users = all.filter((e) => e.destinations.some((x) => x.id === d.id));
    const rows = await Promise.all(users.map((e) => this.runtime.cursors.get(e.id, d.id)));
    let backlog = 0;
    for (const [i, e] of users.entries()) {
      const row = rows[i];
      if (e.enabled && row) backlog += await this.runtime.feed(e.source).countAfter(Number(row.cursor));
    }
    const enabled = users.some((e) => e.enabled);
    const status = statusOf(rows, backlog, enabled, 'waiting');
    const impl = destinationType(d.type);
    return {
      id: d.id,
      displayName: d.displayName,
      type: d.type,
      ...(impl ? impl.mask(d.config) : {}),
      ...status,
    };
  }

  async listDestinations(): Promise<Array<Record<string, unknown>>> {
    const exports = await this.config.listExports();
    return Promise.all((await this.config.listDestinations()).map((d) => this.destinationAnswer(d, exports)));
  }

  async getDestination(id: string): Promise<Record<string, unknown>> {
    return this.destinationAnswer(await this.config.getDestination(id));
  }

  async putDestination(id: string, body: unknown): Promise<Record<string, unknown>> {
    const d = await this.config.putDestination(id, body);
    await this.runtime.reconcile();
    return this.destinationAnswer(d);
  }

  async patchDestination(id: string, body: unknown): Promise<Record<string, unknown>> {
    const d = await this.config.patchDestination(id, body);
    await this.runtime.reconcile();
    return this.destinationAnswer(d);
  }

  async deleteDestination(id: string): Promise<void> {
    await this.config.deleteDestination(id);
    await this.runtime.reconcile();
  }

  async destinationExports(id: string): Promise<Array<Record<string, unknown>>> {
    await this.config.getDestination(id);
    const exports = (await this.config.listExports()).filter((e) => e.destinations.some((d) => d.id === id));
    return Promise.all(exports.map((e) => this.exportAnswer(e)));
  }

  /** Sends one sample telemetry message in IoT Central's format; rejects with 502 in words. */
  async testDestination(id: string): Promise<{ delivered: true; message: Record<string, unknown> }> {
    const d = await this.config.getDestination(id);
    const impl = destinationType(d.type);
    if (!impl)
      throw exportError('ERR_DESTINATION_TYPE_UNSUPPORTED', `type: '${d.type}' is not supported here.`);
    const message = {
      applicationId: this.applicationId,
      messageSource: 'telemetry',
      deviceId: 'gatehouse-test-device',
      schema: SCHEMA,
      templateId: null,
      enqueuedTime: new Date().toISOString(),
      telemetry: { test: true },
      enrichments: {},
      messageProperties: { 'gatehouse-test-message': 'true' },
    };
    const adapter = impl.create(d.config);
    try {
      await adapter.send([message], {
        items: [{ deviceId: 'gatehouse-test-device', messageSource: 'telemetry' }],
      });
    } catch (err) {
      const words = err instanceof DeliveryError ? err.message : (err as Error).message;
      throw exportError('ERR_DESTINATION_TEST_FAILED', `The test message was not delivered: ${words}`, {
        cause: err,
      });
    } finally {
      await adapter.close().catch(() => undefined);
    }
    return { delivered: true, message };
  }

  // --- exports ---

  private async exportAnswer(e: StoredExport): Promise<Record<string, unknown>> {
    const destinations: Array<Record<string, unknown>> = [];
    const rows: Array<CursorRow | undefined> = [];
    let backlog = 0;
    for (const d of e.destinations) {
      const row = await this.runtime.cursors.get(e.id, d.id);
      rows.push(row);
      const b = e.enabled && row ? await this.runtime.feed(e.source).countAfter(Number(row.cursor)) : 0;
      backlog = Math.max(backlog, b);
      destinations.push({ ...d, ...statusOf([row], b, e.enabled, 'notStarted') });
      this.backlogGauge.set({ export: e.id, destination: d.id }, b);
    }
    const status = statusOf(rows, backlog, e.enabled, 'notStarted');
    return {
      id: e.id,
      displayName: e.displayName,
      enabled: e.enabled,
      source: e.source,
      ...(e.filter !== undefined ? { filter: e.filter } : {}),
      enrichments: e.enrichments,
      destinations,
      ...status,
    };
  }

  async listExports(): Promise<Array<Record<string, unknown>>> {
    return Promise.all((await this.config.listExports()).map((e) => this.exportAnswer(e)));
  }

  async getExport(id: string): Promise<Record<string, unknown>> {
    return this.exportAnswer(await this.config.getExport(id));
  }

  async putExport(id: string, body: unknown): Promise<Record<string, unknown>> {
    const { next, previous } = await this.config.putExport(id, body);
    await this.runtime.begin(next, previous);
    await this.runtime.reconcile();
    return this.exportAnswer(next);
  }

  async patchExport(id: string, body: unknown): Promise<Record<string, unknown>> {
    const { next, previous } = await this.config.patchExport(id, body);
    await this.runtime.begin(next, previous);
    await this.runtime.reconcile();
    return this.exportAnswer(next);
  }

  async deleteExport(id: string): Promise<void> {
    await this.config.deleteExport(id);
    await this.runtime.reconcile();
  }

  async exportDestinations(id: string): Promise<Array<Record<string, unknown>>> {
    const e = await this.config.getExport(id);
    const out: Array<Record<string, unknown>> = [];
    for (const d of e.destinations) out.push(await this.getDestination(d.id));
    return out;
  }
}
