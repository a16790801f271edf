/**
 * What every DTDL v2 element shares (DTDL.v2.md; CENTRAL_API.md §6): the refusal naming an
 * element by its JSON path, identifiers (DTMIs), names, the descriptive terms (`displayName`,
 * `description`, `comment`), the properties each element type may have, and reading JSON-LD
 * sets, types and localizable strings. dtdl-schema.ts and dtdl.ts validate with these.
 */
import { isObject } from '../validation.js';
import { appError } from './errors.js';

export type Json = Record<string, unknown>;

const SEGMENT = '[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?';
/** A user DTMI: no system segments (`_…`), a version 1–999999999 without leading zero (§6). */
export const USER_DTMI = new RegExp(`^dtmi:${SEGMENT}(?::${SEGMENT})*;[1-9][0-9]{0,8}$`);
/** Any DTMI, system segments allowed, version optional (IoT Central template IDs, §6 caveat). */
export const LOOSE_DTMI =
  /^dtmi:(?:_+[A-Za-z0-9]|[A-Za-z])(?:[A-Za-z0-9_]*[A-Za-z0-9])?(?::(?:_+[A-Za-z0-9]|[A-Za-z])(?:[A-Za-z0-9_]*[A-Za-z0-9])?)*(?:;[1-9][0-9]{0,8})?$/;
export const MAX_INTERFACE_ID_LENGTH = 128;
export const MAX_ELEMENT_ID_LENGTH = 2048;

/** Content, field, enum value and payload names (§6). */
const NAME = /^[a-zA-Z](?:[a-zA-Z0-9_]*[a-zA-Z0-9])?$/;
const COMMON_KEYS = ['@id', '@type', 'displayName', 'description', 'comment'];
/** IoT Central display overrides and value terms found on stored template contents. */
const IOTC_CONTENT_KEYS = [
  'displayUnit',
  'decimalPlaces',
  'minValue',
  'maxValue',
  'minLength',
  'maxLength',
  'trimWhitespace',
  'trueName',
  'falseName',
  'initialValue',
  'severity',
];
const KEYS: Record<string, ReadonlySet<string>> = {
  Interface: new Set([...COMMON_KEYS, '@context', 'contents', 'extends', 'schemas', 'name']),
  Telemetry: new Set([...COMMON_KEYS, 'name', 'schema', 'unit', ...IOTC_CONTENT_KEYS]),
  Property: new Set([...COMMON_KEYS, 'name', 'schema', 'unit', 'writable', ...IOTC_CONTENT_KEYS]),
  Command: new Set([...COMMON_KEYS, 'name', 'request', 'response', 'commandType', 'durable']),
  Component: new Set([...COMMON_KEYS, 'name', 'schema']),
  Relationship: new Set([
    ...COMMON_KEYS,
    'name',
    'target',
    'minMultiplicity',
    'maxMultiplicity',
    'properties',
    'writable',
  ]),
  CommandPayload: new Set([...COMMON_KEYS, 'name', 'schema']),
  Array: new Set([...COMMON_KEYS, 'elementSchema']),
  Enum: new Set([...COMMON_KEYS, 'valueSchema', 'enumValues']),
  EnumValue: new Set([...COMMON_KEYS, 'name', 'enumValue']),
  Map: new Set([...COMMON_KEYS, 'mapKey', 'mapValue']),
  MapKey: new Set([...COMMON_KEYS, 'name', 'schema']),
  MapValue: new Set([...COMMON_KEYS, 'name', 'schema']),
  Object: new Set([...COMMON_KEYS, 'fields']),
  Field: new Set([...COMMON_KEYS, 'name', 'schema']),
};

/** Refuses with ERR_DTDL_INVALID, naming the element. */
export function dtdlError(path: string, message: string): Error {
  return appError('ERR_DTDL_INVALID', path === '' ? message : `${path}: ${message}`);
}

/** `path.key`, or `path[i] (name 'x')` for a named element of a set. */
export function childPath(path: string, key: string | number, node?: unknown): string {
  const base = typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;
  const name = isObject(node) ? node['name'] : undefined;
  return typeof name === 'string' && typeof key === 'number' ? `${base} (name '${name}')` : base;
}

