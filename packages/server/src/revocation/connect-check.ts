/**
 * The hub's revocation check at CONNECT (and when live sessions are checked again,
 * session-sweep.ts): the enrollment group the device was provisioned through must still be
 * enabled, and no certificate of the presented chain may be on an imported CRL. It runs on
 * every CONNECT, so neither a resumed TLS session nor a SAS token signed before the revocation
 * gets past it (HARDENING.md §8 R3).
 */
import type { HubConnectIdentity } from '../gateway/gateway-options.js';
import type { ConnectCheck } from '../hub/device-authentication.js';
import type { DeviceRow } from '../provisioning/provisioning-store.js';
import type { RevocationStore } from './revocation-store.js';
import type { RevocationService } from './revocation-service.js';

export class RevocationConnectCheck implements ConnectCheck {
  constructor(
    private readonly store: RevocationStore,
    private readonly revocation: RevocationService,
  ) {}

  async check(
    device: DeviceRow,
    identity: HubConnectIdentity,
  ): Promise<{ reasonCode: string; reason: string } | undefined> {
    if (device.enrollment_group_id !== null) {
      const group = await this.store.groupEnabled(device.enrollment_group_id);
      if (group && group.enabled !== 1) {
        return {
          reasonCode: 'ERR_HUB_GROUP_DISABLED',
          reason: `enrollment group '${device.enrollment_group_id}' of the device is disabled`,
        };
      }
    }
    if (identity.peerCertificates.length > 0) {
      const revoked = await this.revocation.findRevoked(identity.peerCertificates);
      if (revoked) {
        return {
          reasonCode: 'ERR_HUB_CERTIFICATE_REVOKED',
          reason: `certificate serial ${revoked.serial} issued by '${revoked.issuer}' is revoked (CRL of enrollment group '${revoked.group_id}', since ${revoked.revoked_at})`,
        };
      }
    }
    return undefined;
  }
}
