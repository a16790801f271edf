import { MAX_MESSAGE_BYTES, encodePropertyBag } from '@gatehouse/protocol';

import { DeviceError } from './errors.js';

/**
 * Options of `HubClient.sendEvent`: the Azure SDK `Message` fields that travel in the topic's
 * property bag (PROTOCOL.md §3.3).
 *
 * @example
 * ```ts
 * import type { SendEventOptions } from '@gatehouse/device';
 * const options: SendEventOptions = {
 *   messageId: 'mid-1',
 *   properties: { alert: 'high temp' },
 *   component: 'thermostat1',
 * };
 * ```
 */
export interface SendEventOptions {
  /** Application properties (`message.properties.add(k, v)`), URI-encoded on the wire. */
  properties?: Readonly<Record<string, string>>;
  /** `$.ct`; defaults to `application/json` when the body is an object. */
  contentType?: string;
  /** `$.ce`; defaults to `utf-8` when the body is an object. */
  contentEncoding?: string;
  /** `$.mid`. */
  messageId?: string;
  /** `$.cid`. */
  correlationId?: string;
  /** IoT Plug and Play component the telemetry belongs to, sent as `$.sub` (`dt-subject`). */
  component?: string;
  /** Give up (and reject with `ERR_DEVICE_TIMEOUT`) after this long; default the client's `operationTimeoutMs`. */
  timeoutMs?: number;
}

/**
 * What `sendEvent` accepts: text (sent as UTF-8), bytes (sent as is), or any other value
 * (serialised as JSON).
 *
 * @example
 * ```ts
 * import type { EventBody } from '@gatehouse/device';
 * const bodies: EventBody[] = ['text', Buffer.from([1, 2]), { temp: 21 }];
 * ```
 */
export type EventBody = string | Buffer | Uint8Array | object | number | boolean | null;

/**
 * Encode a telemetry body and its property bag exactly as `azure-iot-device-mqtt` does:
 * system properties through `querystring` (so `$` becomes `%24`) in the order `$.mid`, `$.cid`,
 * `$.ct`, `$.ce`, then application properties with `encodeURIComponent`, `dt-subject` as
 * `$.sub` (§3.3).
 *
 * @example
 * ```ts
 * import { encodeTelemetry } from '@gatehouse/device';
 * encodeTelemetry({ temp: 21 }, { messageId: 'm1' }).bag;
 * // '%24.mid=m1&%24.ct=application%2Fjson&%24.ce=utf-8'
 * ```
 */
export function encodeTelemetry(
  body: EventBody,
  options: SendEventOptions = {},
): { payload: Buffer; bag: string } {
  let payload: Buffer;
  let contentType = options.contentType;
  let contentEncoding = options.contentEncoding;
  if (typeof body === 'string') payload = Buffer.from(body, 'utf8');
  else if (Buffer.isBuffer(body)) payload = body;
  else if (body instanceof Uint8Array) payload = Buffer.from(body);
  else {
    const json = JSON.stringify(body);
    if (json === undefined)
      throw new DeviceError('ERR_DEVICE_INVALID_ARGUMENT', 'the body cannot be serialised as JSON');
    payload = Buffer.from(json, 'utf8');
    contentType ??= 'application/json';
    contentEncoding ??= 'utf-8';
  }
  if (payload.length > MAX_MESSAGE_BYTES) {
    throw new DeviceError(
      'ERR_DEVICE_MESSAGE_TOO_LARGE',
      `the message is ${payload.length} bytes; the hub accepts at most ${MAX_MESSAGE_BYTES}`,
    );
  }
  const system: Record<string, string> = {};
  if (options.messageId) system['$.mid'] = options.messageId;
  if (options.correlationId) system['$.cid'] = options.correlationId;
  if (contentType) system['$.ct'] = contentType;
  if (contentEncoding) system['$.ce'] = contentEncoding;
  const application: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.properties ?? {})) {
    if (key === '') throw new DeviceError('ERR_DEVICE_INVALID_ARGUMENT', 'property names must not be empty');
    application[key === 'dt-subject' ? '$.sub' : key] = String(value);
  }
  if (options.component) application['$.sub'] = options.component;
  return { payload, bag: encodePropertyBag({ system, application }) };
}
