/**
 * Message property bags carried in telemetry and C2D topics (PROTOCOL.md §3.3, §3.4).
 *
 * @packageDocumentation
 */
import { emptyRecord, tryDecodeURIComponent } from './encoding.js';
import { ProtocolError } from './errors.js';

/**
 * Decoded properties. System keys start with `$.` (`$.mid`, `$.cid`, `$.ct`, `$.ce`, `$.uid`,
 * `$.to`, `$.exp`, `$.ifid`, `$.on`, `$.sub`); everything else is an application property.
 * Both records have no prototype, so wire keys like `__proto__` are plain data.
 *
 * @example
 * ```ts
 * import type { PropertyBag } from '@gatehouse/protocol';
 * const bag: PropertyBag = { system: { '$.ct': 'application/json' }, application: { alert: 'high' } };
 * ```
 */
export interface PropertyBag {
  system: Record<string, string>;
  application: Record<string, string>;
}

/**
 * Decodes the property-bag segment of a topic: split on `&`, then at the first `=`, then
 * percent-decode key and value. `+` stays `+` (the SDK encodes spaces as `%20`). Empty
 * segments are skipped, `k` without `=` decodes to `''`, and a repeated key keeps its last
 * value (the SDK allows repeated property names).
 *
 * @throws {@link ProtocolError} `ERR_PROPERTY_BAG_MALFORMED` for malformed `%XX` or an empty key.
 * @example
 * ```ts
 * import { decodePropertyBag } from '@gatehouse/protocol';
 * decodePropertyBag('%24.mid=mid-1&%24.ct=application%2Fjson&alert=high%20temp');
 * // → { system: { '$.mid': 'mid-1', '$.ct': 'application/json' }, application: { alert: 'high temp' } }
 * ```
 */
export function decodePropertyBag(bag: string): PropertyBag {
  const result: PropertyBag = { system: emptyRecord(), application: emptyRecord() };
  for (const segment of bag.split('&')) {
    if (segment === '') continue;
    const eq = segment.indexOf('=');
    const key = tryDecodeURIComponent(eq === -1 ? segment : segment.slice(0, eq));
    const value = eq === -1 ? '' : tryDecodeURIComponent(segment.slice(eq + 1));
    if (key === undefined || value === undefined) {
      throw new ProtocolError('ERR_PROPERTY_BAG_MALFORMED', 'property bag has malformed percent-encoding');
    }
    if (key === '') {
      throw new ProtocolError('ERR_PROPERTY_BAG_MALFORMED', 'property bag has an empty key');
    }
    (key.startsWith('$.') ? result.system : result.application)[key] = value;
  }
  return result;
}

/**
 * Input of {@link encodePropertyBag}; either part may be omitted.
 *
 * @example
 * ```ts
 * import type { PropertyBagInput } from '@gatehouse/protocol';
 * const input: PropertyBagInput = { system: { '$.mid': 'm1' } };
 * ```
 */
export interface PropertyBagInput {
  system?: Readonly<Record<string, string>>;
  application?: Readonly<Record<string, string>>;
}

/**
 * Encodes properties the way the hub writes C2D bags: system properties first, then
 * application ones, each `encodeURIComponent(key)=encodeURIComponent(value)` joined by `&`.
 * This escapes `$` (`%24.to`), `/`, `&` and `=`, which matters because the SDK takes the 5th
 * `/`-separated topic segment as the bag and splits pairs on `=` (PROTOCOL.md §3.4).
 *
 * @example
 * ```ts
 * import { encodePropertyBag } from '@gatehouse/protocol';
 * encodePropertyBag({ system: { '$.to': '/devices/dev-1/messages/deviceBound' }, application: { 'iothub-ack': 'full' } });
 * // '%24.to=%2Fdevices%2Fdev-1%2Fmessages%2FdeviceBound&iothub-ack=full'
 * ```
 */
export function encodePropertyBag(bag: PropertyBagInput): string {
  const pairs: string[] = [];
  for (const part of [bag.system, bag.application]) {
    if (!part) continue;
    for (const [key, value] of Object.entries(part)) {
      if (key === '') {
        throw new ProtocolError('ERR_PROTOCOL_INVALID_ARGUMENT', 'property names must not be empty');
      }
      pairs.push(`${encodeURIComponent(key)}=${encodeURIComponent(value)}`);
    }
  }
  return pairs.join('&');
}
