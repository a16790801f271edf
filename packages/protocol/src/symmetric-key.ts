/**
 * Symmetric keys: generation and the enrollment-group key derivation (PROTOCOL.md §6.2).
 *
 * @packageDocumentation
 */
import { createHmac, randomBytes } from 'node:crypto';

import { isBase64 } from './encoding.js';
import { ProtocolError } from './errors.js';

/**
 * Derives a device's key from an enrollment group key:
 * `base64(HMAC-SHA256(key = base64decode(groupKey), message = UTF-8 registrationId))`.
 * The device then uses the same derived key as its IoT Hub device key.
 *
 * @throws {@link ProtocolError} `ERR_SAS_BAD_KEY` when the group key is not base64.
 * @example
 * ```ts
 * import { deriveDeviceKey } from '@gatehouse/protocol';
 * deriveDeviceKey(
 *   '8isrFI1sGsIlvvFSSFRiMfCNzv21fjbE/+ah/lSh3lF8e2YG1Te7w1KpZhJFFXJrqYKi9yegxkqIChbqOS9Egw==',
 *   'sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6',
 * ); // 'Jsm0lyGpjaVYVP2g3FnmnmG9dI/9qU24wNoykUmermc='
 * ```
 */
export function deriveDeviceKey(groupKeyBase64: string, registrationId: string): string {
  if (!isBase64(groupKeyBase64)) {
    throw new ProtocolError('ERR_SAS_BAD_KEY', 'group key is not base64');
  }
  return createHmac('sha256', Buffer.from(groupKeyBase64, 'base64'))
    .update(registrationId, 'utf8')
    .digest('base64');
}

/**
 * A fresh random symmetric key, base64. DPS generates 64-byte keys (PROTOCOL.md §6.2).
 *
 * @param bytes key length in bytes, 16–64 (the range DPS accepts for user keys); default 64.
 * @example
 * ```ts
 * import { generateSymmetricKey } from '@gatehouse/protocol';
 * const primaryKey = generateSymmetricKey(); // 88 base64 characters
 * ```
 */
export function generateSymmetricKey(bytes = 64): string {
  if (!Number.isInteger(bytes) || bytes < 16 || bytes > 64) {
    throw new ProtocolError('ERR_PROTOCOL_INVALID_ARGUMENT', 'symmetric key length must be 16–64 bytes');
  }
  return randomBytes(bytes).toString('base64');
}
