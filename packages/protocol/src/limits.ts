/**
 * Numeric limits of the wire contract, each with the PROTOCOL.md section (or Azure doc) it
 * comes from. Server and device SDK read the same numbers.
 *
 * @packageDocumentation
 */

/**
 * Largest telemetry / C2D body in bytes: 256 KiB. The SDK refuses bigger bodies and the real
 * hub documents the same cap (PROTOCOL.md §3.3, §3.7).
 *
 * @example
 * ```ts
 * import { MAX_MESSAGE_BYTES } from '@gatehouse/protocol';
 * if (payload.length > MAX_MESSAGE_BYTES) throw new Error('too large');
 * ```
 */
export const MAX_MESSAGE_BYTES = 256 * 1024;

/**
 * Cloud-to-device messages kept per device while it is offline (IoT Hub's documented default
 * queue depth is 50).
 *
 * @example
 * ```ts
 * import { C2D_QUEUE_DEPTH } from '@gatehouse/protocol';
 * if (queue.length >= C2D_QUEUE_DEPTH) refuse();
 * ```
 */
export const C2D_QUEUE_DEPTH = 50;

/**
 * Longest device or module id (IoT Hub identity rules).
 *
 * @example
 * ```ts
 * import { MAX_DEVICE_ID_LENGTH } from '@gatehouse/protocol';
 * console.log(MAX_DEVICE_ID_LENGTH); // 128
 * ```
 */
export const MAX_DEVICE_ID_LENGTH = 128;

/**
 * Longest DPS registration id (PROTOCOL.md §7.1).
 *
 * @example
 * ```ts
 * import { MAX_REGISTRATION_ID_LENGTH } from '@gatehouse/protocol';
 * console.log(MAX_REGISTRATION_ID_LENGTH); // 128
 * ```
 */
export const MAX_REGISTRATION_ID_LENGTH = 128;

/**
 * Longest registration id usable with X.509 attestation, because it must equal the leaf's
 * subject CN and a CN is at most 64 characters (PROTOCOL.md §7.1).
 *
 * @example
 * ```ts
 * import { MAX_X509_REGISTRATION_ID_LENGTH, isValidRegistrationId } from '@gatehouse/protocol';
 * isValidRegistrationId(cn, { maxLength: MAX_X509_REGISTRATION_ID_LENGTH });
 * ```
 */
export const MAX_X509_REGISTRATION_ID_LENGTH = 64;

/**
 * Upper bound on the length of a SAS token we are willing to parse. Real tokens are a few
 * hundred characters (host ≤ 255, id ≤ 128, 44-character signature); this only bounds work
 * done on hostile input.
 *
 * @example
 * ```ts
 * import { MAX_SAS_TOKEN_LENGTH } from '@gatehouse/protocol';
 * console.log(MAX_SAS_TOKEN_LENGTH); // 4096
 * ```
 */
export const MAX_SAS_TOKEN_LENGTH = 4096;

/**
 * Subscriptions a hub device may hold at once (IoT Hub docs; the Node SDK uses at most four,
 * PROTOCOL.md §3.2, §3.7).
 *
 * @example
 * ```ts
 * import { MAX_SUBSCRIPTIONS_PER_DEVICE } from '@gatehouse/protocol';
 * if (session.filters.size >= MAX_SUBSCRIPTIONS_PER_DEVICE) grant = 0x80;
 * ```
 */
export const MAX_SUBSCRIPTIONS_PER_DEVICE = 5;

/**
 * MQTT keep-alive the SDK asks for, in seconds (PROTOCOL.md §1.2, §3.1).
 *
 * @example
 * ```ts
 * import { SDK_KEEPALIVE_SECONDS } from '@gatehouse/protocol';
 * console.log(SDK_KEEPALIVE_SECONDS); // 180
 * ```
 */
export const SDK_KEEPALIVE_SECONDS = 180;

/**
 * Largest keep-alive the hub honours, in seconds; the hub drops a silent client after
 * 1.5 × keep-alive (PROTOCOL.md §3.7).
 *
 * @example
 * ```ts
 * import { MAX_KEEPALIVE_SECONDS } from '@gatehouse/protocol';
 * const keepalive = Math.min(requested, MAX_KEEPALIVE_SECONDS);
 * ```
 */
export const MAX_KEEPALIVE_SECONDS = 1767;

/**
 * Factor applied to the negotiated keep-alive before a silent connection is closed
 * ([MQTT-3.1.2-24] asks for 1.5).
 *
 * @example
 * ```ts
 * import { KEEPALIVE_GRACE_FACTOR } from '@gatehouse/protocol';
 * const idleMs = keepaliveSeconds * KEEPALIVE_GRACE_FACTOR * 1000;
 * ```
 */
export const KEEPALIVE_GRACE_FACTOR = 1.5;

/**
 * Default lifetime of SAS tokens the SDK produces, in seconds (PROTOCOL.md §3.9, §6.1).
 *
 * @example
 * ```ts
 * import { DEFAULT_SAS_TTL_SECONDS, signSharedAccessSignature } from '@gatehouse/protocol';
 * const expiry = Math.floor(Date.now() / 1000) + DEFAULT_SAS_TTL_SECONDS;
 * ```
 */
export const DEFAULT_SAS_TTL_SECONDS = 3600;

/**
 * `retry-after` we suggest on DPS 202 answers, in seconds (value seen from real DPS,
 * PROTOCOL.md §1.6).
 *
 * @example
 * ```ts
 * import { DPS_RETRY_AFTER_SECONDS, dpsResponseTopic } from '@gatehouse/protocol';
 * dpsResponseTopic(202, rid, DPS_RETRY_AFTER_SECONDS);
 * ```
 */
export const DPS_RETRY_AFTER_SECONDS = 3;

/**
 * How long the SDK waits for any DPS response before failing with TimeoutError, in
 * milliseconds (PROTOCOL.md §1.6). A server must answer well within it.
 *
 * @example
 * ```ts
 * import { DPS_CLIENT_TIMEOUT_MS } from '@gatehouse/protocol';
 * console.log(DPS_CLIENT_TIMEOUT_MS); // 30000
 * ```
 */
export const DPS_CLIENT_TIMEOUT_MS = 30_000;

/**
 * Largest direct-method request or response payload in bytes (IoT Hub documents 128 KB).
 *
 * @example
 * ```ts
 * import { MAX_METHOD_PAYLOAD_BYTES } from '@gatehouse/protocol';
 * if (body.length > MAX_METHOD_PAYLOAD_BYTES) refuse();
 * ```
 */
export const MAX_METHOD_PAYLOAD_BYTES = 128 * 1024;
