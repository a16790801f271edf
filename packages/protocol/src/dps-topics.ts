/**
 * DPS MQTT topics (PROTOCOL.md §1.3–§1.6).
 *
 * @packageDocumentation
 */
import { isStatusCode, parseQuery } from './encoding.js';
import { ProtocolError } from './errors.js';

const REGISTER_PREFIX = '$dps/registrations/PUT/iotdps-register/?';
const STATUS_PREFIX = '$dps/registrations/GET/iotdps-get-operationstatus/?';
const RESPONSE_PREFIX = '$dps/registrations/res/';

/**
 * The only filter a DPS client subscribes to (QoS 1) and the only one a DPS session may hold.
 *
 * @example
 * ```ts
 * import { DPS_RESPONSE_FILTER } from '@gatehouse/protocol';
 * const allowed = filter === DPS_RESPONSE_FILTER;
 * ```
 */
export const DPS_RESPONSE_FILTER = '$dps/registrations/res/#';

/**
 * A device→DPS request recognised from its topic.
 *
 * @example
 * ```ts
 * import type { DpsRequestTopic } from '@gatehouse/protocol';
 * const t: DpsRequestTopic = { kind: 'operationStatus', rid: 'r1', operationId: '5.abc.1' };
 * ```
 */
export type DpsRequestTopic =
  { kind: 'register'; rid: string } | { kind: 'operationStatus'; rid: string; operationId: string };

/**
 * Recognises `$dps/registrations/PUT/iotdps-register/?$rid=<rid>` and
 * `$dps/registrations/GET/iotdps-get-operationstatus/?$rid=<rid>&operationId=<id>`.
 * Any other topic, a missing/empty `$rid` or `operationId`, or malformed percent-encoding
 * yields `null`.
 *
 * @example
 * ```ts
 * import { parseDpsRequestTopic } from '@gatehouse/protocol';
 * parseDpsRequestTopic('$dps/registrations/PUT/iotdps-register/?$rid=6f1c0f56-3f0e-4b53-9a57-2d1b3e0f7a10');
 * // → { kind: 'register', rid: '6f1c0f56-3f0e-4b53-9a57-2d1b3e0f7a10' }
 * ```
 */
export function parseDpsRequestTopic(topic: string): DpsRequestTopic | null {
  if (topic.startsWith(REGISTER_PREFIX)) {
    const query = parseQuery(topic.slice(REGISTER_PREFIX.length));
    const rid = query?.['$rid'];
    return rid ? { kind: 'register', rid } : null;
  }
  if (topic.startsWith(STATUS_PREFIX)) {
    const query = parseQuery(topic.slice(STATUS_PREFIX.length));
    const rid = query?.['$rid'];
    const operationId = query?.['operationId'];
    return rid && operationId ? { kind: 'operationStatus', rid, operationId } : null;
  }
  return null;
}

function checkRid(rid: string): void {
  if (rid === '') throw new ProtocolError('ERR_PROTOCOL_INVALID_ARGUMENT', 'request id must not be empty');
}

/**
 * Builds the DPS→device response topic `$dps/registrations/res/<status>/?$rid=<rid>[&retry-after=N]`.
 * The rid is percent-encoded (the SDK reads the query with `querystring.parse`, which decodes),
 * so it round-trips with {@link parseDpsRequestTopic}.
 *
 * @throws {@link ProtocolError} `ERR_PROTOCOL_INVALID_ARGUMENT` for a status outside 100–599,
 *   an empty rid or a negative/non-finite retry-after.
 * @example
 * ```ts
 * import { dpsResponseTopic } from '@gatehouse/protocol';
 * dpsResponseTopic(202, 'b1e02da8-5d0e-4c53-8f5e-0f5b8ee1f1aa', 3);
 * // '$dps/registrations/res/202/?$rid=b1e02da8-5d0e-4c53-8f5e-0f5b8ee1f1aa&retry-after=3'
 * ```
 */
