/**
 * The device registry as REST sees it (CENTRAL_API.md §1.2 Devices, §3): list, get, PUT
 * (create or replace the writable fields), PATCH (merge), DELETE, each with the live status.
 * Credentials (auth columns) are written by provisioning; this file never touches them.
 */
import type { Kysely, Selectable } from 'kysely';

import { provisioningError } from '../provisioning/errors.js';
import type { Database, DevicesTable } from '../store/schema.js';
import { isPostgres } from '../store/transactions.js';
import { newEtag } from '../util.js';
import { checkId, commonError, isObject } from '../validation.js';
import { hubError } from './errors.js';
import { listDevicePage } from './device-list.js';
import type { DeviceListQuery } from './device-list-query.js';
import type { Device, DevicePage } from './hub-api.js';

/** CENTRAL_API.md §1.1: a display name may be up to 148 characters. */
export const MAX_DISPLAY_NAME_LENGTH = 148;

/** What the store knows of a device's connection. */
export interface StoredStatus {
  last_connected: string | null;
  last_activity: string | null;
  /** The node of the cluster that holds its connection (device_sessions), if any. */
  heldBy?: string;
}

export interface DeviceStatusSource {
  /** Live status of one device: connected now, last activity, last connection. */
  status(id: string, stored: StoredStatus | undefined): Device['status'];
}

interface WritableFields {
  displayName?: string;
  template?: string | null;
  enabled?: boolean;
  simulated?: boolean;
  etag?: string;
}

