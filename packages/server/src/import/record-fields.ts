/**
 * Checks shared by the format readers. Each throws a {@link RecordProblem} naming the field;
 * the reader turns it into a refusal at the record's line.
 */
import { MAX_TWIN_DEPTH, valueProblem } from '../hub/twins.js';
import { isObject } from '../validation.js';
import type { ImportErrorCode } from './errors.js';
import type { Thumbprint } from './records.js';

export class RecordProblem extends Error {
  constructor(
    readonly code: ImportErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export { isObject };

/** A string ID from the first of `names` present; ERR_IMPORT_MISSING_ID when none is. */
export function recordId(record: Record<string, unknown>, names: string[]): string {
  for (const name of names) {
    const v = record[name];
    if (typeof v === 'string' && v.trim() !== '') return v;
    if (v !== undefined && v !== null && typeof v !== 'string') {
      throw new RecordProblem('ERR_IMPORT_FIELD_INVALID', `'${name}' must be a string.`);
    }
  }
  throw new RecordProblem('ERR_IMPORT_MISSING_ID', `The record has no '${names.join("' or '")}'.`);
}

/**
 * A symmetric key pair as Azure exports it. Both keys, base64 of 16–64 bytes (DPS's and the
 * hub's limits, PROTOCOL.md §6.2). `null` keys are what a command without `--show-keys` prints.
 */
export function symmetricKeys(
  value: unknown,
  where: string,
  missingHint: string,
): { primaryKey: string; secondaryKey: string } {
  if (!isObject(value) || value['primaryKey'] === undefined || value['primaryKey'] === null) {
    throw new RecordProblem('ERR_IMPORT_KEYS_MISSING', `'${where}' holds no keys: ${missingHint}`);
  }
  const out: Record<string, string> = {};
  for (const name of ['primaryKey', 'secondaryKey']) {
    const v = value[name];
    if (v === undefined || v === null) {
      throw new RecordProblem('ERR_IMPORT_KEYS_MISSING', `'${where}.${name}' is missing: ${missingHint}`);
    }
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(v) || v.length % 4 !== 0) {
      throw new RecordProblem('ERR_IMPORT_KEY_INVALID', `'${where}.${name}' is not base64.`);
    }
    const bytes = Buffer.from(v, 'base64').length;
    if (bytes < 16 || bytes > 64) {
      throw new RecordProblem(
        'ERR_IMPORT_KEY_INVALID',
        `'${where}.${name}' must decode to 16–64 bytes (it has ${bytes}).`,
      );
    }
    out[name] = v;
  }
  return { primaryKey: out['primaryKey']!, secondaryKey: out['secondaryKey']! };
}

/** A SHA-1 (40) or SHA-256 (64) hex thumbprint, colons allowed; upper-case as the hub stores them. */
export function thumbprint(value: unknown, where: string): Thumbprint | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const hex = typeof value === 'string' ? value.replace(/:/g, '').toUpperCase() : '';
  if (!/^[0-9A-F]+$/.test(hex) || (hex.length !== 40 && hex.length !== 64)) {
    throw new RecordProblem(
      'ERR_IMPORT_THUMBPRINT_INVALID',
      `'${where}' must be 40 (SHA-1) or 64 (SHA-256) hexadecimal digits, not ${JSON.stringify(value)}.`,
    );
  }
  return hex.length === 40 ? { sha1: hex, sha256: null } : { sha1: null, sha256: hex };
}

/** `enabled` / `disabled` (hub `status`, DPS `provisioningStatus`); absent = enabled. */
export function enabledStatus(value: unknown, where: string): boolean {
  if (value === undefined || value === null || value === 'enabled') return true;
  if (value === 'disabled') return false;
  throw new RecordProblem('ERR_IMPORT_FIELD_INVALID', `'${where}' must be 'enabled' or 'disabled'.`);
}

/**
 * Desired properties of a twin as exported: `$metadata` and `$version` are the hub's own and
 * dropped; the rest must fit a twin (no other `$` names, at most 10 levels).
 */
export function desiredProperties(value: unknown, where: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new RecordProblem('ERR_IMPORT_FIELD_INVALID', `'${where}' must be an object.`);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === '$metadata' || key === '$version') continue;
    if (key.startsWith('$') || key === '__proto__') {
      throw new RecordProblem(
        'ERR_IMPORT_FIELD_INVALID',
        `'${where}.${key}': a property name may not start with '$'.`,
      );
    }
    if (valueProblem(v, MAX_TWIN_DEPTH - 1) !== undefined) {
      throw new RecordProblem(
        'ERR_IMPORT_FIELD_INVALID',
        `'${where}.${key}' nests deeper than a twin allows (${MAX_TWIN_DEPTH} levels).`,
      );
    }
    out[key] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
