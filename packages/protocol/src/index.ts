/**
 * `@gatehouse/protocol`: the Azure IoT device wire contract (PROTOCOL.md) as pure functions,
 * shared by the Gatehouse server and device SDK. No runtime dependencies.
 *
 * @packageDocumentation
 */
export * from './errors.js';
export * from './limits.js';
export * from './sas.js';
export * from './symmetric-key.js';
export * from './username.js';
export * from './device-id.js';
export * from './dps-topics.js';
export * from './dps-messages.js';
export * from './property-bag.js';
export * from './hub-topics.js';
export * from './connection-string.js';
