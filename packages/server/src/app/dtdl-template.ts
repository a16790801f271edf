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
import { asSet, dtdlError, plainText, typesOf, validateInterface, type Json } from './dtdl.js';
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

/** Parses and validates a PUT body for template `id`; throws ERR_DTDL_INVALID. */
export function parseTemplateBody(body: unknown, id: string): TemplateDocument {
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
  return inlineReferences(root, 'capabilityModel', file, []);
}

/** A copy of `iface` with Component schemas and `extends` given by DTMI replaced by the interfaces. */
function inlineReferences(iface: Json, path: string, file: ReadonlyMap<string, Json>, stack: string[]): Json {
  const id = typeof iface['@id'] === 'string' ? iface['@id'] : undefined;
  if (id !== undefined && stack.includes(id)) {
    throw dtdlError(path, `interface ${id} includes itself (${[...stack, id].join(' → ')})`);
  }
  const inner = id !== undefined ? [...stack, id] : stack;
  const resolve = (ref: unknown, refPath: string): unknown => {
    if (typeof ref === 'string') {
      const found = file.get(ref);
      if (!found) return ref;
      const { '@context': _context, ...copy } = inlineReferences(found, refPath, file, inner);
      void _context;
      return copy;
    }
    return isObject(ref) ? inlineReferences(ref, refPath, file, inner) : ref;
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
  return copy;
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

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
