/**
 * Device groups (EXPORT_RULES.md §5.1; CENTRAL_API.md §1.2 "Other areas"): a named device query,
 * evaluated each time the group is used: its device list, the jobs run over it, the device list
 * and dashboard scoped to it. PUT creates or replaces (200), PATCH merges, DELETE answers 204.
 */
import type { Kysely, Selectable } from 'kysely';

import type { Database, DeviceGroupsTable } from '../store/schema.js';
import { characterCount, newEtag } from '../util.js';
import { commonError, isObject } from '../validation.js';
import { DeviceQueryError, parseDeviceQuery, type DeviceQuery } from './device-query.js';
import { matchingDeviceIds } from './device-query-eval.js';
import type { DeviceGroup } from './device-group-shape.js';
import { appError } from './errors.js';

export type { DeviceGroup } from './device-group-shape.js';

/** EXPORT_RULES.md §5.1: `^[a-zA-Z0-9_-]*$`, at most 255 (and at least one). */
export const DEVICE_GROUP_ID = /^[a-zA-Z0-9_-]{1,255}$/;
/** EXPORT_RULES.md §5.1 (D-LIM): 500 groups per application. */
export const MAX_DEVICE_GROUPS = 500;
const MAX_DISPLAY_NAME = 255;
const MAX_DESCRIPTION = 1024;

export function checkDeviceGroupId(id: string): void {
  if (!DEVICE_GROUP_ID.test(id)) {
    throw commonError(
      'ERR_INVALID_ID',
      `deviceGroupId '${id.slice(0, 64)}' is invalid: use letters, digits, - and _, 1–255 characters.`,
    );
  }
}

/**
 * Parses a device query given in `field`, as the REST API refuses it: 400
 * ERR_DEVICE_QUERY_INVALID naming the field, the position and the token.
 */
export function parseQueryField(text: string, field: string): DeviceQuery {
  try {
    return parseDeviceQuery(text);
  } catch (err) {
    if (err instanceof DeviceQueryError) {
      throw appError('ERR_DEVICE_QUERY_INVALID', `${field}: ${err.message}.`, { cause: err });
    }
    throw err;
  }
}

function invalid(message: string): Error {
  return appError('ERR_DEVICE_GROUP_INVALID', message);
}

interface Fields {
  displayName?: string;
  filter?: string;
  description?: string | null;
  etag?: string;
}

function parseBody(body: unknown, partial: boolean): Fields {
  if (!isObject(body)) throw invalid('The body must be a JSON object.');
  const out: Fields = {};
  const text = (name: 'displayName' | 'filter', max: number) => {
    const v = body[name];
    if (v === undefined || (partial && v === null)) {
      if (!partial) throw invalid(`${name} is required.`);
      if (v === null) throw invalid(`${name} cannot be removed.`);
      return;
    }
    if (typeof v !== 'string' || v.trim() === '') throw invalid(`${name} must be a non-empty string.`);
    if (characterCount(v) > max) throw invalid(`${name} is longer than ${max} characters.`);
    out[name] = v;
  };
  text('displayName', MAX_DISPLAY_NAME);
  text('filter', 4096);
  const d = body['description'];
  if (d !== undefined) {
    if (d !== null && typeof d !== 'string') throw invalid('description must be a string.');
    if (typeof d === 'string' && characterCount(d) > MAX_DESCRIPTION)
      throw invalid(`description is longer than ${MAX_DESCRIPTION} characters.`);
    out.description = d;
  }
  const orgs = body['organizations'];
  if (orgs !== undefined && orgs !== null && !(Array.isArray(orgs) && orgs.length === 0)) {
    throw invalid('organizations: this application has no organizations; leave it out.');
  }
  if (body['etag'] !== undefined) {
    if (typeof body['etag'] !== 'string') throw invalid('etag must be a string.');
    out.etag = body['etag'];
  }
  if (out.filter !== undefined) parseQueryField(out.filter, 'filter');
  return out;
}

function toApi(row: Selectable<DeviceGroupsTable>): DeviceGroup {
  return {
    id: row.id,
    displayName: row.display_name,
    filter: row.filter,
    ...(row.description !== null ? { description: row.description } : {}),
    etag: row.etag,
  };
}

export class DeviceGroupService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async list(): Promise<DeviceGroup[]> {
    const rows = await this.db
      .selectFrom('device_groups')
      .selectAll()
      .orderBy('display_name')
      .orderBy('id')
      .execute();
    return rows.map(toApi);
  }

  async get(id: string): Promise<DeviceGroup> {
    return toApi(await this.row(id));
  }

  async put(id: string, body: unknown): Promise<DeviceGroup> {
    checkDeviceGroupId(id);
    const fields = parseBody(body, false);
    const existing = await this.db
      .selectFrom('device_groups')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (fields.etag !== undefined && existing && fields.etag !== existing.etag) {
      throw commonError('ERR_ETAG_MISMATCH', `Device group '${id}' has changed since etag ${fields.etag}.`);
    }
    const time = this.now().toISOString();
    const values = {
      display_name: fields.displayName!,
      filter: fields.filter!,
      description: fields.description ?? null,
      etag: newEtag(),
      updated_at: time,
    };
    if (existing) {
      await this.db.updateTable('device_groups').set(values).where('id', '=', id).execute();
    } else {
      const { count } = await this.db
        .selectFrom('device_groups')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .executeTakeFirstOrThrow();
      if (Number(count) >= MAX_DEVICE_GROUPS) {
        throw appError(
          'ERR_DEVICE_GROUP_LIMIT',
          `The application already has ${MAX_DEVICE_GROUPS} device groups.`,
        );
      }
      await this.db
        .insertInto('device_groups')
        .values({ id, ...values, created_at: time })
        .execute();
    }
    return this.get(id);
  }

  async patch(id: string, body: unknown): Promise<DeviceGroup> {
    const existing = await this.row(id);
    const fields = parseBody(body, true);
    if (fields.etag !== undefined && fields.etag !== existing.etag) {
      throw commonError('ERR_ETAG_MISMATCH', `Device group '${id}' has changed since etag ${fields.etag}.`);
    }
    await this.db
      .updateTable('device_groups')
      .set({
        ...(fields.displayName !== undefined ? { display_name: fields.displayName } : {}),
        ...(fields.filter !== undefined ? { filter: fields.filter } : {}),
        ...(fields.description !== undefined ? { description: fields.description } : {}),
        etag: newEtag(),
        updated_at: this.now().toISOString(),
      })
      .where('id', '=', id)
      .execute();
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    await this.row(id);
    await this.db.deleteFrom('device_groups').where('id', '=', id).execute();
  }

  /** The IDs of the devices the group's filter selects now, sorted. */
  async deviceIds(id: string): Promise<string[]> {
    const row = await this.row(id);
    return matchingDeviceIds(this.db, parseDeviceQuery(row.filter));
  }

  /** Whether a group exists (jobs check their `group` with it). */
  async exists(id: string): Promise<boolean> {
    if (!DEVICE_GROUP_ID.test(id)) return false;
    return (
      (await this.db.selectFrom('device_groups').select('id').where('id', '=', id).executeTakeFirst()) !==
      undefined
    );
  }

  private async row(id: string): Promise<Selectable<DeviceGroupsTable>> {
    checkDeviceGroupId(id);
    const row = await this.db.selectFrom('device_groups').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw appError('ERR_DEVICE_GROUP_NOT_FOUND', `Device group '${id}' does not exist.`);
    return row;
  }
}
