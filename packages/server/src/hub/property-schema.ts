/**
 * Writable-property values checked against the device's template before they become a desired
 * patch (CENTRAL_API.md §6 Schemas): IoT Central refuses a value of the wrong type instead of
 * sending the device something it cannot read. Only properties the template names are checked
 * (a device without a template, or a name the template lacks, passes as before); `null` removes
 * a desired value and is always allowed.
 */
import { hubError } from './errors.js';
import { isPlainObject } from './message-body.js';
import type { TwinDocument } from './twins.js';

/** A property of the device's template, as the template summary lists it (contract §A). */
export interface TemplateProperty {
  name: string;
  component?: string;
  displayName: string;
  /** A primitive schema name or a complex schema object (DTDL v2). */
  schema: unknown;
  writable: boolean;
}

const INTEGER_RANGE: Record<string, readonly [number, number]> = {
  // DTDL v2: integer is signed 4-byte, long signed 8-byte (JSON can carry it exactly to 2^53).
  integer: [-2_147_483_648, 2_147_483_647],
  long: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};
// ISO 8601 forms DTDL v2 names for its temporal schemas.
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/i;
const TIME = /^\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$/i;
const DURATION =
  /^P(?!$)(?:\d+(?:\.\d+)?Y)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?W)?(?:\d+(?:\.\d+)?D)?(?:T(?=\d)(?:\d+(?:\.\d+)?H)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?S)?)?$/;

/** Refuses (400 ERR_PROPERTY_TYPE_MISMATCH / ERR_PROPERTY_READ_ONLY) values the template rules out. */
export function checkPropertyValues(values: TwinDocument, properties: readonly TemplateProperty[]): void {
  const root = new Map(properties.filter((p) => p.component === undefined).map((p) => [p.name, p]));
  for (const [name, value] of Object.entries(values)) {
    const property = root.get(name);
    if (property === undefined || value === null) continue;
    if (!property.writable) {
      throw hubError(
        'ERR_PROPERTY_READ_ONLY',
        `Property '${name}' (${property.displayName}) is read-only in the device template: only the device reports it.`,
      );
    }
    const problem = schemaProblem(value, property.schema, name);
    if (problem !== undefined) {
      throw hubError(
        'ERR_PROPERTY_TYPE_MISMATCH',
        `Property '${name}' (${property.displayName}): ${problem}`,
      );
    }
  }
}

