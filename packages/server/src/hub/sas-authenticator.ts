import {
  hubSasResource,
  isProtocolError,
  parseSharedAccessSignature,
  sasResourceMatches,
  verifySharedAccessSignature,
} from '@gatehouse/protocol';
import type { HubConnectIdentity } from '../gateway/gateway-options.js';
import type { DeviceRow } from '../provisioning/provisioning-store.js';
import type { DeviceAuthenticator } from './device-authentication.js';

/** A few seconds of clock skew between device and server are forgiven. */
const CLOCK_SKEW_SECONDS = 30;

/**
 * SAS device authentication (PROTOCOL.md §3.1, §6.1): the CONNECT password is
 * `SharedAccessSignature sr=<urlenc host/devices/id>&sig=…&se=…`, signed with
 * the device's primary or secondary key (for group devices the derived key
 * provisioning stored). The HMAC covers `sr` exactly as written; the resource
 * must be this device on the host of the username; an expired token is
 * refused. The token is checked at CONNECT only: one that expires while
 * connected does not end the session — the SDK renews it by reconnecting
 * (§3.9).
 */
export class SasAuthenticator implements DeviceAuthenticator {
  readonly method = 'sas';

  constructor(private readonly now: () => Date = () => new Date()) {}

  applies(identity: HubConnectIdentity): boolean {
    return identity.password !== undefined && identity.peerCertificates.length === 0;
  }

  async authenticate(device: DeviceRow, identity: HubConnectIdentity): Promise<string | undefined> {
    if (device.auth_type !== 'sas' || !device.sas_primary_key || !device.sas_secondary_key) {
      return `device '${device.id}' has no symmetric keys (it authenticates with X.509 certificates, or has not provisioned)`;
    }
    let token;
    try {
      token = parseSharedAccessSignature(identity.password ?? '');
    } catch (err) {
      return `malformed SAS token: ${(err as Error).message}`;
    }
    const expected = hubSasResource(identity.username.hostName, device.id);
    if (!sasResourceMatches(token.sr, expected)) {
      return `the token grants '${token.sr}', not '${expected}' (a DPS token, or another device's)`;
    }
    if (token.skn !== undefined) {
      return `shared access policies (skn=${token.skn}) are not accepted for devices; sign with the device key`;
    }
    try {
      verifySharedAccessSignature(token, {
        keys: [device.sas_primary_key, device.sas_secondary_key],
        now: Math.floor(this.now().getTime() / 1000),
        clockSkewSeconds: CLOCK_SKEW_SECONDS,
      });
    } catch (err) {
      if (isProtocolError(err, 'ERR_SAS_EXPIRED'))
        return `the token expired at ${new Date(token.se * 1000).toISOString()}`;
      return 'the signature matches neither device key';
    }
    return undefined;
  }
}
