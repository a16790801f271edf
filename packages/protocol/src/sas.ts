/**
 * SharedAccessSignature tokens: the password of SAS-authenticated devices on the hub and DPS
 * (PROTOCOL.md §6).
 *
 * @packageDocumentation
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

import { encodeUriComponentStrict, isBase64, tryDecodeURIComponent } from './encoding.js';
import { ProtocolError } from './errors.js';
import { MAX_SAS_TOKEN_LENGTH } from './limits.js';

const PREFIX = 'SharedAccessSignature';

/**
 * A parsed token. `sr` is kept exactly as written because the HMAC is computed over the
 * literal text (PROTOCOL.md §6.1); `sig` and `skn` are URL-decoded.
 *
 * @example
 * ```ts
 * import { parseSharedAccessSignature, type SharedAccessSignature } from '@gatehouse/protocol';
 * const token: SharedAccessSignature = parseSharedAccessSignature(password);
 * console.log(token.sr, token.se);
 * ```
 */
export interface SharedAccessSignature {
  /** Resource URI exactly as it appears in the token (encoded for hub tokens, raw for DPS). */
  sr: string;
  /** Standard base64 HMAC-SHA256 signature, already URL-decoded. */
  sig: string;
  /** Expiry in Unix seconds. */
  se: number;
  /** Key (policy) name, URL-decoded; `registration` for DPS, absent for device keys. */
  skn?: string;
}

/**
 * Parses the text of a SAS token. Fields may come in any order; fields other than
 * sr/sig/se/skn are ignored.
 *
 * @throws {@link ProtocolError} `ERR_SAS_MALFORMED`, `ERR_SAS_MISSING_FIELD`,
 *   `ERR_SAS_DUPLICATE_FIELD`, `ERR_SAS_BAD_EXPIRY`, `ERR_SAS_BAD_SIGNATURE_ENCODING`.
 * @example
 * ```ts
 * import { parseSharedAccessSignature } from '@gatehouse/protocol';
 * const t = parseSharedAccessSignature(
 *   'SharedAccessSignature sr=0ne00000001/registrations/dev-1&sig=abc%3D&skn=registration&se=1700000000',
 * );
 * // → { sr: '0ne00000001/registrations/dev-1', sig: 'abc=', skn: 'registration', se: 1700000000 }
 * ```
 * (The example signature is illustrative; a real `sig` is 44 base64 characters.)
 */
export function parseSharedAccessSignature(text: string): SharedAccessSignature {
  if (text.length > MAX_SAS_TOKEN_LENGTH) {
    throw new ProtocolError('ERR_SAS_MALFORMED', `SAS token longer than ${MAX_SAS_TOKEN_LENGTH} characters`);
  }
  // azure-iot-common splits on whitespace and wants exactly the prefix plus one field list.
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 2 || parts[0] !== PREFIX || parts[1] === undefined) {
    throw new ProtocolError('ERR_SAS_MALFORMED', `expected "${PREFIX} <fields>"`);
  }
  const fields = new Map<string, string>();
  for (const segment of parts[1].split('&')) {
    const eq = segment.indexOf('=');
    if (eq <= 0) {
      throw new ProtocolError('ERR_SAS_MALFORMED', 'every SAS field must look like name=value');
    }
    const name = segment.slice(0, eq);
    if (fields.has(name)) {
      throw new ProtocolError('ERR_SAS_DUPLICATE_FIELD', `SAS field "${name}" appears more than once`);
    }
    fields.set(name, segment.slice(eq + 1));
  }
  const sr = fields.get('sr');
  const rawSig = fields.get('sig');
  const rawSe = fields.get('se');
  const rawSkn = fields.get('skn');
  for (const [name, value] of [
    ['sr', sr],
    ['sig', rawSig],
    ['se', rawSe],
  ] as const) {
    if (value === undefined || value === '') {
      throw new ProtocolError('ERR_SAS_MISSING_FIELD', `SAS field "${name}" is missing`);
    }
  }
  // Canonical decimal only: the signer hashed the literal text of se, so "0123" and "123"
  // would sign differently; the SDK never writes leading zeros.
  if (!/^(?:0|[1-9][0-9]*)$/.test(rawSe as string) || !Number.isSafeInteger(Number(rawSe))) {
    throw new ProtocolError('ERR_SAS_BAD_EXPIRY', 'SAS field "se" must be an integer number of Unix seconds');
  }
  const sig = tryDecodeURIComponent(rawSig as string);
  if (sig === undefined || !isBase64(sig)) {
    throw new ProtocolError('ERR_SAS_BAD_SIGNATURE_ENCODING', 'SAS field "sig" is not URL-encoded base64');
  }
  const token: SharedAccessSignature = { sr: sr as string, sig, se: Number(rawSe) };
  if (rawSkn !== undefined) {
    const skn = tryDecodeURIComponent(rawSkn);
    if (skn === undefined) {
      throw new ProtocolError('ERR_SAS_MALFORMED', 'SAS field "skn" has malformed percent-encoding');
    }
    token.skn = skn;
  }
  return token;
}

