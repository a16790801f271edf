/**
 * IoT Hub device and module identifiers.
 *
 * @packageDocumentation
 */
import { MAX_DEVICE_ID_LENGTH } from './limits.js';

// IoT Hub identity rules: ASCII alphanumerics plus - . % _ * ? ! ( ) , : = @ $ '.
// `+`, `#` and `/` are deliberately absent: an id containing them would turn the device's own
// topic filters into wildcards or extra topic levels.
const DEVICE_ID = /^[A-Za-z0-9\-.%_*?!(),:=@$']+$/;

/**
 * Is `id` a valid IoT Hub device id (1–128 characters from the hub's allowed set)?
 *
 * @example
 * ```ts
 * import { isValidDeviceId } from '@gatehouse/protocol';
 * isValidDeviceId('my-sym-device'); // true
 * isValidDeviceId('+'); // false (would be an MQTT wildcard)
 * ```
 */
export function isValidDeviceId(id: string): boolean {
  return id.length <= MAX_DEVICE_ID_LENGTH && DEVICE_ID.test(id);
}

/**
 * Is `id` a valid IoT Hub module id? Same rules as device ids.
 *
 * @example
 * ```ts
 * import { isValidModuleId } from '@gatehouse/protocol';
 * isValidModuleId('filter-module'); // true
 * ```
 */
export function isValidModuleId(id: string): boolean {
  return isValidDeviceId(id);
}
