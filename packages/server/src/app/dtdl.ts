/**
 * A DTDL v2 validator for one Interface as IoT Central stores it in a device template
 * (CENTRAL_API.md §6; DTDL.v2.md; the IoT Central extension `dtmi:iotcentral:context;2`).
 * It checks what a template needs to be rendered and used: identifiers, element types, names,
 * schemas (primitive, Array/Enum/Map/Object up to depth 5, geospatial, geopoint/vector),
 * semantic types with their units, Components (one level) and `extends`.
 *
 * Every refusal is ERR_DTDL_INVALID with the offending element named by its JSON path, e.g.
 * `capabilityModel.contents[2] (name 'temp'): schema 'doubel' is not a DTDL v2 schema`.
 * References (`schema: "dtmi:…"` of a Component, `extends`) must be resolved into inline
 * interfaces before validation (dtdl-template.ts does that for multi-interface files).
 */
import { isObject } from '../validation.js';
import { appError } from './errors.js';
import { isSemanticType, unitsOf, UNIT_TYPES } from './dtdl-units.js';

export type Json = Record<string, unknown>;

export const DTDL_CONTEXT = 'dtmi:dtdl:context;2';
export const IOTC_CONTEXT = 'dtmi:iotcentral:context;2';
const KNOWN_CONTEXTS = new Set([DTDL_CONTEXT, IOTC_CONTEXT]);

const SEGMENT = '[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?';
/** A user DTMI: no system segments (`_…`), a version 1–999999999 without leading zero (§6). */
export const USER_DTMI = new RegExp(`^dtmi:${SEGMENT}(?::${SEGMENT})*;[1-9][0-9]{0,8}$`);
/** Any DTMI, system segments allowed, version optional (IoT Central template IDs, §6 caveat). */
export const LOOSE_DTMI =
  /^dtmi:(?:_+[A-Za-z0-9]|[A-Za-z])(?:[A-Za-z0-9_]*[A-Za-z0-9])?(?::(?:_+[A-Za-z0-9]|[A-Za-z])(?:[A-Za-z0-9_]*[A-Za-z0-9])?)*(?:;[1-9][0-9]{0,8})?$/;
export const MAX_INTERFACE_ID_LENGTH = 128;
const MAX_ELEMENT_ID_LENGTH = 2048;

/** Content, field, enum value and payload names (§6). */
const NAME = /^[a-zA-Z](?:[a-zA-Z0-9_]*[a-zA-Z0-9])?$/;
/** Telemetry names IoT Central keeps for its own export columns (§6). */
const RESERVED_TELEMETRY_NAMES = new Set([
  'EventEnqueuedUtcTime',
  'EventProcessedUtcTime',
  'PartitionId',
  'EventHub',
  'User',
]);

export const PRIMITIVE_SCHEMAS = new Set([
  'boolean',
  'date',
  'dateTime',
  'double',
  'duration',
  'float',
  'integer',
  'long',
  'string',
  'time',
]);
export const NUMERIC_SCHEMAS = new Set(['double', 'float', 'integer', 'long']);
/** GeoJSON-based (array-based, so not allowed in a Property) standard schemas, by term and IRI. */
const GEOSPATIAL_SCHEMAS = new Set(
  ['point', 'multiPoint', 'lineString', 'multiLineString', 'polygon', 'multiPolygon'].flatMap((t) => [
    t,
    `dtmi:standard:schema:geospatial:${t};2`,
  ]),
);
/** IoT Central extension schemas: `{lat, lon, alt?}` and `{x, y, z}` on the wire. */
const IOTC_SCHEMAS = new Set([
  'geopoint',
  'vector',
  'dtmi:iotcentral:schema:geopoint;2',
  'dtmi:iotcentral:schema:vector;2',
]);

const CONTENT_TYPES = ['Telemetry', 'Property', 'Command', 'Component', 'Relationship'] as const;
export type ContentType = (typeof CONTENT_TYPES)[number];

/**
 * Co-types IoT Central puts on contents: the extension's adjunct types and the terms its stored
 * templates carry (cloud properties, initial values, display overrides).
 */
const IOTC_COTYPES = new Set([
  'Event',
  'State',
  'Location',
  'VelocityVector',
  'AccelerationVector',
  'Cloud',
  'Initialized',
  'EventValue',
  'StringValue',
  'NumberValue',
  'BooleanValue',
]);

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

