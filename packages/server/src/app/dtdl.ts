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
import {
  asSet,
  checkDescriptive,
  checkDtmi,
  checkKeys,
  checkName,
  checkOptionalType,
  childPath,
  dtdlError,
  MAX_ELEMENT_ID_LENGTH,
  MAX_INTERFACE_ID_LENGTH,
  typesOf,
  type Json,
} from './dtdl-elements.js';
import { checkSchema, GEOSPATIAL_SCHEMAS, NUMERIC_SCHEMAS, SchemaScope } from './dtdl-schema.js';
import { isSemanticType, unitsOf, UNIT_TYPES } from './dtdl-units.js';

export const DTDL_CONTEXT = 'dtmi:dtdl:context;2';
export const IOTC_CONTEXT = 'dtmi:iotcentral:context;2';
const KNOWN_CONTEXTS = new Set([DTDL_CONTEXT, IOTC_CONTEXT]);

/** Telemetry names IoT Central keeps for its own export columns (§6). */
const RESERVED_TELEMETRY_NAMES = new Set([
  'EventEnqueuedUtcTime',
  'EventProcessedUtcTime',
  'PartitionId',
  'EventHub',
  'User',
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

export const MAX_CONTENTS = 300;
const MAX_EXTENDS = 2;
const MAX_EXTENDS_DEPTH = 10;

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
