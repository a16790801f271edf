import {
  deriveDeviceKey,
  dpsSasResource,
  DPS_SAS_KEY_NAME,
  isProtocolError,
  parseSharedAccessSignature,
  sasResourceMatches,
  verifySharedAccessSignature,
  type SharedAccessSignature,
} from '@gatehouse/protocol';
import type { DpsRequestContext } from '../dps-handler.js';
import { provisioningError } from '../errors.js';
import type { ProvisioningStore } from '../provisioning-store.js';
import type { AttestationMechanism, AttestationOutcome } from './attestation.js';

/** A few seconds of clock skew between device and server are forgiven. */
const CLOCK_SKEW_SECONDS = 30;

/**
 * Symmetric-key attestation (PROTOCOL.md §1.2, §6): the device's MQTT password
 * (or HTTPS Authorization) is `SharedAccessSignature sr=<idScope>/registrations/<id>&sig=…&skn=registration&se=…`.
 * The HMAC is computed over `sr` exactly as written (§6.1). An individual
 * enrollment's own keys sign directly; an enrollment group's device signs with
 * the key derived from the group key and its registration ID (§6.2). The first
 * decides, as with X.509: an individual enrollment for the registration ID
 * wins over groups.
 */
export class SymmetricKeyAttestation implements AttestationMechanism {
  readonly type = 'symmetricKey' as const;