export const MAX_SCHEMA_DEPTH = 5;
export const MAX_CONTENTS = 300;
const MAX_EXTENDS = 2;
const MAX_EXTENDS_DEPTH = 10;

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

/** What validating a schema tells its user. */
interface SchemaInfo {
  /** The primitive or extension schema name, or the complex schema's `@type`. */
  kind: string;
  containsArray: boolean;
  /** Complex schema levels, this one included (0 for a primitive). */
  height: number;
  /** Elements (schemas, fields, enum values, map key and value) with `schemas` references expanded. */
  size: number;
}

/**
 * Schema elements a model may come to with every reference to its `schemas` expanded, as the
 * template summary shows them. A named schema costs nothing to name but is copied wherever it
 * is named, so an Object of 30 fields each naming the next of 5 such Objects would expand to
 * 30^5 elements; written out inline the same model would be far over the 1 MiB body limit.
 */
export const MAX_SCHEMA_ELEMENTS = 100_000;

/**
 * An interface's `schemas` by `@id`, each validated once however often it is named (the
 * result, with its height and expanded size, is kept), and the count of expanded schema
 * elements shared by the whole model.
 */
class SchemaScope {
  private readonly checked = new Map<string, SchemaInfo>();
  private readonly checking = new Set<string>();

  constructor(
    private readonly defined: ReadonlyMap<string, { node: unknown; path: string }>,
    private readonly budget: { elements: number },
  ) {}

  /** The validated named schema `id`; undefined when this interface does not define it. */
  info(id: string, refPath: string): SchemaInfo | undefined {
    const definition = this.defined.get(id);
    if (!definition) return undefined;
    const known = this.checked.get(id);
    if (known) return known;
    if (this.checking.has(id)) {
      throw dtdlError(
        refPath,
        `schema '${id}' contains itself: complex schemas nest deeper than ${MAX_SCHEMA_DEPTH} levels`,
      );
    }
    this.checking.add(id);
    const info = checkSchema(definition.node, definition.path, 0, this);
    this.checking.delete(id);
    this.checked.set(id, info);
    return info;
  }

  checkAll(): void {
    for (const id of this.defined.keys()) this.info(id, this.defined.get(id)?.path ?? '');
  }

  /** Counts the expanded elements of a content's schema against {@link MAX_SCHEMA_ELEMENTS}. */
  count(info: SchemaInfo, path: string): void {
    this.budget.elements += info.size;
    if (this.budget.elements > MAX_SCHEMA_ELEMENTS) {
      throw dtdlError(
        path,
        `with the 'schemas' it names expanded, the model's schemas come to more than ${MAX_SCHEMA_ELEMENTS} elements (this schema alone to ${info.size}); a named schema is copied wherever it is named`,
      );
    }
  }
}

export interface ValidateOptions {
  /** The `@context` given around the interface (the template wrapper's). */
  outerContext?: unknown;
}

/**
 * Validates a DTDL v2 Interface (the template's `capabilityModel`) in place; throws
 * ERR_DTDL_INVALID naming the first problem.
 */
export function validateInterface(node: unknown, path: string, options: ValidateOptions = {}): void {
  const hasContext = (isObject(node) && node['@context'] !== undefined) || options.outerContext !== undefined;
  if (options.outerContext !== undefined) checkContext(options.outerContext, '@context');
  if (!hasContext && isObject(node)) {
    throw dtdlError(path, `'@context' is required: "${DTDL_CONTEXT}"`);
  }
  checkInterface(node, path, { inComponent: false, extendsDepth: 0, budget: { elements: 0 } });
}

function checkContext(value: unknown, path: string): void {
  const contexts = asSet(value);
  if (contexts.length === 0) throw dtdlError(path, `must be "${DTDL_CONTEXT}" or a list that includes it`);
  for (const [i, c] of contexts.entries()) {
    if (typeof c !== 'string' || !KNOWN_CONTEXTS.has(c)) {
      throw dtdlError(
        Array.isArray(value) ? `${path}[${i}]` : path,
        `context ${JSON.stringify(c)} is not supported: use "${DTDL_CONTEXT}" (and "${IOTC_CONTEXT}")`,
      );
    }
  }
  if (!contexts.includes(DTDL_CONTEXT)) {
    throw dtdlError(path, `must include "${DTDL_CONTEXT}" (this server speaks DTDL v2)`);
  }
}

