/**
 * DPS request and response bodies (PROTOCOL.md §1.4, §1.7, §1.9, §7.1).
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';

import { ProtocolError } from './errors.js';
import { MAX_REGISTRATION_ID_LENGTH } from './limits.js';

/**
 * Registration and operation status values. The SDK lower-cases and branches on these, not
 * on the topic status (PROTOCOL.md §1.6).
 *
 * @example
 * ```ts
 * import type { RegistrationStatus } from '@gatehouse/protocol';
 * const s: RegistrationStatus = 'assigned';
 * ```
 */
export type RegistrationStatus = 'unassigned' | 'assigning' | 'assigned' | 'failed' | 'disabled';

/**
 * Why a device was (re)assigned.
 *
 * @example
 * ```ts
 * import type { RegistrationSubstatus } from '@gatehouse/protocol';
 * const s: RegistrationSubstatus = 'initialAssignment';
 * ```
 */
export type RegistrationSubstatus =
  'initialAssignment' | 'deviceDataMigrated' | 'deviceDataReset' | 'reprovisionedToInitialAssignment';

/**
 * Details of one certificate as DPS reports it.
 *
 * @example
 * ```ts
 * import type { X509CertificateInfo } from '@gatehouse/protocol';
 * const info: Partial<X509CertificateInfo> = { subjectName: 'CN=dev-1' };
 * ```
 */
export interface X509CertificateInfo {
  subjectName: string;
  sha1Thumbprint: string;
  sha256Thumbprint: string;
  issuerName: string;
  notBeforeUtc: string;
  notAfterUtc: string;
  serialNumber: string;
  version: number;
}

/**
 * `registrationState.x509`; real DPS often sends `{}` (PROTOCOL.md §1.7).
 *
 * @example
 * ```ts
 * import type { X509RegistrationResult } from '@gatehouse/protocol';
 * const x509: X509RegistrationResult = { enrollmentGroupId: 'MyX509Group' };
 * ```
 */
export interface X509RegistrationResult {
  certificateInfo?: X509CertificateInfo;
  enrollmentGroupId?: string;
  signingCertificateInfo?: X509CertificateInfo;
}

/**
 * `registrationState.symmetricKey`.
 *
 * @example
 * ```ts
 * import type { SymmetricKeyRegistrationResult } from '@gatehouse/protocol';
 * const sk: SymmetricKeyRegistrationResult = { enrollmentGroupId: 'MySasGroup' };
 * ```
 */
export interface SymmetricKeyRegistrationResult {
  enrollmentGroupId?: string;
}

/**
 * The `registrationState` object; `register()` in the SDK resolves with exactly this
 * (PROTOCOL.md §1.7). Timestamps are ISO-8601 UTC.
 *
 * @example
 * ```ts
 * import type { DeviceRegistrationResult } from '@gatehouse/protocol';
 * const state: DeviceRegistrationResult = {
 *   registrationId: 'dev-1', assignedHub: 'gatehouse.local', deviceId: 'dev-1', status: 'assigned',
 * };
 * ```
 */
export interface DeviceRegistrationResult {
  registrationId: string;
  createdDateTimeUtc?: string;
  lastUpdatedDateTimeUtc?: string;
  /** Host name the device must connect to; used verbatim as `HostName=`. */
  assignedHub?: string;
  deviceId?: string;
  status: RegistrationStatus;
  substatus?: RegistrationSubstatus;
  etag?: string;
  payload?: Record<string, unknown>;
  /** Present when `status` is `failed`. */
  errorCode?: number;
  errorMessage?: string;
  x509?: X509RegistrationResult;
  symmetricKey?: SymmetricKeyRegistrationResult;
  tpm?: { authenticationKey: string };
}

/**
 * The body of every DPS 200/202 answer.
 *
 * @example
 * ```ts
 * import type { RegistrationOperationStatus } from '@gatehouse/protocol';
 * const body: RegistrationOperationStatus = { operationId: '5.abc.1', status: 'assigning' };
 * ```
 */
export interface RegistrationOperationStatus {
  /** URL-safe (letters, digits, `.`, `-`): the SDK puts it unencoded into topics and URLs. */
  operationId: string;
  status: RegistrationStatus;
  registrationState?: DeviceRegistrationResult;
}

/**
 * The body of every DPS error answer (never empty: an empty body crashes the SDK, §1.5).
 *
 * @example
 * ```ts
 * import type { ProvisioningServiceErrorDetails } from '@gatehouse/protocol';
 * const e: ProvisioningServiceErrorDetails = {
 *   errorCode: 401000, trackingId: 't', message: 'Unauthorized', timestampUtc: new Date().toISOString(),
 * };
 * ```
 */
export interface ProvisioningServiceErrorDetails {
  errorCode: number;
  trackingId: string;
  message: string;
  timestampUtc: string;
  info?: Record<string, string>;
}

/**
 * A register request body: `{"registrationId":"…","payload":{…}?}`.
 *
 * @example
 * ```ts
 * import type { RegisterRequest } from '@gatehouse/protocol';
 * const req: RegisterRequest = { registrationId: 'dev-1', payload: { modelId: 'dtmi:x;1' } };
 * ```
 */