export function dpsResponseTopic(status: number, rid: string, retryAfterSeconds?: number): string {
  if (!isStatusCode(status)) {
    throw new ProtocolError('ERR_PROTOCOL_INVALID_ARGUMENT', `invalid status ${status}`);
  }
  checkRid(rid);
  let topic = `${RESPONSE_PREFIX}${status}/?$rid=${encodeURIComponent(rid)}`;
  if (retryAfterSeconds !== undefined) {
    if (!Number.isFinite(retryAfterSeconds) || retryAfterSeconds < 0) {
      throw new ProtocolError('ERR_PROTOCOL_INVALID_ARGUMENT', 'retry-after must be a non-negative number');
    }
    topic += `&retry-after=${retryAfterSeconds}`;
  }
  return topic;
}

/**
 * Device side: the register request topic `$dps/registrations/PUT/iotdps-register/?$rid=<rid>`.
 *
 * @example
 * ```ts
 * import { dpsRegisterTopic } from '@gatehouse/protocol';
 * import { randomUUID } from 'node:crypto';
 * client.publish(dpsRegisterTopic(randomUUID()), JSON.stringify({ registrationId }), { qos: 1 });
 * ```
 */
export function dpsRegisterTopic(rid: string): string {
  checkRid(rid);
  return `${REGISTER_PREFIX}$rid=${encodeURIComponent(rid)}`;
}

/**
 * Device side: the operation-status poll topic
 * `$dps/registrations/GET/iotdps-get-operationstatus/?$rid=<rid>&operationId=<id>`.
 *
 * @example
 * ```ts
 * import { dpsOperationStatusTopic } from '@gatehouse/protocol';
 * dpsOperationStatusTopic('r2', '5.316aac5bdc130deb.b1e02da8');
 * // '$dps/registrations/GET/iotdps-get-operationstatus/?$rid=r2&operationId=5.316aac5bdc130deb.b1e02da8'
 * ```
 */
export function dpsOperationStatusTopic(rid: string, operationId: string): string {
  checkRid(rid);
  if (operationId === '') {
    throw new ProtocolError('ERR_PROTOCOL_INVALID_ARGUMENT', 'operationId must not be empty');
  }
  return `${STATUS_PREFIX}$rid=${encodeURIComponent(rid)}&operationId=${encodeURIComponent(operationId)}`;
}

/**
 * A DPS→device response recognised from its topic.
 *
 * @example
 * ```ts
 * import type { DpsResponseTopic } from '@gatehouse/protocol';
 * const t: DpsResponseTopic = { status: 202, rid: 'r1', retryAfterSeconds: 3 };
 * ```
 */
export interface DpsResponseTopic {
  status: number;
  rid: string;
  /** `retry-after` in seconds (may be fractional), when present and numeric. */
  retryAfterSeconds?: number;
}

/**
 * Device side: parses `$dps/registrations/res/<status>/?$rid=<rid>[&retry-after=N]`
 * (PROTOCOL.md §1.5); `null` for anything else or without `$rid`.
 *
 * @example
 * ```ts
 * import { parseDpsResponseTopic } from '@gatehouse/protocol';
 * parseDpsResponseTopic('$dps/registrations/res/202/?$rid=r1&retry-after=3');
 * // → { status: 202, rid: 'r1', retryAfterSeconds: 3 }
 * ```
 */
export function parseDpsResponseTopic(topic: string): DpsResponseTopic | null {
  if (!topic.startsWith(RESPONSE_PREFIX)) return null;
  const rest = topic.slice(RESPONSE_PREFIX.length);
  const sep = rest.indexOf('/?');
  if (sep === -1) return null;
  const statusText = rest.slice(0, sep);
  if (!/^[0-9]{3}$/.test(statusText)) return null;
  const query = parseQuery(rest.slice(sep + 2));
  const rid = query?.['$rid'];
  if (!rid) return null;
  const result: DpsResponseTopic = { status: Number(statusText), rid };
  const retryAfter = query?.['retry-after'];
  if (retryAfter !== undefined && retryAfter !== '' && Number.isFinite(Number(retryAfter))) {
    result.retryAfterSeconds = Number(retryAfter);
  }
  return result;
}