  constructor(
    private readonly store: ProvisioningStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  applies(ctx: DpsRequestContext): boolean {
    return ctx.clientCertificates.length === 0 && ctx.sasToken !== undefined;
  }

  async sameCredential(ctx: DpsRequestContext, credential: string): Promise<boolean> {
    if (!ctx.sasToken || !credential.startsWith('sas:')) return false;
    const device = await this.store.getDevice(credential.slice(4));
    if (!device?.sas_primary_key || !device.sas_secondary_key) return false;
    try {
      const token = this.parse(ctx);
      verifySharedAccessSignature(token, {
        keys: [device.sas_primary_key, device.sas_secondary_key],
        now: this.seconds(),
        clockSkewSeconds: CLOCK_SKEW_SECONDS,
      });
      return true;
    } catch {
      return false;
    }
  }

  async attest(ctx: DpsRequestContext): Promise<AttestationOutcome> {
    const token = this.parse(ctx);
    const now = this.seconds();

    const individual = await this.store.getIndividualEnrollment(ctx.registrationId);
    if (individual) {
      if (individual.type !== 'symmetricKey' || !individual.primary_key || !individual.secondary_key) {
        throw provisioningError(
          'ERR_DPS_ATTESTATION_MISMATCH',
          `Device '${individual.device_id}' has an X.509 individual enrollment, but presented a SAS token.`,
        );
      }
      this.verify(
        token,
        [individual.primary_key, individual.secondary_key],
        now,
        `the individual enrollment of '${individual.device_id}'`,
      );
      const deviceExisted = await this.checkDeviceEnabled(individual.device_id);
      return {
        deviceExisted,
        deviceId: individual.device_id,
        enrollment: { kind: 'individual' },
        attestationType: 'symmetricKey',
        deviceAuth: {
          type: 'sas',
          primaryKey: individual.primary_key,
          secondaryKey: individual.secondary_key,
        },
        registrationResult: { symmetricKey: {} },
        credential: `sas:${individual.device_id}`,
      };
    }

    const groups = (await this.store.listGroups()).filter(
      (g) => g.attestation_type === 'symmetricKey' && g.primary_key && g.secondary_key,
    );
    for (const group of groups) {
      const derived = [
        deriveDeviceKey(group.primary_key!, ctx.registrationId),
        deriveDeviceKey(group.secondary_key!, ctx.registrationId),
      ];
      if (!this.matches(token, derived)) continue;
      this.checkExpiry(token, now);
      if (group.enabled !== 1) {
        throw provisioningError(
          'ERR_DPS_GROUP_DISABLED',
          `The SAS token matches enrollment group '${group.id}', which is disabled.`,
        );
      }
      const deviceExisted = await this.checkDeviceEnabled(ctx.registrationId);
      const [primaryKey, secondaryKey] = derived as [string, string];
      return {
        deviceExisted,
        deviceId: ctx.registrationId,
        enrollment: { kind: 'group', groupId: group.id },
        attestationType: 'symmetricKey',
        // The hub device gets the derived keys: the device uses the same key there (§6.2).
        deviceAuth: { type: 'sas', primaryKey, secondaryKey },
        registrationResult: { symmetricKey: { enrollmentGroupId: group.id } },
        credential: `sas:${ctx.registrationId}`,
      };
    }
    // Diagnose the most common mistake: signing with the group key itself.
    const usedGroupKey = groups.find((g) => this.matches(token, [g.primary_key!, g.secondary_key!]));
    if (usedGroupKey) {
      throw provisioningError(
        'ERR_DPS_SAS_GROUP_KEY_USED',
        `The token was signed with a key of enrollment group '${usedGroupKey.id}' itself; a device signs with the key derived from it for its registration ID ('${ctx.registrationId}').`,
      );
    }
    throw provisioningError(
      'ERR_DPS_SAS_BAD_SIGNATURE',
      groups.length === 0
        ? `No symmetric-key enrollment exists for '${ctx.registrationId}', and there is no symmetric-key enrollment group.`
        : `The SAS signature of '${ctx.registrationId}' matches no individual enrollment and no key derived from the ${groups.length} symmetric-key group(s).`,
    );
  }

  private seconds(): number {
    return Math.floor(this.now().getTime() / 1000);
  }

  private parse(ctx: DpsRequestContext): SharedAccessSignature {
    let token: SharedAccessSignature;
    try {
      token = parseSharedAccessSignature(ctx.sasToken ?? '');
    } catch (cause) {
      throw provisioningError(
        'ERR_DPS_SAS_MALFORMED',
        `The SAS token is malformed: ${(cause as Error).message}`,
        { cause },
      );
    }
    if (!sasResourceMatches(token.sr, dpsSasResource(ctx.idScope, ctx.registrationId))) {
      throw provisioningError(
        'ERR_DPS_SAS_WRONG_RESOURCE',
        `The SAS token grants '${token.sr}', but this registration is '${dpsSasResource(ctx.idScope, ctx.registrationId)}'.`,
      );
    }
    if (token.skn !== undefined && token.skn !== DPS_SAS_KEY_NAME) {
      throw provisioningError(
        'ERR_DPS_SAS_WRONG_RESOURCE',
        `The SAS key name is '${token.skn}'; devices use 'registration'.`,
      );
    }
    return token;
  }

  private matches(token: SharedAccessSignature, keys: string[]): boolean {
    try {
      // Expiry is checked separately, so an expired token still identifies its enrollment.
      verifySharedAccessSignature(token, { keys, now: 0 });
      return true;
    } catch {
      return false;
    }
  }

  private checkExpiry(token: SharedAccessSignature, now: number): void {
    if (token.se + CLOCK_SKEW_SECONDS <= now) {
      throw provisioningError(
        'ERR_DPS_SAS_EXPIRED',
        `The SAS token expired at ${new Date(token.se * 1000).toISOString()}.`,
      );
    }
  }

  private verify(token: SharedAccessSignature, keys: string[], now: number, what: string): void {
    try {
      verifySharedAccessSignature(token, { keys, now, clockSkewSeconds: CLOCK_SKEW_SECONDS });
    } catch (cause) {
      if (isProtocolError(cause, 'ERR_SAS_EXPIRED')) {
        throw provisioningError(
          'ERR_DPS_SAS_EXPIRED',
          `The SAS token expired at ${new Date(token.se * 1000).toISOString()}.`,
          { cause },
        );
      }
      throw provisioningError(
        'ERR_DPS_SAS_BAD_SIGNATURE',
        `The SAS signature matches neither key of ${what}.`,
        { cause },
      );
    }
  }

  /** Refuses a blocked device or one with the other kind of credential; says whether the row exists. */
  private async checkDeviceEnabled(deviceId: string): Promise<boolean> {
    const device = await this.store.getDevice(deviceId);
    if (device && device.enabled !== 1) {
      throw provisioningError(
        'ERR_DPS_DEVICE_DISABLED',
        `Device '${deviceId}' is blocked: unblock it before it can provision.`,
      );
    }
    if (device && device.auth_type !== 'sas' && device.auth_type !== 'none') {
      throw provisioningError(
        'ERR_DPS_ATTESTATION_MISMATCH',
        `Device '${deviceId}' authenticates with X.509 certificates, but presented a SAS token.`,
      );
    }
    return device !== undefined;
  }
}
