/**
 * Device twins (PROTOCOL.md §3.5): desired and reported documents, each with its `$version`.
 * Reported patches come from the device (deep merge, `null` deletes, version + 1); desired
 * patches come from REST (properties.ts) and are pushed to the device when it is connected.
 * Versions start at 1 for a twin nobody has written yet, like IoT Hub's.
 */
import type { Kysely, Selectable } from 'kysely';

import type { Database, TwinsTable } from '../store/schema.js';
import { KeyedMutex } from '../keyed-mutex.js';
import { isPlainObject } from './message-body.js';

/** IoT Hub limits twin documents to 10 levels of nesting. */
export const MAX_TWIN_DEPTH = 10;
/** The errorCode IoT Hub uses for a malformed twin request (§3.5). */
export const TWIN_BAD_REQUEST_CODE = 400027;
/** Writes retried when another node changed the twin in between (each retry reads it again). */
const MAX_WRITE_ATTEMPTS = 50;

export type TwinDocument = Record<string, unknown>;

/** What the store holds of one twin, versions and per-property update times included. */
export interface TwinState {
  desired: TwinDocument;
  desiredVersion: number;
  desiredUpdated: Record<string, string>;
  reported: TwinDocument;
  reportedVersion: number;
  reportedUpdated: Record<string, string>;
}

/** A reported patch the device sent that we cannot apply: answered with `errorCode` 400027. */
export class TwinPatchError extends Error {
  readonly errorCode = TWIN_BAD_REQUEST_CODE;
}

/** RFC 7396-style merge: `null` deletes, objects merge recursively, anything else replaces. */
export function mergePatch(target: TwinDocument, patch: TwinDocument): TwinDocument {
  const result: TwinDocument = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else if (isPlainObject(value)) {
      const base = result[key];
      result[key] = mergePatch(isPlainObject(base) ? base : {}, value);
    } else result[key] = value;
  }
  return result;
}

/**
 * Why a value cannot go into a twin document: `'depth'` when it has more than `limit` levels of
 * objects and arrays (the value itself is level 1), `'proto'` when an object in it has a
 * `__proto__` key, which an assignment in {@link mergePatch} would turn into the prototype.
 * Found without recursion and without looking past the limit, so a value nested thousands deep
 * costs no more than one `limit` levels deep (a recursive walk would overflow the stack: 500).
 */
export function valueProblem(value: unknown, limit: number): 'depth' | 'proto' | undefined {
  const pending: Array<{ value: unknown; level: number }> = [{ value, level: 1 }];
  while (pending.length > 0) {
    const { value: v, level } = pending.pop()!;
    if (!isPlainObject(v) && !Array.isArray(v)) continue;
    if (level > limit) return 'depth';
    for (const [key, item] of Object.entries(v)) {
      if (key === '__proto__' && !Array.isArray(v)) return 'proto';
      pending.push({ value: item, level: level + 1 });
    }
  }
  return undefined;
}

/** Drops the `$version` / `$metadata` a client may echo back; refuses other `$` names. */
function cleanPatch(patch: Record<string, unknown>): TwinDocument {
  const result: TwinDocument = {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$version' || key === '$metadata') continue;
    if (key.startsWith('$')) throw new TwinPatchError(`property name '${key}' may not start with '$'`);
    // Checked before the assignment below, which would treat a `__proto__` key as the prototype.
    const problem = key === '__proto__' ? 'proto' : valueProblem(value, MAX_TWIN_DEPTH - 1);
    if (problem === 'proto') throw new TwinPatchError("property name '__proto__' is not allowed");
    if (problem === 'depth') throw new TwinPatchError(`the patch nests deeper than ${MAX_TWIN_DEPTH} levels`);
    result[key] = value;
  }
  return result;
}

function touched(updated: Record<string, string>, patch: TwinDocument, time: string): Record<string, string> {
  const result = { ...updated };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = time;
  }
  return result;
}

function parseObject(text: string): Record<string, unknown> {
  const value = JSON.parse(text) as unknown;
  return isPlainObject(value) ? value : {};
}

export class TwinService {
  private readonly mutex = new KeyedMutex();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async read(deviceId: string): Promise<TwinState> {
    const row = await this.db
      .selectFrom('twins')
      .selectAll()
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    return row ? toState(row) : emptyTwin();
  }

  /** The body of a twin GET response (§3.5). */
  async document(deviceId: string): Promise<{ desired: TwinDocument; reported: TwinDocument }> {
    const twin = await this.read(deviceId);
    return {
      desired: { ...twin.desired, $version: twin.desiredVersion },
      reported: { ...twin.reported, $version: twin.reportedVersion },
    };
  }

