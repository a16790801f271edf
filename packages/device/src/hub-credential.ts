/**
 * The ways a hub device proves who it is at CONNECT (PROTOCOL.md §6.1, §7.2). Internal.
 */
import { DEFAULT_SAS_TTL_SECONDS, hubSasResource, signSharedAccessSignature } from '@gatehouse/protocol';

import { DeviceError } from './errors.js';
import type { HubClientOptions } from './hub-client-options.js';
import type { SessionCredential } from './hub-session.js';

/** Renew at 75 % of the token's life: 2 700 s of 3 600, the SDK's 900 s margin (§3.9). */
const RENEW_AT_FRACTION = 0.75;

/**
 * How each CONNECT gets its password (§6.1): with a device key, a fresh token whose `sr` is the
 * *encoded* `<host>/devices/<id>`, no `skn`, `se = floor(now) + ttl`, renewed at 75 % of `ttl`;
 * a fixed token as given; nothing for X.509.
 */
export function hubCredential(options: HubClientOptions): SessionCredential {
  const { symmetricKey, sharedAccessSignature } = options;
  if (symmetricKey !== undefined) {
    const ttl = options.tokenValidSeconds ?? DEFAULT_SAS_TTL_SECONDS;
    const resource = encodeURIComponent(hubSasResource(options.host, options.deviceId));
    return {
      password() {
        const now = Date.now();
        let password;
        try {
          password = signSharedAccessSignature({
            resource,
            key: symmetricKey,
            expiry: Math.floor(now / 1000) + ttl,
          });
        } catch (cause) {
          throw new DeviceError('ERR_DEVICE_INVALID_ARGUMENT', 'the device key is not base64', { cause });
        }
        return { password, renewAt: now + ttl * 1000 * RENEW_AT_FRACTION };
      },
    };
  }
  if (sharedAccessSignature !== undefined) return { password: () => ({ password: sharedAccessSignature }) };
  return { password: () => ({}) };
}
