import { arch, platform } from 'node:os';

/**
 * Name and version this SDK announces on the wire, in the same places the Azure SDK announces
 * its own: `ClientVersion=` in the DPS username (PROTOCOL.md §1.2) and `DeviceClientType=` in
 * the hub username (§3.1).
 *
 * @example
 * ```ts
 * import { DEVICE_SDK_VERSION } from '@gatehouse/device';
 * console.log(DEVICE_SDK_VERSION); // 'gatehouse-device/0.1.0'
 * ```
 */
export const DEVICE_SDK_VERSION = 'gatehouse-device/0.1.0';

/**
 * The user-agent string of the hub username, shaped like the Azure SDK's
 * `azure-iot-device/1.18.4 (node v20.20.2; Debian 12; x64)`.
 *
 * @example
 * ```ts
 * import { deviceUserAgent } from '@gatehouse/device';
 * deviceUserAgent(); // 'gatehouse-device/0.1.0 (node v20.20.2; linux; x64)'
 * ```
 */
export function deviceUserAgent(): string {
  return `${DEVICE_SDK_VERSION} (node ${process.version}; ${platform()}; ${arch()})`;
}
