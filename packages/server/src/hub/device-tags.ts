/**
 * Twin tags (IoT Hub): JSON the solution keeps about a device — location, owner, customer —
 * that the device itself never sees. Gatehouse keeps them per device for the fleets moved from
 * IoT Hub (`gatehouse import hub` brings them) and for the operator's own use; they are read
 * and written over REST only.
 */
import type { Kysely } from 'kysely';

import type { Database } from '../store/schema.js';
import { isPlainObject } from './message-body.js';
import { hubError } from './errors.js';
import { mergePatch, valueProblem, type TwinDocument } from './twins.js';

/** IoT Hub's limit for tags: objects nested at most 10 levels, like the rest of the twin. */
export const TAGS_MAX_DEPTH = 10;
/** IoT Hub keeps at most 8 KB of tags per device. */
export const TAGS_MAX_BYTES = 8 * 1024;

/** Checks a tags document (or a patch of one); throws ERR_TAGS_INVALID naming what is wrong. */
export function checkTags(value: unknown, what = 'tags'): TwinDocument {
  if (!isPlainObject(value)) {
    throw hubError('ERR_TAGS_INVALID', `${what} must be a JSON object of tag names to values.`);
  }
  const problem = valueProblem(value, TAGS_MAX_DEPTH);
  if (problem === 'depth') {
    throw hubError('ERR_TAGS_INVALID', `${what} is nested deeper than ${TAGS_MAX_DEPTH} levels.`);
  }
  if (problem === 'proto') throw hubError('ERR_TAGS_INVALID', `${what} has a '__proto__' name.`);
  for (const name of Object.keys(value)) {
    if (name.startsWith('$'))
      throw hubError('ERR_TAGS_INVALID', `${what}: the name '${name}' starts with '$'.`);
  }
  return value as TwinDocument;
}

export class DeviceTags {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(deviceId: string): Promise<TwinDocument> {
    const row = await this.db
      .selectFrom('device_tags')
      .select('tags')
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    return row ? (JSON.parse(row.tags) as TwinDocument) : {};
  }

  /** Replaces every tag of the device. */
  async replace(deviceId: string, tags: unknown): Promise<TwinDocument> {
    const checked = checkTags(tags);
    const text = JSON.stringify(checked);
    if (Buffer.byteLength(text) > TAGS_MAX_BYTES) {
      throw hubError(
        'ERR_TAGS_INVALID',
        `tags take ${Buffer.byteLength(text)} bytes; at most ${TAGS_MAX_BYTES}.`,
      );
    }
    const time = this.now().toISOString();
    await this.db
      .insertInto('device_tags')
      .values({ device_id: deviceId, tags: text, updated_at: time })
      .onConflict((oc) => oc.column('device_id').doUpdateSet({ tags: text, updated_at: time }))
      .execute();
    return checked;
  }

  /** Merges a patch (RFC 7396: `null` removes a tag). */
  async patch(deviceId: string, patch: unknown): Promise<TwinDocument> {
    const checked = checkTags(patch, 'the tags patch');
    return this.replace(deviceId, mergePatch(await this.get(deviceId), checked));
  }

  async forget(deviceId: string): Promise<void> {
    await this.db.deleteFrom('device_tags').where('device_id', '=', deviceId).execute();
  }
}
