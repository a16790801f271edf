/**
 * Device properties over REST (CENTRAL_API.md §1.2 Properties, §5.3), on top of the twin:
 * GET answers the reported values plus `$metadata.<name>` computed from the desired document
 * and the device's acknowledgements; PUT/PATCH turn the body into a desired patch (202).
 * Acks come in two shapes: `{value, ac, av, ad}` (PnP, since 07/2020) and the older
 * `{value, status, desiredVersion}` of the 2020 tutorial.
 */
import { hubError } from './errors.js';
import { clip } from './property-schema.js';
import { isPlainObject } from './message-body.js';
import { MAX_TWIN_DEPTH, valueProblem, type TwinDocument, type TwinState } from './twins.js';

export interface PropertyMetadata {
  desiredValue?: unknown;
  desiredVersion?: number;
  ackCode?: number;
  ackVersion?: number;
  ackDescription?: string;
  lastUpdateTime?: string;
}

interface Ack {
  value: unknown;
  ackCode?: number;
  ackVersion?: number;
  ackDescription?: string;
}

/** Reads a reported value as a writable-property acknowledgement, if it is one. */
export function readAck(reported: unknown): Ack | undefined {
  if (!isPlainObject(reported) || !Object.hasOwn(reported, 'value')) return undefined;
  const ack: Ack = { value: reported['value'] };
  if (Object.hasOwn(reported, 'ac') || Object.hasOwn(reported, 'av')) {
    if (typeof reported['ac'] === 'number') ack.ackCode = reported['ac'];
    if (typeof reported['av'] === 'number') ack.ackVersion = reported['av'];
    if (typeof reported['ad'] === 'string') ack.ackDescription = reported['ad'];
    return ack;
  }
  if (Object.hasOwn(reported, 'status') || Object.hasOwn(reported, 'desiredVersion')) {
    const status = reported['status'];
    if (typeof status === 'string') {
      ack.ackCode = status === 'completed' ? 200 : status === 'pending' ? 202 : 500;
      ack.ackDescription = status;
    }
    if (typeof reported['desiredVersion'] === 'number') ack.ackVersion = reported['desiredVersion'];
    return ack;
  }
  return undefined;
}

/** `GET /devices/{id}/properties`. Properties nobody has set are omitted. */
export function propertiesView(twin: TwinState): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  const metadata: Record<string, PropertyMetadata> = {};
  for (const [name, value] of Object.entries(twin.reported)) {
    const ack = readAck(value);
    const meta: PropertyMetadata = {};
    if (ack) {
      result[name] = ack.value;
      if (ack.ackCode !== undefined) meta.ackCode = ack.ackCode;
      if (ack.ackVersion !== undefined) meta.ackVersion = ack.ackVersion;
      if (ack.ackDescription !== undefined) meta.ackDescription = ack.ackDescription;
    } else {
      result[name] = value;
    }
    const time = twin.reportedUpdated[name];
    if (time !== undefined) meta.lastUpdateTime = time;
    metadata[name] = meta;
  }
  for (const [name, value] of Object.entries(twin.desired)) {
    const meta = metadata[name] ?? {};
    meta.desiredValue = value;
    meta.desiredVersion = twin.desiredVersion;
    const desiredTime = twin.desiredUpdated[name];
    if (meta.lastUpdateTime === undefined && desiredTime !== undefined) meta.lastUpdateTime = desiredTime;
    metadata[name] = meta;
  }
  result['$metadata'] = metadata;
  return result;
}

/** Validates a PUT/PATCH body: an object of names to values; `$metadata` (echoed back) is dropped. */
export function parsePropertyUpdate(body: unknown, options: { component?: boolean } = {}): TwinDocument {
  if (!isPlainObject(body)) {
    throw hubError('ERR_PROPERTIES_INVALID', 'The properties body must be a JSON object of names to values.');
  }
  const values: TwinDocument = {};
  for (const [name, value] of Object.entries(body)) {
    if (name === '$metadata') continue;
    // In a component, `__t` is the component marker (component-properties.ts), not a property.
    if (options.component && name === '__t') {
      throw hubError(
        'ERR_PROPERTIES_INVALID',
        "'__t' is the component marker, set by the server: it is not a property of the component.",
      );
    }
    if (name === '' || name.startsWith('$')) {
      throw hubError(
        'ERR_PROPERTIES_INVALID',
        `Property name '${clip(name)}' may not be empty or start with '$'.`,
      );
    }
    values[name] = value;
  }
  // The document is one level; a component's object another.
  const levels = MAX_TWIN_DEPTH - (options.component ? 2 : 1);
  const deep = Object.entries(values).find(([, value]) => valueProblem(value, levels) === 'depth');
  if (deep) {
    throw hubError(
      'ERR_PROPERTIES_INVALID',
      `Property '${clip(deep[0])}' nests deeper than the ${MAX_TWIN_DEPTH} levels a twin document may have (IoT Hub's limit, the document counting as one${options.component ? ', and the component as another' : ''}).`,
    );
  }
  return values;
}

/** The 202 echo: the values sent, with `$metadata.<name>.desiredValue`. */
export function desiredEcho(values: TwinDocument): Record<string, unknown> {
  const metadata: Record<string, PropertyMetadata> = {};
  for (const [name, value] of Object.entries(values)) metadata[name] = { desiredValue: value };
  return { ...values, $metadata: metadata };
}
