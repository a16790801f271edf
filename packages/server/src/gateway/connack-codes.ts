/**
 * CONNACK return codes of MQTT 3.1.1 (§3.2.2.3, Table 3.1) and the SDK's reading of them
 * (PROTOCOL.md §3.8): 4 and 5 become `UnauthorizedError` (no retry), 3 is retried with
 * back-off, so 3 is reserved for "our fault, try again".
 */
export const CONNACK = {
  ACCEPTED: 0,
  /** [MQTT-3.1.2-2] the protocol level is not 4 (3.1.1). */
  UNACCEPTABLE_PROTOCOL_VERSION: 1,
  /** [MQTT-3.1.3-9] the client identifier is not allowed (DPS: not the registration ID). */
  IDENTIFIER_REJECTED: 2,
  /** The service is unavailable: the SDK retries with exponential back-off. */
  SERVER_UNAVAILABLE: 3,
  BAD_USERNAME_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5,
} as const;

export type ConnackCode = (typeof CONNACK)[keyof typeof CONNACK];
