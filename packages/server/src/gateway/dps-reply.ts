/**
 * Encodes a DpsReply as the MQTT publish the SDK expects (PROTOCOL.md §1.5):
 * `$dps/registrations/res/<status>/?$rid=<rid>[&retry-after=<n>]` with a JSON body — always
 * valid JSON, because the SDK JSON-parses every response before looking at the status and an
 * empty or non-JSON body crashes the device process.
 */
import {
  DPS_ERROR_CODES,
  DPS_RETRY_AFTER_SECONDS,
  dpsErrorBody,
  dpsResponseTopic,
} from '@gatehouse/protocol';

import type { DpsReply } from '../provisioning/dps-handler.js';

export interface EncodedDpsReply {
  topic: string;
  payload: string;
}

/**
 * The answer when the service fails unexpectedly: 500 with a DPS error body and a
 * retry-after, since the SDK retries any status ≥ 429 (PROTOCOL.md §1.8).
 */
export function internalErrorReply(trackingId?: string): DpsReply {
  const { errorCode, status, message } = DPS_ERROR_CODES.INTERNAL_SERVER_ERROR;
  return {
    status,
    body: { ...dpsErrorBody(errorCode, message, trackingId) },
    retryAfterSeconds: DPS_RETRY_AFTER_SECONDS,
  };
}

/** Throws when the reply cannot go on the wire (status outside 100–599, bad retry-after, unserialisable body). */
export function encodeDpsReply(rid: string, reply: DpsReply): EncodedDpsReply {
  const topic = dpsResponseTopic(reply.status, rid, reply.retryAfterSeconds);
  const body: unknown = reply.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new TypeError('a DPS reply body must be a JSON object');
  }
  const payload = JSON.stringify(body);
  return { topic, payload };
}
