/**
 * The 2020 "capability model" format (DTDL v1 preview, context
 * `http://azureiot.com/v1/contexts/IoTModel.json`; the Environmental Sensor tutorial, CENTRAL_API.md
 * §5.1) converted to a DTDL v2 Interface (§6 "Legacy capability model"):
 *
 * - `CapabilityModel` + `implements: [InterfaceInstance { name, schema }]` → an Interface whose
 *   contents are Components named after the instances, with the interface inline as schema;
 * - `urn:` IDs → DTMIs by {@link urnToDtmi}; the IDs of contents and schemas are dropped (v2 assigns
 *   its own), as is `@type` on payloads, fields and enum values (`SchemaPayload`, `SchemaField`);
 * - `SemanticType/X` → the v2 semantic type X, `Units/Kind/unit` → the v2 unit ({@link LEGACY_UNITS});
 *   when the pair is not valid v2 the semantic type whose unit list has the unit is used
 *   (`Humidity` + percent → `RelativeHumidity`), and when none has it both are dropped;
 *   `SemanticType/Event|State|Location` become the IoT Central co-types of the same name;
 * - `displayUnit` is dropped; `commandType` is kept (deprecated and ignored in v2);
 * - the context becomes `["dtmi:iotcentral:context;2", "dtmi:dtdl:context;2"]`.
 */
import { isObject } from '../validation.js';
import { DTDL_CONTEXT, IOTC_CONTEXT, MAX_CONTENTS } from './dtdl.js';
import { asSet, dtdlError, MAX_INTERFACE_ID_LENGTH, typesOf, USER_DTMI, type Json } from './dtdl-elements.js';
import { MAX_SCHEMA_DEPTH, NUMERIC_SCHEMAS } from './dtdl-schema.js';
import { ALL_UNITS, isSemanticType, SEMANTIC_TYPES, unitsOf, type SemanticType } from './dtdl-units.js';

/** v1 unit names that differ from v2 (the rest keep their name). */
export const LEGACY_UNITS: Readonly<Record<string, string>> = {
  celsius: 'degreeCelsius',
  fahrenheit: 'degreeFahrenheit',
  meter: 'metre',
  kilometer: 'kilometre',
  centimeter: 'centimetre',
  millimeter: 'millimetre',
  liter: 'litre',
  milliliter: 'millilitre',
  kilobyte: 'kibibyte',
  megabyte: 'mebibyte',
  gigabyte: 'gibibyte',
  kilobytes: 'kibibyte',
};

const LEGACY_COTYPES = new Set(['Event', 'State', 'Location']);

export function isLegacyCapabilityModel(node: unknown): node is Json {
  return isObject(node) && typesOf(node).includes('CapabilityModel');
}

/**
 * `urn:a:b:c:2` → `dtmi:a:b:c;2`. Segments keep letters, digits and `_`; any other character
 * becomes `_`; leading and trailing `_` are trimmed (so `{YOUR_COMPANY}` → `YOUR_COMPANY`); empty
 * segments are dropped; a segment starting with a digit gets an `x` in front. A last segment of
 * digits is the version (default 1). A valid DTMI is returned unchanged.
 */
export function urnToDtmi(id: string, path: string): string {
  if (USER_DTMI.test(id)) return id;
  const segments = id.replace(/^urn:/i, '').split(':');
  let version = 1;
  const last = segments[segments.length - 1];
  if (segments.length > 1 && last !== undefined && /^[0-9]{1,9}$/.test(last)) {
    version = Math.max(1, Number(last));
    segments.pop();
  }
  const path_ = segments
    .map((s) => s.replace(/[^A-Za-z0-9_]/g, '_').replace(/^_+|_+$/g, ''))
    .filter((s) => s !== '')
    .map((s) => (/^[0-9]/.test(s) ? `x${s}` : s));
  const dtmi = `dtmi:${path_.join(':')};${version}`;
  if (path_.length === 0 || !USER_DTMI.test(dtmi) || dtmi.length > MAX_INTERFACE_ID_LENGTH) {
    throw dtdlError(path, `'${id}' cannot be converted to a DTMI`);
  }
  return dtmi;
}

