/**
 * The flattened view of a validated capability model that the UI renders (our extension of the
 * DeviceTemplate, /work contract §A): every telemetry, property and command with its component,
 * a plain display name, the schema (a primitive name, or the complex schema object with
 * `schemas` references resolved), unit and semantic type. The same flattening decides whether
 * a replacement model under the same DTMI is compatible (CENTRAL_API.md §6 Versioning).
 */
import { isObject } from '../validation.js';
import { allContents } from './dtdl.js';
import { asSet, plainText, typesOf, type Json } from './dtdl-elements.js';
import { MAX_SCHEMA_DEPTH, MAX_SCHEMA_ELEMENTS } from './dtdl-schema.js';
import { isSemanticType } from './dtdl-units.js';

/** A primitive schema name, or a complex schema as its DTDL object. */
export type SchemaValue = string | Json;

export interface TelemetryInfo {
  name: string;
  component?: string;
  displayName: string;
  schema: SchemaValue;
  unit?: string;
  semanticType?: string;
}

export interface PropertyInfo {
  name: string;
  component?: string;
  displayName: string;
  schema: SchemaValue;
  writable: boolean;
  unit?: string;
  semanticType?: string;
  /** A cloud property (IoT Central `Cloud` co-type): stored by the application, never sent to the device. */
  cloud?: true;
}

export interface PayloadInfo {
  name: string;
  displayName: string;
  schema: SchemaValue;
}

export interface CommandInfo {
  name: string;
  component?: string;
  displayName: string;
  request?: PayloadInfo;
  response?: PayloadInfo;
}

export interface ComponentInfo {
  name: string;
  displayName: string;
}

export interface TemplateSummary {
  /** The root interface's components (a component's properties live under its name in the twin). */
  components: ComponentInfo[];
  telemetry: TelemetryInfo[];
  properties: PropertyInfo[];
  commands: CommandInfo[];
}

type Scope = ReadonlyMap<string, unknown>;
/** Schema elements expanded so far for one summary. */
type Budget = { elements: number };

/** The telemetry, properties and commands of a (validated) capability model, components flattened. */
export function summarize(capabilityModel: Json): TemplateSummary {
  const summary: TemplateSummary = { components: [], telemetry: [], properties: [], commands: [] };
  collect(capabilityModel, undefined, summary, { elements: 0 });
  return summary;
}

function collect(iface: Json, component: string | undefined, out: TemplateSummary, budget: Budget): void {
  const scope = schemaScope(iface);
  const resolve = (schema: unknown) => resolveSchema(schema, scope, budget);
  for (const item of allContents(iface)) {
    if (!isObject(item) || typeof item['name'] !== 'string') continue;
    const types = typesOf(item);
    const name = item['name'];
    const base = {
      name,
      ...(component !== undefined ? { component } : {}),
      displayName: plainText(item['displayName']) ?? name,
    };
    if (types.includes('Component') && component === undefined && isObject(item['schema'])) {
      out.components.push({ name, displayName: base.displayName });
      collect(item['schema'], name, out, budget);
    } else if (types.includes('Telemetry')) {
      out.telemetry.push({
        ...base,
        schema: resolve(item['schema']),
        ...semantics(item, types),
      });
    } else if (types.includes('Property')) {
      out.properties.push({
        ...base,
        schema: resolve(item['schema']),
        writable: item['writable'] === true,
        ...semantics(item, types),
        ...(types.includes('Cloud') ? { cloud: true as const } : {}),
      });
    } else if (types.includes('Command')) {
      const command: CommandInfo = { ...base };
      for (const key of ['request', 'response'] as const) {
        const payload = item[key];
        if (!isObject(payload) || typeof payload['name'] !== 'string') continue;
        command[key] = {
          name: payload['name'],
          displayName: plainText(payload['displayName']) ?? payload['name'],
          schema: resolve(payload['schema']),
        };
      }
      out.commands.push(command);
    }
  }
}

