/**
 * Telemetry as the hub handles it: messages from device sessions handed to the ingest and
 * announced once committed, the REST reads of stored telemetry, and retention.
 */
import type { PropertyBag } from '@gatehouse/protocol';
import type { IPublishPacket } from 'mqtt-packet';
import type { Logger } from 'pino';

import type { EventBus } from '../events/event-bus.js';
import type { DeviceRegistry } from './devices.js';
import { hubError } from './errors.js';
import type { HubEvent, TelemetryHistoryQuery, TelemetryMessageRecord, TelemetryValue } from './hub-api.js';
import type { HubMetrics } from './hub-metrics.js';
import type { HubSession } from './hub-session.js';
import { decodeBody, isPlainObject } from './message-body.js';
import type { TelemetryIngest } from './telemetry-ingest.js';
import type { TelemetryInput, TelemetryStore } from './telemetry-store.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Default and largest number of messages a history query returns. */
const HISTORY_LIMIT = { default: 1000, max: 10_000 } as const;

export interface HubTelemetryOptions {
  store: TelemetryStore;
  ingest: TelemetryIngest;
  devices: DeviceRegistry;
  events: EventBus;
  logger: Logger;
  now: () => Date;
  metrics: HubMetrics | undefined;
  /** Retention of raw telemetry (and of the minute rollups) in days. */
  retentionDays: number;
  /** Retention of the hour rollups in days. */
  rollupRetentionDays: number;
}

export class HubTelemetry {
  constructor(private readonly o: HubTelemetryOptions) {}

  /** A device's telemetry publish, handed to the ingest; settles when stored (QoS 1). */
  fromDevice(session: HubSession, bag: PropertyBag, packet: IPublishPacket): Promise<void> {
    const body = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const properties = { ...bag.application };
    // §3.7: a retained publish is stored with the app property `mqtt-retain`.
    if (packet.retain) properties['mqtt-retain'] = 'true';
    const input: TelemetryInput = {
      deviceId: session.deviceId,
      enqueuedAt: this.o.now().toISOString(),
      component: bag.system['$.sub'] ?? null,
      body,
      contentType: bag.system['$.ct'] ?? null,
      systemProperties: { ...bag.system },
      properties,
    };
    const decoded = decodeBody(body);
    if (decoded.bodyEncoding === 'json' && isPlainObject(decoded.body)) input.fields = decoded.body;
    const stored = this.o.ingest.submit(input);
    // QoS 0: stored, never acknowledged; a failure is logged by the ingest.
    if (packet.qos === 0) {
      stored.catch(() => undefined);
      return Promise.resolve();
    }
    return stored;
  }

  /** The ingest's commit hook: counts the batch and announces each message to its listeners. */
  onCommitted(batch: readonly TelemetryInput[]): void {
    this.o.metrics?.messages.inc({}, batch.length);
    this.o.metrics?.batches.inc();
    for (const m of batch) {
      if (!this.o.events.hasListeners(m.deviceId)) continue;
      this.o.events.emit({
        type: 'telemetry',
        deviceId: m.deviceId,
        component: m.component,
        enqueuedTime: m.enqueuedAt,
        body: m.fields ?? decodeBody(m.body).body,
        properties: m.properties,
        ...(m.id !== undefined ? { id: m.id } : {}),
      });
    }
  }

  async eventsSince(deviceId: string | undefined, from: string, limit: number): Promise<HubEvent[]> {
    const rows = await this.o.store.history(deviceId, { from, limit });
    return rows.map((r) => {
      const decoded = decodeBody(r.body);
      return {
        type: 'telemetry' as const,
        deviceId: r.deviceId,
        component: r.component,
        enqueuedTime: r.enqueuedAt,
        body: decoded.body,
        properties: r.properties,
        id: r.id,
      };
    });
  }

  async latest(deviceId: string, name: string, component?: string): Promise<TelemetryValue> {
    await this.o.devices.row(deviceId);
    const latest = await this.o.store.latest(deviceId, name, component ?? '');
    if (!latest) {
      throw hubError(
        'ERR_TELEMETRY_NOT_FOUND',
        `Device '${deviceId}' has not sent '${name}'${component ? ` in component '${component}'` : ''}.`,
      );
    }
    return { value: latest.value, timestamp: latest.enqueuedAt };
  }

  async history(deviceId: string, query: TelemetryHistoryQuery): Promise<TelemetryMessageRecord[]> {
    await this.o.devices.row(deviceId);
    const limit = query.limit ?? HISTORY_LIMIT.default;
    if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_LIMIT.max) {
      throw hubError(
        'ERR_TELEMETRY_QUERY_INVALID',
        `'limit' must be an integer from 1 to ${HISTORY_LIMIT.max}.`,
      );
    }
    if (query.from && query.to && query.from > query.to) {
      throw hubError('ERR_TELEMETRY_QUERY_INVALID', "'from' must not be after 'to'.");
    }
    const rows = await this.o.store.history(deviceId, {
      limit,
      ...(query.from ? { from: query.from.toISOString() } : {}),
      ...(query.to ? { to: query.to.toISOString() } : {}),
      ...(query.name !== undefined ? { name: query.name } : {}),
      ...(query.component !== undefined ? { component: query.component } : {}),
    });
    return rows.map((r) => ({
      id: r.id,
      deviceId: r.deviceId,
      enqueuedTime: r.enqueuedAt,
      component: r.component,
      ...decodeBody(r.body),
      systemProperties: r.systemProperties,
      properties: r.properties,
    }));
  }

  /**
   * Deletes telemetry older than `retentionDays` with its minute rollups (they have the same
   * resolution, so they would only duplicate it) and hour rollups older than
   * `rollupRetentionDays`; returns how many messages.
   */
  async applyRetention(): Promise<number> {
    const now = this.o.now().getTime();
    const cutoff = new Date(now - this.o.retentionDays * DAY_MS).toISOString();
    const rollupCutoff = new Date(now - this.o.rollupRetentionDays * DAY_MS).toISOString();
    try {
      const deleted = await this.o.store.deleteOlderThan(cutoff);
      const minutes = await this.o.store.deleteRollupsOlderThan('minute', cutoff);
      const hours = await this.o.store.deleteRollupsOlderThan('hour', rollupCutoff);
      if (deleted + minutes + hours > 0) {
        this.o.logger.info({ deleted, cutoff, minutes, hours, rollupCutoff }, 'telemetry retention applied');
      }
      return deleted;
    } catch (err) {
      this.o.logger.error({ err }, 'telemetry retention failed');
      return 0;
    }
  }
}