/** Converts a 2020 capability model; `file` holds the other interfaces of an array upload by `@id`. */
export function convertCapabilityModel(
  model: Json,
  path: string,
  file: ReadonlyMap<string, Json> = new Map(),
): Json {
  const id = model['@id'];
  if (typeof id !== 'string') throw dtdlError(`${path}.@id`, 'is required');
  const instances = asSet(model['implements']);
  // Each instance becomes a content of the converted interface; refusing past the DTDL v2 bound
  // here keeps a long list naming one interface from being converted over and over first.
  if (instances.length + asSet(model['contents']).length > MAX_CONTENTS) {
    throw dtdlError(`${path}.implements`, `at most ${MAX_CONTENTS} contents, interface instances included`);
  }
  // An interface named by several instances is converted once and shared.
  const converted = new Map<string, Json>();
  const convertNamed = (ref: string, iface: Json, refPath: string): Json => {
    let done = converted.get(ref);
    if (!done) {
      done = convertInterface(iface, refPath);
      converted.set(ref, done);
    }
    return done;
  };
  const components = instances.map((instance, i) => {
    const iPath = `${path}.implements[${i}]`;
    if (typeof instance === 'string') {
      // The short form lists interface IDs; the instance name is the interface's last segment.
      const iface = file.get(instance);
      if (!iface)
        throw dtdlError(iPath, `interface ${instance} is not defined in this file: include it inline`);
      const name =
        instance
          .replace(/^urn:/, '')
          .split(':')
          .filter((s) => !/^[0-9]+$/.test(s))
          .pop() ?? 'component';
      return component(name, undefined, convertNamed(instance, iface, `${iPath}.schema`));
    }
    if (!isObject(instance)) throw dtdlError(iPath, 'must be an InterfaceInstance { name, schema }');
    const name = instance['name'];
    if (typeof name !== 'string') throw dtdlError(iPath, "'name' is required");
    const schema = instance['schema'];
    if (typeof schema === 'string') {
      const found = file.get(schema);
      if (!found)
        throw dtdlError(
          `${iPath}.schema`,
          `interface ${schema} is not defined in this file: include it inline`,
        );
      return component(name, instance, convertNamed(schema, found, `${iPath}.schema`));
    }
    if (!isObject(schema)) throw dtdlError(`${iPath}.schema`, 'must be an Interface');
    return component(name, instance, convertInterface(schema, `${iPath}.schema`));
  });
  return {
    '@context': [IOTC_CONTEXT, DTDL_CONTEXT],
    '@id': urnToDtmi(id, `${path}.@id`),
    '@type': 'Interface',
    ...descriptive(model),
    contents: [
      ...asSet(model['contents']).map((c, i) => convertContent(c, `${path}.contents[${i}]`)),
      ...components,
    ],
  };
}

function component(name: string, instance: Json | undefined, schema: Json): Json {
  return {
    '@type': 'Component',
    name,
    ...(instance ? descriptive(instance) : {}),
    schema,
  };
}

function convertInterface(iface: Json, path: string): Json {
  const id = iface['@id'];
  return {
    ...(typeof id === 'string' ? { '@id': urnToDtmi(id, `${path}.@id`) } : {}),
    '@type': 'Interface',
    ...descriptive(iface),
    contents: asSet(iface['contents']).map((c, i) => convertContent(c, `${path}.contents[${i}]`)),
  };
}

function descriptive(node: Json): Json {
  const out: Json = {};
  for (const key of ['displayName', 'description', 'comment']) {
    if (node[key] !== undefined) out[key] = node[key];
  }
  return out;
}