interface InterfaceContext {
  inComponent: boolean;
  extendsDepth: number;
  /** Expanded schema elements so far, shared by the whole model. */
  budget: { elements: number };
}

function checkInterface(node: unknown, path: string, ctx: InterfaceContext): void {
  if (!isObject(node)) throw dtdlError(path, 'must be a DTDL Interface (a JSON object)');
  const types = typesOf(node);
  if (!types.includes('Interface')) {
    throw dtdlError(path, `'@type' must be "Interface" (got ${JSON.stringify(node['@type'])})`);
  }
  for (const t of types) {
    if (t !== 'Interface' && t !== 'NamedInterface' && !t.includes(':')) {
      throw dtdlError(path, `'@type' ${JSON.stringify(t)} is not allowed on an Interface`);
    }
  }
  checkKeys(node, path, 'Interface');
  if (node['@context'] !== undefined) checkContext(node['@context'], childPath(path, '@context'));
  checkDtmi(node['@id'], childPath(path, '@id'), MAX_INTERFACE_ID_LENGTH, true);
  checkDescriptive(node, path);

  const defined: Map<string, { node: unknown; path: string }> = new Map();
  for (const [i, s] of asSet(node['schemas']).entries()) {
    const sPath = childPath(childPath(path, 'schemas'), i);
    if (!isObject(s)) throw dtdlError(sPath, 'must be a complex schema object (Array, Enum, Map or Object)');
    checkDtmi(s['@id'], childPath(sPath, '@id'), MAX_ELEMENT_ID_LENGTH, true);
    const id = s['@id'] as string;
    if (defined.has(id)) throw dtdlError(sPath, `'@id' ${id} is defined twice in 'schemas'`);
    defined.set(id, { node: s, path: sPath });
  }
  const schemas = new SchemaScope(defined, ctx.budget);
  schemas.checkAll();

  const extended = asSet(node['extends']);
  if (extended.length > MAX_EXTENDS) {
    throw dtdlError(childPath(path, 'extends'), `at most ${MAX_EXTENDS} interfaces may be extended`);
  }
  if (extended.length > 0 && ctx.extendsDepth >= MAX_EXTENDS_DEPTH) {
    throw dtdlError(childPath(path, 'extends'), `'extends' nests deeper than ${MAX_EXTENDS_DEPTH} levels`);
  }
  for (const [i, e] of extended.entries()) {
    const ePath = Array.isArray(node['extends']) ? `${path}.extends[${i}]` : `${path}.extends`;
    if (typeof e === 'string') {
      throw dtdlError(ePath, `interface ${e} is not defined in this file: include it inline or in the array`);
    }
    checkInterface(e, ePath, { ...ctx, extendsDepth: ctx.extendsDepth + 1 });
  }

  const contentsValue = node['contents'];
  if (contentsValue !== undefined && !Array.isArray(contentsValue) && !isObject(contentsValue)) {
    throw dtdlError(childPath(path, 'contents'), 'must be an array of contents');
  }
  const contents = asSet(contentsValue);
  const names = new Map<string, string>();
  for (const inherited of inheritedContents(node)) {
    if (isObject(inherited) && typeof inherited['name'] === 'string') names.set(inherited['name'], 'extends');
  }
  if (contents.length + names.size > MAX_CONTENTS) {
    throw dtdlError(childPath(path, 'contents'), `at most ${MAX_CONTENTS} contents, including extended ones`);
  }
  for (const [i, c] of contents.entries()) {
    const cPath = childPath(childPath(path, 'contents'), i, c);
    checkContent(c, cPath, ctx, schemas);
    const name = (c as Json)['name'] as string;
    const previous = names.get(name);
    if (previous !== undefined) {
      throw dtdlError(
        cPath,
        `name '${name}' is already used ${previous === 'extends' ? 'by an extended interface' : `by ${previous}`}; names must be unique in an interface`,
      );
    }
    names.set(name, `contents[${i}]`);
  }
}

/** Contents an interface inherits through `extends` (inline interfaces), depth first. */
export function inheritedContents(node: Json): unknown[] {
  return asSet(node['extends']).flatMap((e) => (isObject(e) ? allContents(e) : []));
}

/** Own and inherited contents of an interface. */
export function allContents(node: Json): unknown[] {
  return [...inheritedContents(node), ...asSet(node['contents'])];
}