export interface RegisterRequest {
  registrationId: string;
  /** Custom payload from `setProvisioningPayload()`, if any. */
  payload?: Record<string, unknown>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses a register request body (MQTT payload or HTTPS body). Unknown fields (e.g. `tpm`)
 * are ignored; `"payload": null` is treated as absent. The registration id's character set
 * is not checked here — see {@link isValidRegistrationId}.
 *
 * @throws {@link ProtocolError} `ERR_DPS_REQUEST_MALFORMED` for invalid JSON, a non-object,
 *   a missing/empty/non-string `registrationId` or a non-object `payload`.
 * @example
 * ```ts
 * import { parseRegisterRequest } from '@gatehouse/protocol';
 * parseRegisterRequest(Buffer.from('{"registrationId":"dev-1"}')); // → { registrationId: 'dev-1' }
 * ```
 */
export function parseRegisterRequest(payload: Buffer): RegisterRequest {
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch (cause) {
    throw new ProtocolError('ERR_DPS_REQUEST_MALFORMED', 'register request body is not valid JSON', {
      cause,
    });
  }
  if (!isPlainObject(body)) {
    throw new ProtocolError('ERR_DPS_REQUEST_MALFORMED', 'register request body must be a JSON object');
  }
  const { registrationId, payload: custom } = body;
  if (typeof registrationId !== 'string' || registrationId === '') {
    throw new ProtocolError('ERR_DPS_REQUEST_MALFORMED', 'registrationId must be a non-empty string');
  }
  const request: RegisterRequest = { registrationId };
  if (custom !== undefined && custom !== null) {
    if (!isPlainObject(custom)) {
      throw new ProtocolError('ERR_DPS_REQUEST_MALFORMED', 'payload must be a JSON object');
    }
    request.payload = custom;
  }
  return request;
}

/**
 * Builds a ProvisioningServiceErrorDetails body with a fresh `trackingId` (unless given) and
 * `timestampUtc` = now.
 *
 * @example
 * ```ts
 * import { dpsErrorBody, DPS_ERROR_CODES, dpsResponseTopic } from '@gatehouse/protocol';
 * const body = dpsErrorBody(DPS_ERROR_CODES.UNAUTHORIZED.errorCode, 'Unauthorized');
 * client.publish(dpsResponseTopic(401, rid), JSON.stringify(body));
 * ```
 */
export function dpsErrorBody(
  errorCode: number,
  message: string,
  trackingId: string = randomUUID(),
  now: Date = new Date(),
): ProvisioningServiceErrorDetails {
  return { errorCode, trackingId, message, timestampUtc: now.toISOString() };
}

const REGISTRATION_ID = /^[A-Za-z0-9\-._:]*[A-Za-z0-9-]$/;

/**
 * Checks a DPS registration id: alphanumerics and `- . _ :`, at most `maxLength` (default
 * 128; use 64 for X.509 because it must equal the CN), last character alphanumeric or `-`
 * (PROTOCOL.md §7.1).
 *
 * @example
 * ```ts
 * import { isValidRegistrationId } from '@gatehouse/protocol';
 * isValidRegistrationId('sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6'); // true
 * isValidRegistrationId('dev.'); // false
 * ```
 */
export function isValidRegistrationId(id: string, options: { maxLength?: number } = {}): boolean {
  const { maxLength = MAX_REGISTRATION_ID_LENGTH } = options;
  return id.length <= maxLength && REGISTRATION_ID.test(id);
}

/**
 * One row of {@link DPS_ERROR_CODES}.
 *
 * @example
 * ```ts
 * import type { DpsErrorCodeInfo } from '@gatehouse/protocol';
 * const row: DpsErrorCodeInfo = { errorCode: 400004, status: 400, name: 'BadRequest', message: 'Bad request.' };
 * ```
 */
export interface DpsErrorCodeInfo {
  /** Numeric DPS code = HTTP status × 1000 + detail. */
  errorCode: number;
  /** Status to put in the response topic / HTTP status line. */
  status: number;
  name: string;
  /** Default user-facing message. */
  message: string;
}

/**
 * The DPS error codes Gatehouse emits. Only these are attested from real DPS (PROTOCOL.md
 * §1.9, §11); the SDK itself never inspects `errorCode`, only the topic/HTTP status.
 *
 * @example
 * ```ts
 * import { DPS_ERROR_CODES, dpsErrorBody, dpsResponseTopic } from '@gatehouse/protocol';
 * const { errorCode, status, message } = DPS_ERROR_CODES.INVALID_CERTIFICATE;
 * publish(dpsResponseTopic(status, rid), JSON.stringify(dpsErrorBody(errorCode, message)));
 * ```
 */
export const DPS_ERROR_CODES = {
  BAD_REQUEST: { errorCode: 400004, status: 400, name: 'BadRequest', message: 'Bad request.' },
  UNAUTHORIZED: { errorCode: 401000, status: 401, name: 'Unauthorized', message: 'Unauthorized' },
  INVALID_CERTIFICATE: {
    errorCode: 401002,
    status: 401,
    name: 'InvalidCertificate',
    message: 'Invalid certificate.',
  },
  NOT_FOUND: { errorCode: 404201, status: 404, name: 'NotFound', message: 'Not found.' },
  THROTTLED: { errorCode: 429001, status: 429, name: 'Throttled', message: 'Too many requests.' },
  INTERNAL_SERVER_ERROR: {
    errorCode: 500000,
    status: 500,
    name: 'InternalServerError',
    message: 'Internal server error.',
  },
} as const satisfies Record<string, DpsErrorCodeInfo>;