/**
 * Input of {@link signSharedAccessSignature}.
 *
 * @example
 * ```ts
 * import type { SignSharedAccessSignatureOptions } from '@gatehouse/protocol';
 * const opts: SignSharedAccessSignatureOptions = { resource: 'scope/registrations/dev', key, expiry: 1700000000 };
 * ```
 */
export interface SignSharedAccessSignatureOptions {
  /**
   * The `sr` value exactly as it must appear in the token: hub tokens use
   * `encodeURIComponent(hubSasResource(...))`, DPS tokens the raw `dpsSasResource(...)`.
   */
  resource: string;
  /** Base64 shared key. */
  key: string;
  /** Expiry in Unix seconds (integer). */
  expiry: number;
  /** Policy name (`registration` for DPS); omitted for device keys. */
  keyName?: string;
}

function hmac(keyBase64: string, sr: string, se: string): Buffer {
  if (!isBase64(keyBase64)) {
    throw new ProtocolError('ERR_SAS_BAD_KEY', 'shared access key is not base64');
  }
  return createHmac('sha256', Buffer.from(keyBase64, 'base64'))
    .update(sr + '\n' + se, 'utf8')
    .digest();
}

/**
 * Produces a token in the exact format of azure-iot-common's `SharedAccessSignature.create`:
 * fields in the order sr, sig, skn, se; `sig` and `skn` escaped with `encodeURIComponent`
 * plus `!'()*` (PROTOCOL.md §6.1).
 *
 * @throws {@link ProtocolError} `ERR_SAS_BAD_KEY` for a non-base64 key,
 *   `ERR_PROTOCOL_INVALID_ARGUMENT` for an empty resource or a non-integer expiry.
 * @example
 * ```ts
 * import { signSharedAccessSignature, hubSasResource } from '@gatehouse/protocol';
 * const password = signSharedAccessSignature({
 *   resource: encodeURIComponent(hubSasResource('hub.example.com', 'dev-1')),
 *   key: deviceKeyBase64,
 *   expiry: Math.floor(Date.now() / 1000) + 3600,
 * });
 * // 'SharedAccessSignature sr=hub.example.com%2Fdevices%2Fdev-1&sig=…&se=…'
 * ```
 */
export function signSharedAccessSignature(options: SignSharedAccessSignatureOptions): string {
  const { resource, key, expiry, keyName } = options;
  if (resource === '' || /[\s&]/.test(resource)) {
    throw new ProtocolError(
      'ERR_PROTOCOL_INVALID_ARGUMENT',
      'SAS resource must be non-empty without spaces or "&"',
    );
  }
  if (!Number.isSafeInteger(expiry) || expiry <= 0) {
    throw new ProtocolError('ERR_PROTOCOL_INVALID_ARGUMENT', 'SAS expiry must be a positive integer');
  }
  const se = String(expiry);
  const sig = encodeUriComponentStrict(hmac(key, resource, se).toString('base64'));
  let text = `${PREFIX} sr=${resource}&sig=${sig}`;
  if (keyName) text += `&skn=${encodeUriComponentStrict(keyName)}`;
  return `${text}&se=${se}`;
}

/**
 * Options of {@link verifySharedAccessSignature}.
 *
 * @example
 * ```ts
 * import type { VerifySharedAccessSignatureOptions } from '@gatehouse/protocol';
 * const opts: VerifySharedAccessSignatureOptions = { keys: [primary, secondary], now: Date.now() / 1000 };
 * ```
 */
export interface VerifySharedAccessSignatureOptions {
  /** Candidate base64 keys, e.g. `[primary, secondary]`. */
  keys: readonly string[];
  /** Current time in Unix seconds (fractions allowed). */
  now: number;
  /** Seconds of clock skew tolerated after `se`; default 0. */
  clockSkewSeconds?: number;
}