function checkKeys(node: Json, path: string, kind: string): void {
  const allowed = KEYS[kind];
  if (!allowed) return;
  for (const key of Object.keys(node)) {
    // JSON-LD terms given as IRIs/DTMIs belong to other vocabularies and are left alone.
    if (allowed.has(key) || key.includes(':')) continue;
    throw dtdlError(path, `'${key}' is not a property of a DTDL v2 ${kind}`);
  }
}

function checkDtmi(value: unknown, path: string, maxLength: number, required: boolean): void {
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

function checkDescriptive(node: Json, path: string): void {
  checkLocalizable(node['displayName'], childPath(path, 'displayName'), 64);
  checkLocalizable(node['description'], childPath(path, 'description'), 512);
  const comment = node['comment'];
  if (comment !== undefined && (typeof comment !== 'string' || comment.length > 512)) {
    throw dtdlError(childPath(path, 'comment'), 'must be a string of at most 512 characters');
  }
}

function checkName(node: Json, path: string): string {
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
function checkOptionalType(node: Json, path: string, kind: string): void {
  const t = node['@type'];
  if (t === undefined) return;
  const types = typesOf(node);
  if (!types.includes(kind) || types.some((x) => x !== kind && !x.includes(':'))) {
    throw dtdlError(path, `'@type' must be "${kind}" when given`);
  }
}

function checkContent(node: unknown, path: string, ctx: InterfaceContext, schemas: SchemaScope): void {
  if (!isObject(node)) throw dtdlError(path, 'must be a JSON object');
  const types = typesOf(node);
  if (types.length === 0) {
    throw dtdlError(path, `'@type' is required: one of ${CONTENT_TYPES.join(', ')}`);
  }
  const kinds = types.filter((t): t is ContentType => (CONTENT_TYPES as readonly string[]).includes(t));
  if (kinds.length !== 1) {
    throw dtdlError(
      path,
      `'@type' must include exactly one of ${CONTENT_TYPES.join(', ')} (got ${JSON.stringify(node['@type'])})`,
    );
  }
  const kind = kinds[0] as ContentType;
  checkKeys(node, path, kind);
  const name = checkName(node, path);
  checkDtmi(node['@id'], childPath(path, '@id'), MAX_ELEMENT_ID_LENGTH, false);
  checkDescriptive(node, path);
  const coTypes = types.filter((t) => t !== kind);
  switch (kind) {
    case 'Telemetry':
    case 'Property':
      if (kind === 'Telemetry' && RESERVED_TELEMETRY_NAMES.has(name)) {
        throw dtdlError(path, `telemetry name '${name}' is reserved by IoT Central`);
      }
      checkValueContent(node, path, kind, coTypes, schemas);
      return;
    case 'Command':
      checkCoTypes(path, coTypes, []);
      checkCommand(node, path, schemas);
      return;
    case 'Component':
      checkCoTypes(path, coTypes, []);
      if (ctx.inComponent) {
        throw dtdlError(path, 'a component interface cannot contain components (DTDL v2 allows one level)');
      }
      if (node['schema'] === undefined) throw dtdlError(path, "'schema' is required (an Interface)");
      if (typeof node['schema'] === 'string') {
        throw dtdlError(
          childPath(path, 'schema'),
          `interface ${node['schema']} is not defined in this file: include it inline or in the array`,
        );
      }
      checkInterface(node['schema'], childPath(path, 'schema'), {
        inComponent: true,
        extendsDepth: 0,
        budget: ctx.budget,
      });
      return;
    case 'Relationship':
      checkCoTypes(path, coTypes, ['EdgeModule']);
      checkRelationship(node, path, schemas);
      return;
  }
}

function checkCoTypes(path: string, coTypes: string[], allowed: string[]): void {
  for (const t of coTypes) {
    if (!allowed.includes(t) && !t.includes(':')) {
      throw dtdlError(path, `'@type' ${JSON.stringify(t)} is not allowed here`);
    }
  }
}

function checkValueContent(
  node: Json,
  path: string,
  kind: 'Telemetry' | 'Property',
  coTypes: string[],
  schemas: SchemaScope,
): void {
  const semantic: string[] = [];
  for (const t of coTypes) {
    if (isSemanticType(t)) semantic.push(t);
    else if (t === 'Cloud' && kind !== 'Property')
      throw dtdlError(path, "'Cloud' applies to properties only");
    else if (!IOTC_COTYPES.has(t) && !t.includes(':')) {
      throw dtdlError(
        path,
        `'@type' ${JSON.stringify(t)} is not a DTDL v2 semantic type or an IoT Central type (e.g. Temperature, RelativeHumidity, Event, State, Location, Cloud)`,
      );
    }
  }
  if (semantic.length > 1) throw dtdlError(path, `at most one semantic type (got ${semantic.join(', ')})`);
  if (node['schema'] === undefined) throw dtdlError(path, "'schema' is required");
  const schemaPath = childPath(path, 'schema');
  const info = checkSchema(node['schema'], schemaPath, 0, schemas);
  schemas.count(info, schemaPath);
  if (kind === 'Property') {
    if (info.containsArray) {
      throw dtdlError(
        schemaPath,
        'a property schema may not be or contain an Array (or a geospatial schema)',
      );
    }
    if (node['writable'] !== undefined && typeof node['writable'] !== 'boolean') {
      throw dtdlError(childPath(path, 'writable'), 'must be true or false');
    }
  }
  const unit = node['unit'];
  const semanticType = semantic[0];
  if (semanticType !== undefined && isSemanticType(semanticType)) {
    if (!NUMERIC_SCHEMAS.has(info.kind)) {
      throw dtdlError(
        schemaPath,
        `semantic type ${semanticType} needs a numeric schema (double, float, integer or long), not '${info.kind}'`,
      );
    }
    const units = unitsOf(semanticType);
    if (unit === undefined) {
      throw dtdlError(path, `semantic type ${semanticType} needs a 'unit': one of ${units.join(', ')}`);
    }
    if (typeof unit !== 'string' || !units.includes(unit)) {
      throw dtdlError(
        childPath(path, 'unit'),
        `${JSON.stringify(unit)} is not a unit of ${semanticType}: use one of ${units.join(', ')}`,
      );
    }
  } else if (unit !== undefined) {
    const vector = coTypes.includes('VelocityVector')
      ? UNIT_TYPES.VelocityUnit
      : coTypes.includes('AccelerationVector')
        ? UNIT_TYPES.AccelerationUnit
        : undefined;
    if (!vector) {
      throw dtdlError(
        childPath(path, 'unit'),
        'a unit needs a semantic type in \'@type\', e.g. ["Telemetry", "Temperature"]',
      );
    }
    if (typeof unit !== 'string' || !(vector as readonly string[]).includes(unit)) {
      throw dtdlError(childPath(path, 'unit'), `${JSON.stringify(unit)} must be one of ${vector.join(', ')}`);
    }
  }
  if (coTypes.includes('State') && info.kind !== 'Enum') {
    throw dtdlError(schemaPath, 'a State must have an Enum schema');
  }
  if (coTypes.includes('Event') && !NUMERIC_SCHEMAS.has(info.kind) && info.kind !== 'string') {
    throw dtdlError(schemaPath, 'an Event must have a numeric or string schema');
  }
  if (
    coTypes.includes('Location') &&
    !GEOSPATIAL_SCHEMAS.has(info.kind) &&
    !['geopoint', 'dtmi:iotcentral:schema:geopoint;2'].includes(info.kind)
  ) {
    throw dtdlError(schemaPath, 'a Location must have a geopoint or geospatial schema');
  }
  if (
    (coTypes.includes('VelocityVector') || coTypes.includes('AccelerationVector')) &&
    !['vector', 'dtmi:iotcentral:schema:vector;2'].includes(info.kind)
  ) {
    throw dtdlError(schemaPath, "a vector must have the schema 'vector'");
  }
}

function checkCommand(node: Json, path: string, schemas: SchemaScope): void {
  const commandType = node['commandType'];
  if (commandType !== undefined && commandType !== 'synchronous' && commandType !== 'asynchronous') {
    throw dtdlError(childPath(path, 'commandType'), "must be 'synchronous' or 'asynchronous' (deprecated)");
  }
  if (node['durable'] !== undefined && typeof node['durable'] !== 'boolean') {
    throw dtdlError(childPath(path, 'durable'), 'must be true or false');
  }
  for (const key of ['request', 'response'] as const) {
    const payload = node[key];
    if (payload === undefined) continue;
    const pPath = childPath(path, key);
    if (!isObject(payload)) throw dtdlError(pPath, 'must be a CommandPayload object { name, schema }');
    checkOptionalType(payload, pPath, 'CommandPayload');
    checkKeys(payload, pPath, 'CommandPayload');
    checkName(payload, pPath);
    checkDtmi(payload['@id'], childPath(pPath, '@id'), MAX_ELEMENT_ID_LENGTH, false);
    checkDescriptive(payload, pPath);
    if (payload['schema'] === undefined) throw dtdlError(pPath, "'schema' is required");
    const schemaPath = childPath(pPath, 'schema');
    schemas.count(checkSchema(payload['schema'], schemaPath, 0, schemas), schemaPath);
  }
}

function checkRelationship(node: Json, path: string, schemas: SchemaScope): void {
  const min = node['minMultiplicity'];
  if (min !== undefined && min !== 0) throw dtdlError(childPath(path, 'minMultiplicity'), 'must be 0');
  const max = node['maxMultiplicity'];
  if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 500)) {
    throw dtdlError(childPath(path, 'maxMultiplicity'), 'must be an integer from 1 to 500');
  }
  if (node['writable'] !== undefined && typeof node['writable'] !== 'boolean') {
    throw dtdlError(childPath(path, 'writable'), 'must be true or false');
  }
  const target = node['target'];
  if (typeof target === 'string') checkDtmi(target, childPath(path, 'target'), MAX_ELEMENT_ID_LENGTH, false);
  else if (target !== undefined && !isObject(target)) {
    throw dtdlError(childPath(path, 'target'), 'must be an interface DTMI');
  }
  const names = new Set<string>();
  for (const [i, p] of asSet(node['properties']).entries()) {
    const pPath = childPath(childPath(path, 'properties'), i, p);
    if (!isObject(p) || !typesOf(p).includes('Property')) throw dtdlError(pPath, 'must be a Property');
    checkKeys(p, pPath, 'Property');
    const name = checkName(p, pPath);
    if (names.has(name)) throw dtdlError(pPath, `name '${name}' is used twice`);
    names.add(name);
    checkDescriptive(p, pPath);
    checkValueContent(
      p,
      pPath,
      'Property',
      typesOf(p).filter((t) => t !== 'Property'),
      schemas,
    );
  }
}

