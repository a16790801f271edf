/**
 * What `PUT /api/deviceTemplates/{id}` accepts, turned into the stored template document
 * (CENTRAL_API.md §6 "Template wrapper"):
 *
 * - the wrapper `{ "@id"?, "@type": ["ModelDefinition","DeviceModel"], displayName, description?,
 *   capabilityModel }`;
 * - a bare DTDL v2 Interface, or an array of interfaces whose first is the root (a DTDL file):
 *   wrapped, the display name taken from the interface;
 * - a 2020 capability model (dtdl-legacy.ts), bare, in an array or as `capabilityModel`.
 *
 * Components and `extends` that name another interface of the same array by DTMI are inlined, so
 * the stored capability model is self-contained; then the whole is validated (dtdl.ts).
 */
import { isObject } from '../validation.js';
import { validateInterface } from './dtdl.js';
import { asSet, dtdlError, plainText, typesOf, type Json } from './dtdl-elements.js';
import { convertCapabilityModel, isLegacyCapabilityModel } from './dtdl-legacy.js';

export const TEMPLATE_TYPES = ['ModelDefinition', 'DeviceModel'] as const;
/** CENTRAL_API.md §1.1: the same bound as a device display name. */
const MAX_DISPLAY_NAME = 148;

/** The stored document of a device template. */
export interface TemplateDocument {
  '@id': string;
  '@type': string[];
  '@context'?: unknown;
  displayName: string;
  description?: string;
  capabilityModel: Json;
}

/**
 * JSON levels a template body may have. A valid model needs at most about 70 (wrapper, 10 levels of
 * extends, a component's interface with 10 more, 5 levels of complex schemas); terms of other
 * vocabularies (keys with a `:`) are kept as they come, and a value nested thousands deep would
 * overflow the stack where the document is copied or stored (JSON.stringify).
 */
export const MAX_DOCUMENT_DEPTH = 128;

/** Parses and validates a PUT body for template `id`; throws ERR_DTDL_INVALID. */
export function parseTemplateBody(body: unknown, id: string): TemplateDocument {
  checkDocumentDepth(body);
  if (Array.isArray(body)) {
    if (body.length === 0) throw dtdlError('', 'the array holds no interface');
    const file = new Map<string, Json>();
    for (const [i, item] of body.entries()) {
      if (!isObject(item)) throw dtdlError(`[${i}]`, 'must be a DTDL Interface (a JSON object)');
      if (typeof item['@id'] === 'string') file.set(item['@id'], item);
    }
    const root = body[0] as Json;
    return wrap(id, {}, modelOf(root, file));
  }
  if (!isObject(body)) {
    throw dtdlError('', 'the body must be a device template, a DTDL v2 Interface or an array of interfaces');
  }
  if (body['capabilityModel'] === undefined) {
    const types = typesOf(body);
    if (!types.includes('Interface') && !types.includes('CapabilityModel')) {
      throw dtdlError(
        '',
        "the body must be a device template { '@type': ['ModelDefinition','DeviceModel'], displayName, capabilityModel } or a DTDL v2 Interface ('@type': 'Interface')",
      );
    }
    return wrap(id, {}, modelOf(body, new Map()));
  }
  if (!isObject(body['capabilityModel'])) {
    throw dtdlError('capabilityModel', 'must be a DTDL v2 Interface (a JSON object)');
  }
  return wrap(id, body, modelOf(body['capabilityModel'], new Map()));
}

function modelOf(root: Json, file: ReadonlyMap<string, Json>): Json {
  if (isLegacyCapabilityModel(root)) return convertCapabilityModel(root, 'capabilityModel', file);
  return new Inliner(file).inline(root, 'capabilityModel', []).value;
}