function semantics(item: Json, types: string[]): { unit?: string; semanticType?: string } {
  const semanticType = types.find(isSemanticType);
  return {
    ...(typeof item['unit'] === 'string' ? { unit: item['unit'] } : {}),
    ...(semanticType !== undefined ? { semanticType } : {}),
  };
}

/** The interface's reusable `schemas` by `@id` (each interface has its own, DTDL.v2.md). */
function schemaScope(iface: Json): Scope {
  const scope = new Map<string, unknown>();
  for (const s of asSet(iface['schemas'])) {
    if (isObject(s) && typeof s['@id'] === 'string') scope.set(s['@id'], s);
  }
  return scope;
}

/**
 * A schema with `schemas` references replaced by copies of their definitions. Validation
 * (dtdl.ts) bounds both the levels and the expanded elements of a model; the same bounds here
 * keep a document stored before those checks from expanding without end: past them a
 * reference stays its DTMI, and an object nested deeper is shown as stored.
 */
function resolveSchema(schema: unknown, scope: Scope, budget: Budget, depth = 0): SchemaValue {
  if (typeof schema === 'string') {
    const defined = scope.get(schema);
    return defined !== undefined && depth < MAX_SCHEMA_DEPTH && budget.elements < MAX_SCHEMA_ELEMENTS
      ? resolveSchema(defined, scope, budget, depth)
      : schema;
  }
  if (!isObject(schema)) return String(schema);
  budget.elements += 1;
  if (depth >= MAX_SCHEMA_DEPTH) return schema;
  const copy: Json = { ...schema };
  if (copy['elementSchema'] !== undefined)
    copy['elementSchema'] = resolveSchema(copy['elementSchema'], scope, budget, depth + 1);
  if (isObject(copy['mapValue'])) {
    copy['mapValue'] = {
      ...copy['mapValue'],
      schema: resolveSchema(copy['mapValue']['schema'], scope, budget, depth + 1),
    };
  }
  if (copy['fields'] !== undefined) {
    copy['fields'] = asSet(copy['fields']).map((f) => {
      budget.elements += 1;
      return isObject(f) ? { ...f, schema: resolveSchema(f['schema'], scope, budget, depth + 1) } : f;
    });
  }
  return copy;
}

/** Display-only terms: changing them never breaks a device or a client. */
const DISPLAY_TERMS = new Set([
  '@id',
  'displayName',
  'description',
  'comment',
  'displayUnit',
  'decimalPlaces',
  'minValue',
  'maxValue',
  'trueName',
  'falseName',
]);

function wireShape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(wireShape);
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const key of Object.keys(value).sort()) {
    if (!DISPLAY_TERMS.has(key)) out[key] = wireShape(value[key]);
  }
  return out;
}

function shapes(capabilityModel: Json): Map<string, { label: string; shape: string }> {
  const summary = summarize(capabilityModel);
  const map = new Map<string, { label: string; shape: string }>();
  const add = (kind: string, item: { name: string; component?: string }, shape: unknown) => {
    const where = item.component !== undefined ? ` in component '${item.component}'` : '';
    map.set(`${item.component ?? ''}/${kind}/${item.name}`, {
      label: `${kind} '${item.name}'${where}`,
      shape: JSON.stringify(wireShape(shape)),
    });
  };
  for (const t of summary.telemetry) add('telemetry', t, [t.schema, t.unit, t.semanticType]);
  for (const p of summary.properties)
    add('property', p, [p.schema, p.writable, p.unit, p.semanticType, p.cloud]);
  for (const c of summary.commands)
    add('command', c, [c.request?.schema ?? null, c.response?.schema ?? null]);
  return map;
}

/**
 * What a replacement model breaks compared with the stored one: contents removed or changed
 * (schema, writability, unit, semantic type, command payload schemas). Empty = compatible.
 */
export function compatibilityProblems(before: Json, after: Json): string[] {
  const next = shapes(after);
  const problems: string[] = [];
  for (const [key, old] of shapes(before)) {
    const now = next.get(key);
    if (!now) problems.push(`${old.label} was removed`);
    else if (now.shape !== old.shape) problems.push(`${old.label} changed`);
  }
  return problems;
}
