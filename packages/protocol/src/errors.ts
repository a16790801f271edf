/**
 * Typed errors of the wire contract. Every refusal carries a stable `code` so callers can
 * `switch (err.code)` and map it to a CONNACK code, a DPS `errorCode` or an HTTP status
 * without matching on message text (STYLE.md §5).
 */

/**
 * Every code a {@link ProtocolError} can carry, with a one-line meaning. README.md documents
 * the same table and a test fails when the two disagree.
 *
 * @example
 * ```ts
 * import { PROTOCOL_ERROR_CODES } from '@gatehouse/protocol';
 * console.log(PROTOCOL_ERROR_CODES.ERR_SAS_EXPIRED); // 'the token is authentic but its se is not in the future'
 * ```
 */
export const PROTOCOL_ERROR_CODES = {
  ERR_SAS_MALFORMED:
    'the text is not `SharedAccessSignature <field>=<value>&…` (prefix, spacing, a field without `=`, bad percent-encoding, too long)',
  ERR_SAS_MISSING_FIELD: 'one of the required fields sr, sig, se is absent or empty',
  ERR_SAS_DUPLICATE_FIELD: 'a field name appears more than once',
  ERR_SAS_BAD_EXPIRY: 'se is not a non-negative integer number of Unix seconds',
  ERR_SAS_BAD_SIGNATURE_ENCODING: 'sig is not valid base64 after URL-decoding',
  ERR_SAS_EXPIRED: 'the token is authentic but its se is not in the future',
  ERR_SAS_BAD_SIGNATURE: 'the signature matches none of the candidate keys',
  ERR_SAS_BAD_KEY: 'a key given to sign, verify or derive is not non-empty base64 (a configuration error)',
  ERR_PROPERTY_BAG_MALFORMED: 'a property bag contains malformed percent-encoding or an empty key',
  ERR_DPS_REQUEST_MALFORMED: 'a DPS register body is not a JSON object with a string registrationId',
  ERR_CONNECTION_STRING_MALFORMED:
    'a connection string segment has no `=`, repeats a key, or has a bad value',
  ERR_CONNECTION_STRING_INCOMPLETE: 'a connection string lacks HostName, DeviceId, or a credential',
  ERR_PROTOCOL_INVALID_ARGUMENT:
    'a topic or message builder was given a value that cannot appear on the wire',
} as const satisfies Record<string, string>;

/**
 * Union of the stable error codes.
 *
 * @example
 * ```ts
 * import type { ProtocolErrorCode } from '@gatehouse/protocol';
 * const code: ProtocolErrorCode = 'ERR_SAS_BAD_SIGNATURE';
 * ```
 */
export type ProtocolErrorCode = keyof typeof PROTOCOL_ERROR_CODES;

/**
 * The only error type thrown by this package. `message` is safe to show to the device owner;
 * it never contains key material.
 *
 * @example
 * ```ts
 * import { ProtocolError, parseSharedAccessSignature } from '@gatehouse/protocol';
 * try {
 *   parseSharedAccessSignature('Bearer abc');
 * } catch (err) {
 *   if (err instanceof ProtocolError && err.code === 'ERR_SAS_MALFORMED') {
 *     // refuse the CONNECT with return code 5
 *   }
 * }
 * ```
 */
export class ProtocolError extends Error {
  /** Stable machine-readable code; never changes meaning once released. */
  readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

/**
 * Type guard: `err` is a {@link ProtocolError}, optionally with the given code.
 *
 * @example
 * ```ts
 * import { isProtocolError } from '@gatehouse/protocol';
 * function status(err: unknown): number {
 *   return isProtocolError(err, 'ERR_SAS_EXPIRED') ? 401 : 500;
 * }
 * ```
 */
export function isProtocolError(err: unknown, code?: ProtocolErrorCode): err is ProtocolError {
  return err instanceof ProtocolError && (code === undefined || err.code === code);
}
