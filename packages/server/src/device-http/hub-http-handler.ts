/**
 * The hub as the HTTPS device endpoint sees it (PROTOCOL.md §4). The hub service implements
 * it; hub-http.ts turns HTTP requests into these calls and their results (or errors) into
 * the answers azure-iot-device-http expects.
 */
import type { Certificate } from '@gatehouse/pki';

/** What the request carries to prove the device's identity; checked on every request. */
export interface HubHttpCredentials {
  /** The TLS client chain as sent, leaf first (PROTOCOL.md §7.4); empty without a certificate. */
  clientCertificates: Certificate[];
  /** The `Authorization` header verbatim (`SharedAccessSignature sr=…`), if sent. */
  authorization?: string;
  remoteAddress?: string;
}

/**
 * One device-to-cloud message. Property keys follow the MQTT property bag
 * (`@gatehouse/protocol` PropertyBag) so both transports store the same thing: system
 * properties under `$.mid`, `$.cid`, `$.uid`, `$.to`, `$.exp`, `$.ct`, `$.ce`, `$.ifid`,
 * `$.sub`; application properties by their name without the `iothub-app-` prefix.
 */
export interface HubHttpTelemetry {
  body: Buffer;
  systemProperties: Record<string, string>;
  applicationProperties: Record<string, string>;
}

/** A cloud-to-device message handed to a polling device, locked until settled. */
export interface HubHttpC2DMessage {
  /** Opaque; sent as `ETag: "<lockToken>"` and returned by the device to settle. */
  lockToken: string;
  messageId: string;
  body: Buffer;
  /** Application properties by name (sent as `iothub-app-<name>` headers). */
  properties: Record<string, string>;
  /** ISO 8601 expiry time, if the message has one. */
  expiry?: string;
  correlationId?: string;
}

/**
 * Errors: throw (or reject with) an error carrying a numeric `status` — 400, 401
 * (credentials refused), 403 (quota), 404 (unknown device; or code
 * `ERR_C2D_LOCK_TOKEN_UNKNOWN` for a lock token that is not current), 413, 429, 503 — and
 * optionally a stable `code`. Its `message` is sent to the device for statuses below 500;
 * anything else becomes 500 with a generic text.
 */
export interface HubHttpHandler {
  /** Resolves when the device may use the hub; throws with `status` 401 or 404 when refused. */
  authenticate(deviceId: string, credentials: HubHttpCredentials): Promise<void>;
  /** Resolves once the message is durable (the answer is 204 only then). */
  sendTelemetry(deviceId: string, message: HubHttpTelemetry): Promise<void>;
  /** The next message, locked for this device, or null when the queue is empty. */
  receiveC2D(deviceId: string): Promise<HubHttpC2DMessage | null>;
  /** `DELETE …/devicebound/<lockToken>`: delivered, drop it. */
  completeC2D(deviceId: string, lockToken: string): Promise<void>;
  /** `DELETE …/devicebound/<lockToken>?reject`: dead-letter it. */
  rejectC2D(deviceId: string, lockToken: string): Promise<void>;
  /** `POST …/devicebound/<lockToken>/abandon`: unlock it for a later receive. */
  abandonC2D(deviceId: string, lockToken: string): Promise<void>;
}
