/**
 * DTDL v2 schemas (DTDL.v2.md "Schemas"; CENTRAL_API.md §6): the primitive, geospatial and IoT
 * Central schema names, and the validation of complex schemas (Array, Enum, Map, Object) up to
 * DTDL's 5 levels, with an interface's named `schemas` validated once however often they are
 * named and their expanded size bounded.
 */
import { isObject } from '../validation.js';
import {
  checkDescriptive,
  checkDtmi,
  checkKeys,
  checkName,
  checkOptionalType,
  childPath,
  asSet,
  dtdlError,
  MAX_ELEMENT_ID_LENGTH,
  typesOf,
} from './dtdl-elements.js';

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
export const GEOSPATIAL_SCHEMAS = new Set(
  ['point', 'multiPoint', 'lineString', 'multiLineString', 'polygon', 'multiPolygon'].flatMap((t) => [
    t,
    `dtmi:standard:schema:geospatial:${t};2`,
  ]),
);
/** IoT Central extension schemas: `{lat, lon, alt?}` and `{x, y, z}` on the wire. */
export const IOTC_SCHEMAS = new Set([
  'geopoint',
  'vector',
  'dtmi:iotcentral:schema:geopoint;2',
  'dtmi:iotcentral:schema:vector;2',
]);

export const MAX_SCHEMA_DEPTH = 5;

/** What validating a schema tells its user. */
export interface SchemaInfo {
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
export class SchemaScope {
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

/** Validates a schema; `depth` counts the complex schemas around it. */
export function checkSchema(node: unknown, path: string, depth: number, schemas: SchemaScope): SchemaInfo {
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
