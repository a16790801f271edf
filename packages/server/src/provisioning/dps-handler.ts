import type { Certificate } from '@gatehouse/pki';

/** Which device transport carried a provisioning request. */
export type DeviceTransport = 'mqtt' | 'mqtt-ws' | 'https';

/**
 * What the transport layer knows about the device when a provisioning request
 * arrives: the ID scope and registration ID from the MQTT username (or HTTPS
 * path), the client certificate chain the TLS handshake presented (leaf first,
 * in the order sent; PROTOCOL.md §7.4) and the SAS password if any.
 */
export interface DpsRequestContext {
  idScope: string;
  registrationId: string;
  transport: DeviceTransport;
  clientCertificates: Certificate[];
  /** MQTT CONNECT password or HTTP `Authorization` header (SAS), if sent. */
  sasToken?: string;
  /** Remote address for diagnostics. */
  remoteAddress?: string;
}

/**
 * One answer to a provisioning request, transport-neutral: MQTT publishes it on
 * `$dps/registrations/res/<status>/?$rid=…[&retry-after=N]`, HTTPS as the
 * status line, a JSON body and a `Retry-After` header. `body` is always a JSON
 * object (PROTOCOL.md §1.5: the SDK JSON-parses every response).
 */
export interface DpsReply {
  status: number;
  body: Record<string, unknown>;
  retryAfterSeconds?: number;
}

/** The provisioning service as the gateway sees it. */
export interface DpsHandler {
  /** `$dps/registrations/PUT/iotdps-register/?$rid=…` with its raw payload. */
  register(ctx: DpsRequestContext, payload: Buffer): Promise<DpsReply>;
  /** `$dps/registrations/GET/iotdps-get-operationstatus/?$rid=…&operationId=…`. */
  operationStatus(ctx: DpsRequestContext, operationId: string): Promise<DpsReply>;
  /** A protocol violation that closed the connection (QoS 2, a foreign topic), for the diagnostics. */
  recordViolation?(ctx: DpsRequestContext, code: string, message: string): Promise<void>;
}