/**
 * Bounds on what inlining may produce. A file can name one interface many times, each of those
 * naming another many times: without a bound the copies grow exponentially with the file
 * (A → 2×B → 4×C …). A valid model nests at most ~21 interfaces deep (extends ≤ 10 levels, one
 * level of components, whose interfaces extend ≤ 10 again; DTDL.v2.md), and IoT Central's
 * templates are kilobytes; the limits leave room for both and stop the growth.
 */
export const MAX_INTERFACE_NESTING = 32;
/** Characters of JSON that inlining may add to the document (about 4× the REST body limit). */
export const MAX_INLINED_SIZE = 4 * 1024 * 1024;

interface Inlined {
  value: Json;
  /** JSON characters the inlined references add to the interface as written. */
  added: number;
  /** Interface levels, this one included. */
  height: number;
}

/**
 * Replaces Component schemas and `extends` given by DTMI with the interfaces of the file. Each
 * interface is resolved once (by `@id`) and shared by every place that names it; what the copies
 * add to each interface is summed as they are made (a part of the whole, so checked at every
 * level) and refused past {@link MAX_INLINED_SIZE} before anything is copied further.
 */
class Inliner {
  private readonly resolved = new Map<string, { value: Json; size: number; height: number }>();

  constructor(private readonly file: ReadonlyMap<string, Json>) {}

  inline(iface: Json, path: string, stack: readonly string[]): Inlined {
    const id = typeof iface['@id'] === 'string' ? iface['@id'] : undefined;
    if (id !== undefined && stack.includes(id)) {
      throw dtdlError(path, `interface ${id} includes itself (${[...stack, id].join(' → ')})`);
    }
    if (stack.length >= MAX_INTERFACE_NESTING) {
      throw dtdlError(
        path,
        `interfaces nest deeper than ${MAX_INTERFACE_NESTING} levels (components and extends)`,
      );
    }
    const inner = [...stack, id ?? '(inline)'];
    let added = 0;
    let height = 1;
    const resolve = (ref: unknown, refPath: string): unknown => {
      if (isObject(ref)) {
        const child = this.inline(ref, refPath, inner);
        added += child.added;
        height = Math.max(height, child.height + 1);
        return child.value;
      }
      if (typeof ref !== 'string') return ref;
      const found = this.named(ref, refPath, inner);
      if (!found) return ref;
      if (inner.length + found.height > MAX_INTERFACE_NESTING) {
        throw dtdlError(
          refPath,
          `interface ${ref} inlined here nests interfaces deeper than ${MAX_INTERFACE_NESTING} levels (components and extends)`,
        );
      }
      added += found.size;
      if (added > MAX_INLINED_SIZE) {
        throw dtdlError(
          refPath,
          `inlining interface ${ref} makes the model larger than ${MAX_INLINED_SIZE} characters of JSON: an interface is copied wherever a component or extends names it, so name fewer or smaller ones`,
        );
      }
      height = Math.max(height, found.height + 1);
      return { ...found.value };
    };
    const copy: Json = { ...iface };
    if (iface['extends'] !== undefined) {
      copy['extends'] = Array.isArray(iface['extends'])
        ? iface['extends'].map((e, i) => resolve(e, `${path}.extends[${i}]`))
        : resolve(iface['extends'], `${path}.extends`);
    }
    if (Array.isArray(iface['contents']) || isObject(iface['contents'])) {
      copy['contents'] = asSet(iface['contents']).map((c, i) =>
        isObject(c) && typesOf(c).includes('Component')
          ? { ...c, schema: resolve(c['schema'], `${path}.contents[${i}].schema`) }
          : c,
      );
    }
    return { value: copy, added, height };
  }

  /** The interface of the file with this `@id`, inlined once and remembered; undefined if none. */
  private named(
    ref: string,
    path: string,
    stack: readonly string[],
  ): { value: Json; size: number; height: number } | undefined {
    const done = this.resolved.get(ref);
    if (done) return done;
    const found = this.file.get(ref);
    if (!found) return undefined;
    const { value, added, height } = this.inline(found, path, stack);
    const { '@context': _context, ...copy } = value;
    void _context;
    const entry = { value: copy, size: jsonSize(found) + added, height };
    this.resolved.set(ref, entry);
    return entry;
  }
}

