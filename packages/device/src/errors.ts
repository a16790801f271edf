/**
 * Every error the device SDK raises is a {@link DeviceError} with a stable `ERR_DEVICE_*` code
 * (STYLE.md §5), so callers `switch (err.code)` instead of matching message text.
 */

/**
 * The error codes of `@gatehouse/device` and what each means. The table is the documentation:
 * a code is never reused for another meaning.
 *
 * @example
 * ```ts
 * import { DEVICE_ERROR_CODES } from '@gatehouse/device';
 * for (const [code, meaning] of Object.entries(DEVICE_ERROR_CODES)) console.log(code, meaning);
 * ```
 */
export const DEVICE_ERROR_CODES = {
  ERR_DEVICE_INVALID_ARGUMENT:
    'an option, connection string, message or method result cannot be used (nothing was sent)',
  ERR_DEVICE_CONNECT_FAILED:
    'the MQTT/TLS connection could not be made or broke before CONNACK (DNS, refused port, TLS trust)',
  ERR_DEVICE_UNAUTHORIZED:
    'the server refused the credentials at CONNECT (CONNACK 4 or 5); the hub client stops reconnecting',
  ERR_DEVICE_CONNECTION_REFUSED: 'CONNACK with a refusal other than "not authorized" (1, 2 or 3)',
  ERR_DEVICE_NOT_OPEN: 'a hub operation was called before open() or after close()',
  ERR_DEVICE_CLOSED: 'close() was called while the operation was still pending',
  ERR_DEVICE_TIMEOUT: 'no answer (PUBACK, SUBACK or response) arrived within the time limit',
  ERR_DEVICE_SUBSCRIBE_FAILED: 'the server refused a subscription (SUBACK 0x80)',
  ERR_DEVICE_REGISTRATION_REFUSED:
    'provisioning answered 300–428: the DPS error body is in `result`, its code in `errorCode`',
  ERR_DEVICE_REGISTRATION_FAILED:
    'provisioning finished with status failed, disabled or unassigned instead of assigned',
  ERR_DEVICE_TWIN_FAILED: 'a twin request was answered with an error (status ≥ 300 or a body with errorCode)',
  ERR_DEVICE_PROTOCOL: 'the server sent something the wire contract does not allow (e.g. non-JSON body)',
  ERR_DEVICE_MESSAGE_TOO_LARGE: 'a telemetry message is larger than 256 KiB',
} as const satisfies Record<string, string>;

/**
 * One of the stable codes in {@link DEVICE_ERROR_CODES}.
 *
 * @example
 * ```ts
 * import type { DeviceErrorCode } from '@gatehouse/device';
 * const retryable: DeviceErrorCode[] = ['ERR_DEVICE_TIMEOUT', 'ERR_DEVICE_CONNECT_FAILED'];
 * ```
 */
export type DeviceErrorCode = keyof typeof DEVICE_ERROR_CODES;

/**
 * Extra facts an error may carry, each present only when it applies.
 *
 * @example
 * ```ts
 * import type { DeviceErrorDetails } from '@gatehouse/device';
 * const details: DeviceErrorDetails = { status: 401, errorCode: 401002 };
 * ```
 */
export interface DeviceErrorDetails {
  /** The underlying error (MQTT.js, TLS, JSON). */
  cause?: unknown;
  /** Status from a DPS response topic or a twin response topic. */
  status?: number;
  /** Numeric `errorCode` from a DPS or twin error body (status × 1000 + detail). */
  errorCode?: number;
  /** DPS `trackingId`, to quote when asking the operator what happened. */
  trackingId?: string;
  /** MQTT CONNACK return code (1–5) when the server refused the connection. */
  connackCode?: number;
  /** The parsed response body (DPS error details, failed registration, twin error). */
  result?: unknown;
}

/**
 * The one error class of the device SDK: a stable `code`, a readable message, and the details
 * that apply. `cause` keeps the internal error for logs.
 *
 * @example
 * ```ts
 * import { DeviceError } from '@gatehouse/device';
 * try {
 *   await provisioning.register();
 * } catch (err) {
 *   if (err instanceof DeviceError && err.code === 'ERR_DEVICE_REGISTRATION_REFUSED') {
 *     console.error(err.status, err.errorCode, err.message);
 *   }
 * }
 * ```
 */
export class DeviceError extends Error {
  /** Stable machine-readable code; never changes meaning once released. */
  readonly code: DeviceErrorCode;
  readonly status: number | undefined;
  readonly errorCode: number | undefined;
  readonly trackingId: string | undefined;
  readonly connackCode: number | undefined;
  readonly result: unknown;

  constructor(code: DeviceErrorCode, message: string, details: DeviceErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'DeviceError';
    this.code = code;
    this.status = details.status;
    this.errorCode = details.errorCode;
    this.trackingId = details.trackingId;
    this.connackCode = details.connackCode;
    this.result = details.result;
  }
}

/**
 * Whether `err` is a {@link DeviceError}, optionally with a given code.
 *
 * @example
 * ```ts
 * import { isDeviceError } from '@gatehouse/device';
 * client.on('error', (err) => {
 *   if (isDeviceError(err, 'ERR_DEVICE_UNAUTHORIZED')) console.error('credentials revoked');
 * });
 * ```
 */
export function isDeviceError(err: unknown, code?: DeviceErrorCode): err is DeviceError {
  return err instanceof DeviceError && (code === undefined || err.code === code);
}