/** A JSON-LD set: an array, or one value standing for a set of one. */
export function asSet(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** `@type` as a list of terms. */
export function typesOf(node: Json): string[] {
  const t = node['@type'];
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === 'string');
  return [];
}

/** A localizable string as one plain string: the `en` value of a language map. */
export function plainText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (!isObject(value)) return undefined;
  const keys = Object.keys(value);
  const key =
    keys.find((k) => k === 'en') ??
    keys.find((k) => k.toLowerCase().startsWith('en')) ??
    keys.find((k) => typeof value[k] === 'string');
  const text = key === undefined ? undefined : value[key];
  return typeof text === 'string' ? text : undefined;
}

export function checkKeys(node: Json, path: string, kind: string): void {
  const allowed = KEYS[kind];
  if (!allowed) return;
  for (const key of Object.keys(node)) {
    // JSON-LD terms given as IRIs/DTMIs belong to other vocabularies and are left alone.
    if (allowed.has(key) || key.includes(':')) continue;
    throw dtdlError(path, `'${key}' is not a property of a DTDL v2 ${kind}`);
  }
}

export function checkDtmi(value: unknown, path: string, maxLength: number, required: boolean): void {
  if (value === undefined) {
    if (required) throw dtdlError(path, 'is required (a DTMI such as dtmi:com:example:Thermostat;1)');
    return;
  }
  if (typeof value !== 'string' || !USER_DTMI.test(value)) {
    throw dtdlError(
      path,
      `${JSON.stringify(value)} is not a DTMI: use dtmi:<segments separated by :>;<version>, each segment a letter then letters, digits or _ (not ending with _), e.g. dtmi:com:example:Thermostat;1`,
    );
  }
  if (value.length > maxLength) throw dtdlError(path, `is longer than ${maxLength} characters`);
}

function checkLocalizable(value: unknown, path: string, max: number): void {
  if (value === undefined) return;
  if (typeof value === 'string') {
    if (value.length === 0 || value.length > max) throw dtdlError(path, `must be 1–${max} characters`);
    return;
  }
  if (!isObject(value) || Object.keys(value).length === 0) {
    throw dtdlError(path, 'must be a string or a language map such as { "en": "…" }');
  }
  for (const [lang, text] of Object.entries(value)) {
    if (!/^[a-zA-Z]{2,8}(?:-[a-zA-Z0-9]{1,8})*$/.test(lang)) {
      throw dtdlError(path, `'${lang}' is not a language code (e.g. en, en-US)`);
    }
    if (typeof text !== 'string' || text.length === 0 || text.length > max) {
      throw dtdlError(`${path}.${lang}`, `must be a string of 1–${max} characters`);
    }
  }
}

export function checkDescriptive(node: Json, path: string): void {
  checkLocalizable(node['displayName'], childPath(path, 'displayName'), 64);
  checkLocalizable(node['description'], childPath(path, 'description'), 512);
  const comment = node['comment'];
  if (comment !== undefined && (typeof comment !== 'string' || comment.length > 512)) {
    throw dtdlError(childPath(path, 'comment'), 'must be a string of at most 512 characters');
  }
}

export function checkName(node: Json, path: string): string {
  const name = node['name'];
  if (name === undefined) throw dtdlError(path, "'name' is required");
  if (typeof name !== 'string' || !NAME.test(name) || name.length > 64) {
    throw dtdlError(
      path,
      `name ${JSON.stringify(name)} is invalid: a letter, then letters, digits and _ (not last), at most 64 characters`,
    );
  }
  return name;
}

/** `@type` of an optional-typed element (Field, EnumValue, …): absent or exactly `kind`. */
export function checkOptionalType(node: Json, path: string, kind: string): void {
  const t = node['@type'];
  if (t === undefined) return;
  const types = typesOf(node);
  if (!types.includes(kind) || types.some((x) => x !== kind && !x.includes(':'))) {
    throw dtdlError(path, `'@type' must be "${kind}" when given`);
  }
}