/** About the length of `JSON.stringify(value)`, counted without recursion. */
function jsonSize(value: unknown): number {
  let size = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (typeof v === 'string') size += v.length + 2;
    else if (Array.isArray(v)) {
      size += 1 + v.length;
      for (const item of v) pending.push(item);
    } else if (isObject(v)) {
      for (const [key, item] of Object.entries(v)) {
        size += key.length + 4;
        pending.push(item);
      }
      size += 2;
    } else size += String(v).length;
  }
  return size;
}

function wrap(id: string, wrapper: Json, capabilityModel: Json): TemplateDocument {
  const givenId = wrapper['@id'];
  if (givenId !== undefined && givenId !== id) {
    throw dtdlError('@id', `${JSON.stringify(givenId)} must equal the template ID in the URL (${id})`);
  }
  let types: string[] = [...TEMPLATE_TYPES];
  if (wrapper['@type'] !== undefined) {
    types = typesOf(wrapper);
    if (!TEMPLATE_TYPES.every((t) => types.includes(t)) || types.length !== asSet(wrapper['@type']).length) {
      throw dtdlError(
        '@type',
        `must be ["ModelDefinition", "DeviceModel"] (got ${JSON.stringify(wrapper['@type'])})`,
      );
    }
  }
  const displayName =
    wrapper['displayName'] !== undefined
      ? plainText(wrapper['displayName'])
      : (plainText(capabilityModel['displayName']) ?? stringOr(capabilityModel['@id']));
  if (displayName === undefined || displayName.trim() === '' || displayName.length > MAX_DISPLAY_NAME) {
    throw dtdlError('displayName', `must be a string of 1–${MAX_DISPLAY_NAME} characters`);
  }
  const description =
    wrapper['description'] !== undefined
      ? plainText(wrapper['description'])
      : plainText(capabilityModel['description']);
  if (wrapper['description'] !== undefined && description === undefined) {
    throw dtdlError('description', 'must be a string');
  }
  const context = wrapper['@context'];
  validateInterface(
    capabilityModel,
    'capabilityModel',
    context !== undefined ? { outerContext: context } : {},
  );
  return {
    '@id': id,
    '@type': types,
    ...(context !== undefined ? { '@context': context } : {}),
    displayName,
    ...(description !== undefined && description !== '' ? { description } : {}),
    capabilityModel,
  };
}

/**
 * Refuses a body nested deeper than {@link MAX_DOCUMENT_DEPTH}, without recursion. The path is
 * named as other refusals name it (a bare interface is the `capabilityModel`), its middle
 * elided: it is over a hundred steps long.
 */
function checkDocumentDepth(body: unknown): void {
  const root = isObject(body) && body['capabilityModel'] === undefined ? 'capabilityModel' : '';
  const pending: Array<{ value: unknown; path: string; depth: number }> = [
    { value: body, path: root, depth: 0 },
  ];
  while (pending.length > 0) {
    const { value, path, depth } = pending.pop()!;
    if (!Array.isArray(value) && !isObject(value)) continue;
    if (depth >= MAX_DOCUMENT_DEPTH) {
      const shown = path.length > 160 ? `${path.slice(0, 80)}…${path.slice(-80)}` : path;
      throw dtdlError(shown, `the document nests deeper than ${MAX_DOCUMENT_DEPTH} levels of JSON here`);
    }
    if (Array.isArray(value)) {
      value.forEach((item, i) => pending.push({ value: item, path: `${path}[${i}]`, depth: depth + 1 }));
    } else {
      for (const [key, item] of Object.entries(value)) {
        pending.push({ value: item, path: path === '' ? key : `${path}.${key}`, depth: depth + 1 });
      }
    }
  }
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