  /**
   * Applies a device's reported patch (raw payload). Throws {@link TwinPatchError} for
   * anything but a JSON object.
   */
  async patchReported(deviceId: string, payload: Buffer): Promise<{ version: number; patch: TwinDocument }> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload.toString('utf8'));
    } catch {
      throw new TwinPatchError('the reported properties patch is not valid JSON');
    }
    if (!isPlainObject(parsed))
      throw new TwinPatchError('the reported properties patch must be a JSON object');
    const patch = cleanPatch(parsed);
    return this.update(deviceId, (twin, time) => {
      const next: TwinState = {
        ...twin,
        reported: mergePatch(twin.reported, patch),
        reportedVersion: twin.reportedVersion + 1,
        reportedUpdated: touched(twin.reportedUpdated, patch, time),
      };
      return { next, result: { version: next.reportedVersion, patch } };
    });
  }

  /** Applies a desired patch (from REST); the caller pushes `{...patch, $version}` to the device. */
  /**
   * Applies a desired patch. `patch` may be a function of the current twin (a PUT's removals),
   * computed under the device's lock so a concurrent write cannot make it stale.
   */
  async patchDesired(
    deviceId: string,
    patch: TwinDocument | ((twin: TwinState) => TwinDocument),
  ): Promise<{ version: number; patch: TwinDocument }> {
    const early = typeof patch === 'function' ? undefined : cleanPatch(patch);
    return this.update(deviceId, (twin, time) => {
      const clean = early ?? cleanPatch((patch as (twin: TwinState) => TwinDocument)(twin));
      const next: TwinState = {
        ...twin,
        desired: mergePatch(twin.desired, clean),
        desiredVersion: twin.desiredVersion + 1,
        desiredUpdated: touched(twin.desiredUpdated, clean, time),
      };
      return { next, result: { version: next.desiredVersion, patch: clean } };
    });
  }

  async delete(deviceId: string): Promise<void> {
    await this.db.deleteFrom('twins').where('device_id', '=', deviceId).execute();
  }

  /**
   * Read, change, write, with the device's lock in this process and a version check in the
   * database: the write lands only if both versions are still those that were read, so a
   * write by another node in between makes this one read again instead of overwriting it.
   */
  private update<T>(
    deviceId: string,
    change: (twin: TwinState, time: string) => { next: TwinState; result: T },
  ): Promise<T> {
    return this.mutex.run(deviceId, async () => {
      for (let attempt = 1; ; attempt++) {
        const row = await this.db
          .selectFrom('twins')
          .selectAll()
          .where('device_id', '=', deviceId)
          .executeTakeFirst();
        const twin = row ? toState(row) : emptyTwin();
        const time = this.now().toISOString();
        const { next, result } = change(twin, time);
        if (await this.write(deviceId, next, time, row ? twin : undefined)) return result;
        if (attempt >= MAX_WRITE_ATTEMPTS)
          throw new Error(`twin of '${deviceId}' changed under ${attempt} attempts to write it`);
      }
    });
  }

  /** Writes `twin` if the stored one is still `read` (undefined: still absent); false if not. */
  private async write(
    deviceId: string,
    twin: TwinState,
    time: string,
    read: TwinState | undefined,
  ): Promise<boolean> {
    const row = {
      desired: JSON.stringify(twin.desired),
      desired_version: twin.desiredVersion,
      desired_updated: JSON.stringify(twin.desiredUpdated),
      reported: JSON.stringify(twin.reported),
      reported_version: twin.reportedVersion,
      reported_updated: JSON.stringify(twin.reportedUpdated),
      updated_at: time,
    };
    if (!read) {
      const r = await this.db
        .insertInto('twins')
        .values({ device_id: deviceId, ...row })
        .onConflict((oc) => oc.column('device_id').doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    }
    const r = await this.db
      .updateTable('twins')
      .set(row)
      .where('device_id', '=', deviceId)
      .where('desired_version', '=', read.desiredVersion)
      .where('reported_version', '=', read.reportedVersion)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}

/** The twin of a device nothing has been set on yet: both documents empty, at version 1. */
export function emptyTwin(): TwinState {
  return {
    desired: {},
    desiredVersion: 1,
    desiredUpdated: {},
    reported: {},
    reportedVersion: 1,
    reportedUpdated: {},
  };
}

function toState(row: Selectable<TwinsTable>): TwinState {
  return {
    desired: parseObject(row.desired),
    desiredVersion: row.desired_version,
    desiredUpdated: parseObject(row.desired_updated) as Record<string, string>,
    reported: parseObject(row.reported),
    reportedVersion: row.reported_version,
    reportedUpdated: parseObject(row.reported_updated) as Record<string, string>,
  };
}

/** The patch that turns the twin's desired document into `values` (absent names → null). */
export function replacementPatch(twin: TwinState, values: TwinDocument): TwinDocument {
  const patch: TwinDocument = {};
  for (const key of Object.keys(twin.desired)) if (!Object.hasOwn(values, key)) patch[key] = null;
  return { ...patch, ...values };
}
