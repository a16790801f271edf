/**
 * `@gatehouse/device`: the Gatehouse device SDK — provisioning and hub client over MQTT/TLS,
 * speaking exactly what the Azure IoT Node.js device SDK speaks (PROTOCOL.md §1, §3, §6).
 *
 * @packageDocumentation
 */
export * from './errors.js';
export * from './version.js';
export * from './backoff.js';
export * from './pem-input.js';
export * from './registration-result.js';
export * from './provisioning-client.js';
export * from './telemetry-message.js';
export * from './cloud-to-device-message.js';
export * from './device-twin.js';
export * from './device-method.js';
export * from './hub-client-options.js';
export * from './hub-client.js';
export type { ConnectReason } from './hub-session.js';