export class DeviceRegistry {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly statusSource: DeviceStatusSource,
    private readonly now: () => Date = () => new Date(),
    /** Refuses (throws) a `template` that names no device template; absent = not checked. */
    private readonly checkTemplate?: (templateId: string) => Promise<void>,
  ) {}

  async list(): Promise<Device[]> {
    const rows = await this.db.selectFrom('devices').selectAll().orderBy('id').execute();
    const statuses = await this.db.selectFrom('device_status').selectAll().execute();
    const held = new Map(
      (
        await this.db
          .selectFrom('device_sessions')
          .select(['device_id', 'node_id'])
          .where('node_id', 'is not', null)
          .execute()
      ).map((r) => [r.device_id, r.node_id ?? '']),
    );
    const byId = new Map(statuses.map((s) => [s.device_id, s]));
    return rows.map((row) => {
      const status = byId.get(row.id);
      const heldBy = held.get(row.id);
      return this.toApi(
        row,
        heldBy !== undefined ? { last_connected: null, last_activity: null, ...status, heldBy } : status,
      );
    });
  }

  /** One page of the list, filtered, sorted and paged in the database (device-list.ts). */
  async page(query: DeviceListQuery): Promise<DevicePage> {
    const page = await listDevicePage(this.db, isPostgres(this.db) ? 'postgres' : 'sqlite', query);
    const devices: DevicePage = page.rows.map((r) => this.toApi(r.row, r.status));
    if (page.nextToken !== undefined) devices.nextToken = page.nextToken;
    return devices;
  }

  async get(id: string): Promise<Device> {
    return this.toApiWithStatus(await this.row(id));
  }

  /** The stored row; throws ERR_INVALID_ID / ERR_DEVICE_NOT_FOUND. */
  async row(id: string): Promise<Selectable<DevicesTable>> {
    checkId('deviceId', id);
    const row = await this.db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw provisioningError('ERR_DEVICE_NOT_FOUND', `Device '${id}' does not exist.`);
    return row;
  }

  /** PUT: creates the device, or replaces its writable fields. Returns it and whether it was created. */
  async put(id: string, body: unknown): Promise<{ device: Device; created: boolean }> {
    checkId('deviceId', id);
    const fields = parseFields(body);
    const existing = await this.db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
    checkEtag(existing, fields.etag);
    if (fields.template) await this.checkTemplate?.(fields.template);
    const time = this.now().toISOString();
    const writable = {
      display_name: fields.displayName ?? id,
      template: fields.template ?? null,
      enabled: fields.enabled === false ? 0 : 1,
      simulated: fields.simulated === true ? 1 : 0,
      etag: newEtag(),
      updated_at: time,
    };
    if (existing) {
      await this.db.updateTable('devices').set(writable).where('id', '=', id).execute();
    } else {
      await this.db
        .insertInto('devices')
        .values({
          id,
          ...writable,
          provisioned: 0,
          auth_type: 'none',
          x509_primary_sha1: null,
          x509_primary_sha256: null,
          x509_secondary_sha1: null,
          x509_secondary_sha256: null,
          sas_primary_key: null,
          sas_secondary_key: null,
          enrollment_group_id: null,
          assigned_hub: null,
          created_at: time,
        })
        .execute();
    }
    return { device: await this.get(id), created: !existing };
  }

  /** PATCH: merges the given writable fields. */
  async patch(id: string, body: unknown): Promise<Device> {
    const existing = await this.row(id);
    const fields = parseFields(body);
    checkEtag(existing, fields.etag);
    if (fields.template) await this.checkTemplate?.(fields.template);
    const update: Partial<Selectable<DevicesTable>> = {
      etag: newEtag(),
      updated_at: this.now().toISOString(),
    };
    if (fields.displayName !== undefined) update.display_name = fields.displayName;
    if (fields.template !== undefined) update.template = fields.template;
    if (fields.enabled !== undefined) update.enabled = fields.enabled ? 1 : 0;
    if (fields.simulated !== undefined) update.simulated = fields.simulated ? 1 : 0;
    await this.db.updateTable('devices').set(update).where('id', '=', id).execute();
    return this.get(id);
  }

  /** Sets the template of a device that has none; true when it did. */
  async assignTemplateIfUnset(id: string, template: string): Promise<boolean> {
    const result = await this.db
      .updateTable('devices')
      .set({ template, etag: newEtag(), updated_at: this.now().toISOString() })
      .where('id', '=', id)
      .where('template', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Deletes the device row and its status; the caller removes twin, sessions, C2D, history. */
  async delete(id: string): Promise<void> {
    await this.row(id);
    await this.db.deleteFrom('devices').where('id', '=', id).execute();
    await this.db.deleteFrom('device_status').where('device_id', '=', id).execute();
  }

  private async toApiWithStatus(row: Selectable<DevicesTable>): Promise<Device> {
    const status = await this.db
      .selectFrom('device_status')
      .selectAll()
      .where('device_id', '=', row.id)
      .executeTakeFirst();
    const session = await this.db
      .selectFrom('device_sessions')
      .select('node_id')
      .where('device_id', '=', row.id)
      .where('node_id', 'is not', null)
      .executeTakeFirst();
    return this.toApi(
      row,
      session?.node_id
        ? { last_connected: null, last_activity: null, ...status, heldBy: session.node_id }
        : status,
    );
  }

  private toApi(row: Selectable<DevicesTable>, status: StoredStatus | undefined): Device {
    return {
      id: row.id,
      etag: row.etag,
      displayName: row.display_name,
      ...(row.template !== null ? { template: row.template } : {}),
      enabled: row.enabled === 1,
      provisioned: row.provisioned === 1,
      simulated: row.simulated === 1,
      status: this.statusSource.status(row.id, status),
    };
  }
}

function checkEtag(existing: Selectable<DevicesTable> | undefined, etag: string | undefined): void {
  if (etag === undefined || etag === '' || etag === '*' || !existing) return;
  if (etag !== existing.etag) {
    throw commonError(
      'ERR_ETAG_MISMATCH',
      'The etag does not match the current version; read the device again.',
    );
  }
}

function parseFields(body: unknown): WritableFields {
  if (!isObject(body)) throw hubError('ERR_DEVICE_INVALID', 'The device body must be a JSON object.');
  const fields: WritableFields = {};
  const displayName = body['displayName'];
  if (displayName !== undefined && displayName !== null) {
    if (
      typeof displayName !== 'string' ||
      displayName.trim() === '' ||
      displayName.length > MAX_DISPLAY_NAME_LENGTH
    ) {
      throw hubError(
        'ERR_DEVICE_INVALID',
        `'displayName' must be a non-empty string of at most ${MAX_DISPLAY_NAME_LENGTH} characters.`,
      );
    }
    fields.displayName = displayName;
  }
  const template = body['template'];
  if (template === null) fields.template = null;
  else if (template !== undefined) {
    if (typeof template !== 'string' || template.length > 1024) {
      throw hubError('ERR_DEVICE_INVALID', "'template' must be a device template ID (a string).");
    }
    fields.template = template === '' ? null : template;
  }
  for (const name of ['enabled', 'simulated'] as const) {
    const value = body[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'boolean') throw hubError('ERR_DEVICE_INVALID', `'${name}' must be a boolean.`);
    fields[name] = value;
  }
  const etag = body['etag'];
  if (etag !== undefined && etag !== null) {
    if (typeof etag !== 'string') throw hubError('ERR_DEVICE_INVALID', "'etag' must be a string.");
    fields.etag = etag;
  }
  return fields;
}