/** Validates a schema; `depth` counts the complex schemas around it. */
function checkSchema(node: unknown, path: string, depth: number, schemas: SchemaScope): SchemaInfo {
  if (typeof node === 'string') {
    if (PRIMITIVE_SCHEMAS.has(node) || IOTC_SCHEMAS.has(node)) {
      return { kind: node, containsArray: false, height: 0, size: 1 };
    }
    if (GEOSPATIAL_SCHEMAS.has(node)) return { kind: node, containsArray: true, height: 0, size: 1 };
    if (node === 'bytes') throw dtdlError(path, "schema 'bytes' is not supported by DTDL v2 services");
    const named = schemas.info(node, path);
    if (named) {
      // Validated once where it is defined; here only its depth counts, on top of this one's.
      if (depth + named.height > MAX_SCHEMA_DEPTH) {
        throw dtdlError(
          path,
          `complex schemas nest deeper than ${MAX_SCHEMA_DEPTH} levels (schema '${node}' adds ${named.height} at level ${depth + 1})`,
        );
      }
      return named;
    }
    if (node.startsWith('dtmi:')) {
      throw dtdlError(path, `schema '${node}' is not defined in this interface's 'schemas'`);
    }
    throw dtdlError(
      path,
      `schema '${node}' is not a DTDL v2 schema (use boolean, date, dateTime, double, duration, float, integer, long, string, time, geopoint, vector, or an Array, Enum, Map or Object)`,
    );
  }
  if (!isObject(node)) {
    throw dtdlError(path, 'must be a schema name or a complex schema object (Array, Enum, Map or Object)');
  }
  if (depth >= MAX_SCHEMA_DEPTH) {
    throw dtdlError(path, `complex schemas nest deeper than ${MAX_SCHEMA_DEPTH} levels`);
  }
  const types = typesOf(node);
  const kind = (['Array', 'Enum', 'Map', 'Object'] as const).find((k) => types.includes(k));
  if (!kind) {
    throw dtdlError(
      path,
      `'@type' must be Array, Enum, Map or Object (got ${JSON.stringify(node['@type'])})`,
    );
  }
  checkKeys(node, path, kind);
  checkDtmi(node['@id'], childPath(path, '@id'), MAX_ELEMENT_ID_LENGTH, false);
  checkDescriptive(node, path);
  switch (kind) {
    case 'Array': {
      if (node['elementSchema'] === undefined) throw dtdlError(path, "'elementSchema' is required");
      const info = checkSchema(node['elementSchema'], childPath(path, 'elementSchema'), depth + 1, schemas);
      return { kind, containsArray: true, height: info.height + 1, size: info.size + 1 };
    }
    case 'Enum': {
      const valueSchema = node['valueSchema'];
      if (valueSchema !== 'integer' && valueSchema !== 'string') {
        throw dtdlError(childPath(path, 'valueSchema'), "must be 'integer' or 'string'");
      }
      const values = asSet(node['enumValues']);
      if (values.length === 0 || values.length > 100) {
        throw dtdlError(childPath(path, 'enumValues'), 'must list 1–100 values');
      }
      const names = new Set<string>();
      const seen = new Set<unknown>();
      for (const [i, v] of values.entries()) {
        const vPath = childPath(childPath(path, 'enumValues'), i, v);
        if (!isObject(v)) throw dtdlError(vPath, 'must be an EnumValue object { name, enumValue }');
        checkOptionalType(v, vPath, 'EnumValue');
        checkKeys(v, vPath, 'EnumValue');
        const name = checkName(v, vPath);
        checkDescriptive(v, vPath);
        const value = v['enumValue'];
        const ok =
          valueSchema === 'integer'
            ? typeof value === 'number' && Number.isInteger(value)
            : typeof value === 'string';
        if (!ok)
          throw dtdlError(
            vPath,
            `'enumValue' must be ${valueSchema === 'integer' ? 'an integer' : 'a string'}`,
          );
        if (names.has(name)) throw dtdlError(vPath, `name '${name}' is used twice`);
        if (seen.has(value)) throw dtdlError(vPath, `enumValue ${JSON.stringify(value)} is used twice`);
        names.add(name);
        seen.add(value);
      }
      return { kind, containsArray: false, height: 1, size: 1 + values.length };
    }
    case 'Map': {
      const key = node['mapKey'];
      const kPath = childPath(path, 'mapKey');
      if (!isObject(key)) throw dtdlError(kPath, "is required: { name, schema: 'string' }");
      checkOptionalType(key, kPath, 'MapKey');
      checkKeys(key, kPath, 'MapKey');
      checkName(key, kPath);
      if (key['schema'] !== 'string') throw dtdlError(childPath(kPath, 'schema'), "must be 'string'");
      const value = node['mapValue'];
      const vPath = childPath(path, 'mapValue');
      if (!isObject(value)) throw dtdlError(vPath, 'is required: { name, schema }');
      checkOptionalType(value, vPath, 'MapValue');
      checkKeys(value, vPath, 'MapValue');
      checkName(value, vPath);
      checkDescriptive(value, vPath);
      if (value['schema'] === undefined) throw dtdlError(vPath, "'schema' is required");
      const info = checkSchema(value['schema'], childPath(vPath, 'schema'), depth + 1, schemas);
      return { kind, containsArray: info.containsArray, height: info.height + 1, size: info.size + 3 };
    }
    case 'Object': {
      if (node['fields'] === undefined) throw dtdlError(path, "'fields' is required");
      const fields = asSet(node['fields']);
      if (fields.length > 30) throw dtdlError(childPath(path, 'fields'), 'at most 30 fields');
      const names = new Set<string>();
      let containsArray = false;
      let height = 1;
      let size = 1;
      for (const [i, f] of fields.entries()) {
        const fPath = childPath(childPath(path, 'fields'), i, f);
        if (!isObject(f)) throw dtdlError(fPath, 'must be a Field object { name, schema }');
        checkOptionalType(f, fPath, 'Field');
        checkKeys(f, fPath, 'Field');
        const name = checkName(f, fPath);
        if (names.has(name)) throw dtdlError(fPath, `name '${name}' is used twice in this Object`);
        names.add(name);
        checkDescriptive(f, fPath);
        if (f['schema'] === undefined) throw dtdlError(fPath, "'schema' is required");
        const info = checkSchema(f['schema'], childPath(fPath, 'schema'), depth + 1, schemas);
        containsArray ||= info.containsArray;
        height = Math.max(height, info.height + 1);
        size += info.size + 1;
      }
      return { kind, containsArray, height, size };
    }
  }
}