/**
 * Checks a parsed token: HMAC-SHA256 over the literal `sr` + `"\n"` + `se` with each key,
 * compared in constant time, then the expiry (refused when `se + clockSkewSeconds <= now`).
 * The resource is NOT checked here; use {@link sasResourceMatches}.
 *
 * @returns the index in `keys` of the key that produced the signature.
 * @throws {@link ProtocolError} `ERR_SAS_BAD_SIGNATURE`, `ERR_SAS_EXPIRED`, `ERR_SAS_BAD_KEY`.
 * @example
 * ```ts
 * import { parseSharedAccessSignature, verifySharedAccessSignature } from '@gatehouse/protocol';
 * const token = parseSharedAccessSignature(password);
 * const keyIndex = verifySharedAccessSignature(token, {
 *   keys: [device.primaryKey, device.secondaryKey],
 *   now: Math.floor(Date.now() / 1000),
 * }); // 0 = primary, 1 = secondary
 * ```
 */
export function verifySharedAccessSignature(
  token: SharedAccessSignature,
  options: VerifySharedAccessSignatureOptions,
): number {
  const { keys, now, clockSkewSeconds = 0 } = options;
  if (keys.length === 0) {
    throw new ProtocolError('ERR_SAS_BAD_KEY', 'no candidate key to verify the SAS token with');
  }
  const presented = Buffer.from(token.sig, 'base64');
  let matched = -1;
  // Every key is tried even after a match so timing does not tell which key (or none) matched.
  keys.forEach((key, index) => {
    const expected = hmac(key, token.sr, String(token.se));
    if (expected.length === presented.length && timingSafeEqual(expected, presented) && matched === -1) {
      matched = index;
    }
  });
  if (matched === -1) {
    throw new ProtocolError('ERR_SAS_BAD_SIGNATURE', 'SAS signature does not match');
  }
  if (token.se + clockSkewSeconds <= now) {
    throw new ProtocolError('ERR_SAS_EXPIRED', 'SAS token has expired');
  }
  return matched;
}

/**
 * Does the token's `sr` grant `expected`? `sr` is URL-decoded first (hub tokens are encoded,
 * DPS tokens raw; decoding a raw resource is a no-op), then compared case-insensitively
 * (PROTOCOL.md §6.1). One trailing `/` is ignored on both sides. Malformed percent-encoding
 * never matches.
 *
 * @example
 * ```ts
 * import { sasResourceMatches, hubSasResource } from '@gatehouse/protocol';
 * sasResourceMatches('hub.example.com%2Fdevices%2Fdev-1', hubSasResource('HUB.example.com', 'dev-1')); // true
 * sasResourceMatches('0ne0001/registrations/dev-1', '0ne0001/registrations/dev-2'); // false
 * ```
 */
export function sasResourceMatches(sr: string, expected: string): boolean {
  const decoded = tryDecodeURIComponent(sr);
  if (decoded === undefined) return false;
  const norm = (s: string): string => (s.endsWith('/') ? s.slice(0, -1) : s).toLowerCase();
  return decoded !== '' && norm(decoded) === norm(expected);
}

/**
 * The (decoded) resource an IoT Hub device or module token must grant:
 * `<host>/devices/<deviceId>[/modules/<moduleId>]`. The SDK puts `encodeURIComponent` of this
 * into `sr` (PROTOCOL.md §6.1).
 *
 * @example
 * ```ts
 * import { hubSasResource } from '@gatehouse/protocol';
 * hubSasResource('localhost:18883', 'dev-1'); // 'localhost:18883/devices/dev-1'
 * hubSasResource('hub', 'dev-1', 'mod-a'); // 'hub/devices/dev-1/modules/mod-a'
 * ```
 */
export function hubSasResource(hostName: string, deviceId: string, moduleId?: string): string {
  return `${hostName}/devices/${deviceId}` + (moduleId ? `/modules/${moduleId}` : '');
}

/**
 * The resource a DPS registration token must grant, `<idScope>/registrations/<registrationId>`;
 * the SDK writes it raw into `sr` with `skn=registration` (PROTOCOL.md §1.2, §6.1).
 *
 * @example
 * ```ts
 * import { dpsSasResource } from '@gatehouse/protocol';
 * dpsSasResource('0ne00000001', 'dev-1'); // '0ne00000001/registrations/dev-1'
 * ```
 */
export function dpsSasResource(idScope: string, registrationId: string): string {
  return `${idScope}/registrations/${registrationId}`;
}

/**
 * The `skn` the SDK sends on DPS tokens.
 *
 * @example
 * ```ts
 * import { DPS_SAS_KEY_NAME } from '@gatehouse/protocol';
 * if (token.skn !== DPS_SAS_KEY_NAME) refuse();
 * ```
 */
export const DPS_SAS_KEY_NAME = 'registration';