/** Why `value` does not fit `schema`, naming the JSON path; undefined when it fits. */
export function schemaProblem(value: unknown, schema: unknown, path: string): string | undefined {
  if (typeof schema === 'string') return primitiveProblem(value, schema, path);
  if (!isPlainObject(schema)) return undefined;
  const type = schema['@type'];
  const types = Array.isArray(type) ? type : [type];
  if (types.includes('Enum')) {
    const values = Array.isArray(schema['enumValues']) ? schema['enumValues'] : [];
    const allowed = values
      .filter(isPlainObject)
      .map((v) => v['enumValue'])
      .filter((v) => typeof v === 'string' || typeof v === 'number');
    if (allowed.some((v) => v === value)) return undefined;
    const listed = allowed.slice(0, SHOWN_ENUM_VALUES).map(preview).join(', ');
    const more = allowed.length > SHOWN_ENUM_VALUES ? `, … (${allowed.length} in all)` : '';
    return `${path} must be one of ${listed}${more}, not ${show(value)}.`;
  }
  if (types.includes('Object')) {
    if (!isPlainObject(value)) return `${path} must be an object, not ${show(value)}.`;
    const fields = Array.isArray(schema['fields']) ? schema['fields'].filter(isPlainObject) : [];
    for (const field of fields) {
      const name = field['name'];
      // Own fields only: `in` would find `constructor`, `toString`, … on Object.prototype.
      if (typeof name !== 'string' || !Object.hasOwn(value, name) || value[name] === null) continue;
      const problem = schemaProblem(value[name], field['schema'], `${path}.${name}`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  if (types.includes('Map')) {
    if (!isPlainObject(value)) return `${path} must be an object (a map), not ${show(value)}.`;
    const mapValue = isPlainObject(schema['mapValue']) ? schema['mapValue']['schema'] : undefined;
    for (const [key, item] of Object.entries(value)) {
      const problem = schemaProblem(item, mapValue, `${path}.${clip(key)}`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  // Arrays are not allowed in property schemas (DTDL v2); anything else is left to the device.
  return undefined;
}

function primitiveProblem(value: unknown, schema: string, path: string): string | undefined {
  switch (schema) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `${path} must be true or false, not ${show(value)}.`;
    case 'integer':
    case 'long': {
      const [min, max] = INTEGER_RANGE[schema]!;
      if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max)
        return undefined;
      return `${path} must be a whole number (${schema}), not ${show(value)}.`;
    }
    case 'double':
    case 'float':
      return typeof value === 'number' && Number.isFinite(value)
        ? undefined
        : `${path} must be a number (${schema}), not ${show(value)}.`;
    case 'string':
      return typeof value === 'string' ? undefined : `${path} must be a string, not ${show(value)}.`;
    case 'date':
      return matches(value, DATE, path, 'a date such as 2024-05-01');
    case 'dateTime':
      return matches(value, DATE_TIME, path, 'a date-time such as 2024-05-01T10:00:00Z');
    case 'time':
      return matches(value, TIME, path, 'a time such as 10:00:00');
    case 'duration':
      return matches(value, DURATION, path, 'an ISO 8601 duration such as PT5M');
    case 'geopoint':
      return isPlainObject(value) && typeof value['lat'] === 'number' && typeof value['lon'] === 'number'
        ? undefined
        : `${path} must be a geopoint { lat, lon, alt? }, not ${show(value)}.`;
    case 'vector':
      return isPlainObject(value) && ['x', 'y', 'z'].every((k) => typeof value[k] === 'number')
        ? undefined
        : `${path} must be a vector { x, y, z }, not ${show(value)}.`;
    default:
      return undefined;
  }
}

function matches(value: unknown, pattern: RegExp, path: string, what: string): string | undefined {
  return typeof value === 'string' && pattern.test(value)
    ? undefined
    : `${path} must be ${what}, not ${show(value)}.`;
}

/** Characters of a value a message shows; the value can be as large as the request body. */
const SHOWN_CHARS = 60;
/** Levels of a value a message shows (deeper ones are `[…]` / `{…}`), so rendering never recurses far. */
const SHOWN_LEVELS = 4;
/** Enum values a message lists. */
const SHOWN_ENUM_VALUES = 10;

/** A name or map key as a message shows it: they come from the body and are not bounded, messages are. */
export function clip(key: string): string {
  return key.length > SHOWN_CHARS ? `${key.slice(0, SHOWN_CHARS - 3)}...` : key;
}

/** A value as the message shows it: its JSON, shortened, with its type when that helps. */
function show(value: unknown): string {
  const text = preview(value);
  if (typeof value === 'string') return `the string ${text}`;
  if (Array.isArray(value)) return `the array ${text}`;
  if (isPlainObject(value)) return `the object ${text}`;
  return text;
}

/**
 * The JSON of `value` cut to {@link SHOWN_CHARS} characters (`...` marks the cut), rendered
 * only as far as shown and at most {@link SHOWN_LEVELS} levels deep: JSON.stringify of a value
 * nested thousands deep throws a RangeError, and of a large one builds text only to drop it.
 */
function preview(value: unknown): string {
  let out = '';
  const full = () => out.length > SHOWN_CHARS;
  const emit = (text: string) => {
    if (!full()) out += text;
  };
  const walk = (v: unknown, level: number): void => {
    if (full()) return;
    if (Array.isArray(v)) {
      if (level >= SHOWN_LEVELS) return emit(v.length === 0 ? '[]' : '[…]');
      emit('[');
      for (let i = 0; i < v.length && !full(); i++) {
        if (i > 0) emit(',');
        walk(v[i], level + 1);
      }
      emit(']');
    } else if (isPlainObject(v)) {
      const keys = Object.keys(v);
      if (level >= SHOWN_LEVELS) return emit(keys.length === 0 ? '{}' : '{…}');
      emit('{');
      for (let i = 0; i < keys.length && !full(); i++) {
        const key = keys[i]!;
        emit(`${i > 0 ? ',' : ''}${JSON.stringify(key.slice(0, SHOWN_CHARS + 1))}:`);
        walk(v[key], level + 1);
      }
      emit('}');
    } else if (typeof v === 'string') {
      emit(JSON.stringify(v.slice(0, SHOWN_CHARS + 1)));
    } else {
      emit(JSON.stringify(v) ?? String(v));
    }
  };
  walk(value, 0);
  return out.length > SHOWN_CHARS ? `${out.slice(0, SHOWN_CHARS - 3)}...` : out;
}
