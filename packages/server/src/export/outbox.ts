/**
 * Writes the outbox of the sources other than telemetry (EXPORT_RULES.md §2.3–§2.5) from the
 * hub's events: reported and desired property changes, connects and disconnects, and device
 * lifecycle changes. Only sources some enabled export reads are written. Every node that hears
 * an event writes it; the row's `dedupe` key (event, device, time, version) is unique, so in a
 * cluster each change is stored once whichever node wrote it first.
 *
 * Lifecycle `updated` events say only that something changed: the last known enabled flag,
 * display name and template of each device (read at start, kept current) tell which messages
 * to write (`enabled`, `disabled`, `displayNameChanged`, `deviceTemplateChanged`).
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';

import type { HubEvent } from '../hub/hub-api.js';
import { isPlainObject } from '../hub/message-body.js';
import type { Database } from '../store/schema.js';
import type { DeviceSnapshots } from './device-snapshot.js';
import type { ExportTables } from './export-tables.js';
import { changedProperties, deviceEventMessage, SCHEMA } from './message-format.js';

interface Known {
  enabled: boolean;
  displayName: string;
  template: string | null;
}

export interface OutboxRow {
  source: string;
  device_id: string | null;
  template_id: string | null;
  message: string;
  enqueued_at: string;
  dedupe: string;
}

export class OutboxWriter {
  private readonly db: Kysely<ExportTables>;
  private readonly known = new Map<string, Known>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    db: Kysely<Database>,
    private readonly devices: DeviceSnapshots,
    private readonly wanted: (source: string) => boolean,
    private readonly onWritten: () => void,
    private readonly logger?: Logger,
  ) {
    this.db = db.withTables<ExportTables>() as unknown as Kysely<ExportTables>;
    this.raw = db;
  }

  private readonly raw: Kysely<Database>;

  /** Reads every device's enabled flag, display name and template (lifecycle diffs). */
  async start(): Promise<void> {
    const rows = await this.raw
      .selectFrom('devices')
      .select(['id', 'enabled', 'display_name', 'template'])
      .execute();
    for (const r of rows)
      this.known.set(r.id, { enabled: r.enabled === 1, displayName: r.display_name, template: r.template });
  }

  /** Handles one hub event, in order (writes are chained). */
  onEvent(event: HubEvent): void {
    if (event.type === 'telemetry' || event.type === 'commandCompleted') return;
    this.devices.invalidate(event.deviceId);
    this.chain = this.chain
      .then(() => this.write(event))
      .catch((err: unknown) =>
        this.logger?.warn({ err, deviceId: event.deviceId }, 'export outbox write failed'),
      );
  }

  /** Resolves once the events handled so far are written (tests, shutdown). */
  flush(): Promise<void> {
    return this.chain;
  }

  private async write(event: Exclude<HubEvent, { type: 'telemetry' | 'commandCompleted' }>): Promise<void> {
    const rows = await this.rowsOf(event);
    if (rows.length === 0) return;
    await this.db
      .insertInto('export_outbox')
      .values(rows)
      .onConflict((oc) => oc.column('dedupe').doNothing())
      .execute();
    this.onWritten();
  }

  private async templateOf(deviceId: string): Promise<string | null> {
    return (await this.devices.get(deviceId))?.template ?? this.known.get(deviceId)?.template ?? null;
  }

  private async rowsOf(
    event: Exclude<HubEvent, { type: 'telemetry' | 'commandCompleted' }>,
  ): Promise<OutboxRow[]> {
    const { deviceId } = event;
    const row = (
      source: string,
      templateId: string | null,
      message: Record<string, unknown>,
      key: string,
    ): OutboxRow => ({
      source,
      device_id: deviceId,
      template_id: templateId,
      message: JSON.stringify(message),
      enqueued_at: event.time,
      dedupe: `${source}|${deviceId}|${event.time}|${key}`,
    });
    switch (event.type) {
      case 'connected':
      case 'disconnected': {
        if (!this.wanted('deviceConnectivity')) return [];
        const template = await this.templateOf(deviceId);
        return [
          row(
            'deviceConnectivity',
            template,
            deviceEventMessage('deviceConnectivity', event.type, deviceId, template, event.time),
            event.type,
          ),
        ];
      }
      case 'reportedProperties':
      case 'desiredProperties': {
        if (!this.wanted('properties')) return [];
        const properties = changedProperties(
          event.patch,
          (_name, value) => isPlainObject(value) && value['__t'] === 'c',
        );
        if (properties.length === 0) return [];
        const template = await this.templateOf(deviceId);
        const messageType =
          event.type === 'reportedProperties'
            ? 'devicePropertyReportedChange'
            : 'devicePropertyDesiredChange';
        return [
          row(
            'properties',
            template,
            {
              messageSource: 'properties',
              messageType,
              deviceId,
              schema: SCHEMA,
              templateId: template,
              enqueuedTime: event.time,
              properties,
            },
            `${messageType}|${event.version}`,
          ),
        ];
      }
      case 'deviceChanged':
        return this.lifecycle(event, row);
    }
  }

  private async lifecycle(
    event: Extract<HubEvent, { type: 'deviceChanged' }>,
    row: (
      source: string,
      templateId: string | null,
      message: Record<string, unknown>,
      key: string,
    ) => OutboxRow,
  ): Promise<OutboxRow[]> {
    const { deviceId } = event;
    const before = this.known.get(deviceId);
    const now = event.change === 'deleted' ? undefined : await this.devices.get(deviceId);
    if (now)
      this.known.set(deviceId, {
        enabled: now.enabled,
        displayName: now.displayName,
        template: now.template,
      });
    else this.known.delete(deviceId);
    if (!this.wanted('deviceLifecycle')) return [];
    const types: string[] = [];
    if (event.change === 'created') types.push('registered');
    else if (event.change === 'deleted') types.push('deleted');
    else if (event.change === 'provisioned') types.push('provisioned');
    else if (before && now) {
      if (before.enabled !== now.enabled) types.push(now.enabled ? 'enabled' : 'disabled');
      if (before.displayName !== now.displayName) types.push('displayNameChanged');
      if (before.template !== now.template) types.push('deviceTemplateChanged');
    }
    const template = now?.template ?? before?.template ?? null;
    return types.map((t) =>
      row(
        'deviceLifecycle',
        template,
        deviceEventMessage('deviceLifecycle', t, deviceId, template, event.time),
        t,
      ),
    );
  }
}