function convertContent(item: unknown, path: string): unknown {
  if (!isObject(item)) return item;
  const out: Json = {};
  for (const [key, value] of Object.entries(item)) {
    if (key === '@id' || key === 'displayUnit') continue;
    out[key] = value;
  }
  const types = typesOf(item).map((t) => t.replace(/^SemanticType\//, ''));
  const kind = types[0];
  let semantic = types.find((t, i) => i > 0 && !LEGACY_COTYPES.has(t));
  const coTypes = types.filter((t, i) => i > 0 && LEGACY_COTYPES.has(t));
  let unit = typeof item['unit'] === 'string' ? legacyUnit(item['unit']) : undefined;
  const numeric = typeof item['schema'] === 'string' && NUMERIC_SCHEMAS.has(item['schema']);
  if (semantic !== undefined || unit !== undefined) {
    const fits = (s: string | undefined): s is SemanticType =>
      s !== undefined && isSemanticType(s) && unit !== undefined && unitsOf(s).includes(unit);
    if (!fits(semantic)) {
      semantic = (Object.keys(SEMANTIC_TYPES) as SemanticType[]).find((s) => fits(s));
    }
    if (semantic === undefined || !numeric) {
      semantic = undefined;
      unit = undefined;
    }
  }
  out['@type'] =
    kind === undefined
      ? item['@type']
      : types.length === 1 && !semantic
        ? kind
        : [kind, ...(semantic ? [semantic] : []), ...coTypes];
  if (unit !== undefined) out['unit'] = unit;
  else delete out['unit'];
  if (out['schema'] !== undefined) out['schema'] = convertSchema(out['schema'], `${path}.schema`, 0);
  for (const key of ['request', 'response']) {
    const payload = out[key];
    if (isObject(payload))
      out[key] = {
        ...stripIdAndType(payload),
        schema: convertSchema(payload['schema'], `${path}.${key}.schema`, 0),
      };
  }
  return out;
}

function legacyUnit(unit: string): string | undefined {
  const name = unit.split('/').pop() ?? unit;
  const mapped = Object.hasOwn(LEGACY_UNITS, name) ? LEGACY_UNITS[name]! : name;
  return ALL_UNITS.has(mapped) ? mapped : undefined;
}

function stripIdAndType(node: Json): Json {
  const { '@id': _id, '@type': _type, ...rest } = node;
  void _id;
  void _type;
  return rest;
}

/**
 * `depth` counts the complex schemas around this one. DTDL v2 allows 5 levels (validation says
 * so again after conversion); refusing here keeps a schema nested thousands deep from
 * overflowing the stack first.
 */
function convertSchema(schema: unknown, path: string, depth: number): unknown {
  if (!isObject(schema)) return schema;
  if (depth >= MAX_SCHEMA_DEPTH) {
    throw dtdlError(path, `complex schemas nest deeper than ${MAX_SCHEMA_DEPTH} levels`);
  }
  const { '@id': _id, ...out } = schema;
  void _id;
  if (out['elementSchema'] !== undefined) {
    out['elementSchema'] = convertSchema(out['elementSchema'], `${path}.elementSchema`, depth + 1);
  }
  if (out['fields'] !== undefined) {
    out['fields'] = asSet(out['fields']).map((f, i) =>
      isObject(f)
        ? {
            ...stripIdAndType(f),
            schema: convertSchema(f['schema'], `${path}.fields[${i}].schema`, depth + 1),
          }
        : f,
    );
  }
  if (out['enumValues'] !== undefined) {
    const values = asSet(out['enumValues']).map((v) => (isObject(v) ? stripIdAndType(v) : v));
    out['enumValues'] = values;
    if (out['valueSchema'] === undefined) {
      const allIntegers = values.every((v) => isObject(v) && Number.isInteger(v['enumValue']));
      out['valueSchema'] = allIntegers ? 'integer' : 'string';
    }
  }
  if (isObject(out['mapKey'])) out['mapKey'] = stripIdAndType(out['mapKey']);
  if (isObject(out['mapValue'])) {
    out['mapValue'] = {
      ...stripIdAndType(out['mapValue']),
      schema: convertSchema(out['mapValue']['schema'], `${path}.mapValue.schema`, depth + 1),
    };
  }
  return out;
}
