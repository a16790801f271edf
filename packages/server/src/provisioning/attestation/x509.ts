import { PkiError, readCertificate, validateChain, type Certificate } from '@gatehouse/pki';
import type { DpsRequestContext } from '../dps-handler.js';
import { provisioningError, type ProvisioningErrorCode } from '../errors.js';
import type { GroupCertificateWithGroup, ProvisioningStore } from '../provisioning-store.js';
import type { AttestationMechanism, AttestationOutcome, ThumbprintPair } from './attestation.js';

/** Imported CRLs (revocation/revocation-service.ts): the first revoked certificate of a chain. */
export interface RevocationLookup {
  findRevoked(
    chain: readonly Certificate[],
  ): Promise<{ serial: string; issuer: string; group_id: string } | undefined>;
}

/** PKI refusal codes → the provisioning refusal a user reads in the diagnostics. */
const PKI_TO_DPS: Partial<Record<string, ProvisioningErrorCode>> = {
  ERR_PKI_EXPIRED: 'ERR_DPS_CERTIFICATE_EXPIRED',
  ERR_PKI_NOT_YET_VALID: 'ERR_DPS_CERTIFICATE_NOT_YET_VALID',
  ERR_PKI_BAD_SIGNATURE: 'ERR_DPS_CHAIN_INVALID',
  ERR_PKI_ISSUER_NOT_CA: 'ERR_DPS_CHAIN_INVALID',
  ERR_PKI_PATH_LENGTH_EXCEEDED: 'ERR_DPS_CHAIN_INVALID',
  ERR_PKI_NOT_CLIENT_AUTH: 'ERR_DPS_CHAIN_INVALID',
  ERR_PKI_CHAIN_TOO_DEEP: 'ERR_DPS_CHAIN_INVALID',
};

function name(c: Certificate): string {
  return c.subjectCN ?? c.subject;
}

function thumbprints(c: Certificate): ThumbprintPair {
  return { sha1: c.sha1Thumbprint, sha256: c.sha256Thumbprint };
}

/** X509CertificateInfo of PROTOCOL.md §1.7. */
function certificateInfo(c: Certificate): Record<string, unknown> {
  return {
    subjectName: c.subject,
    sha1Thumbprint: c.sha1Thumbprint,
    sha256Thumbprint: c.sha256Thumbprint,
    issuerName: c.issuer,
    notBeforeUtc: c.notBefore.toISOString(),
    notAfterUtc: c.notAfter.toISOString(),
    serialNumber: c.serialNumber,
    version: 3,
  };
}

/**
 * X.509 attestation in the order of PROTOCOL.md §7.1:
 * 1. the leaf's subject CN must be the registration ID;
 * 2. an individual enrollment (by registration ID, else by the leaf's thumbprint)
 *    decides alone: the leaf is its primary or secondary certificate, or is
 *    issued by one of them;
 * 3. else the enrollment group whose certificate is nearest to the leaf in the
 *    presented chain; a disabled match refuses; an unverified group
 *    certificate must itself chain (through presented certificates) to a
 *    verified one.
 * TLS has already proven possession of the leaf's private key.
 */
export class X509Attestation implements AttestationMechanism {
  readonly type = 'x509' as const;

  constructor(
    private readonly store: ProvisioningStore,
    private readonly now: () => Date = () => new Date(),
    private readonly revocation?: RevocationLookup,
  ) {}

  applies(ctx: DpsRequestContext): boolean {
    return ctx.clientCertificates.length > 0;
  }

  sameCredential(ctx: DpsRequestContext, credential: string): boolean {
    return ctx.clientCertificates[0]?.sha256Thumbprint === credential;
  }

  async attest(ctx: DpsRequestContext): Promise<AttestationOutcome> {
    const [leaf, ...presented] = ctx.clientCertificates;
    if (!leaf)
      throw provisioningError(
        'ERR_DPS_NO_CREDENTIALS',
        'The device presented no client certificate and no SAS token.',
      );
    // Registration IDs are case-insensitive (PROTOCOL.md §7.1).
    if ((leaf.subjectCN ?? '').toLowerCase() !== ctx.registrationId.toLowerCase()) {
      throw provisioningError(
        'ERR_DPS_CN_MISMATCH',
        `The device certificate's subject CN is '${leaf.subjectCN ?? ''}', but the device registers as '${ctx.registrationId}': the registration ID must equal the certificate's CN.`,
      );
    }
    const time = this.now();
    const revoked = await this.revocation?.findRevoked(ctx.clientCertificates);
    if (revoked) {
      throw provisioningError(
        'ERR_DPS_CERTIFICATE_REVOKED',
        `Certificate serial ${revoked.serial} issued by '${revoked.issuer}' is revoked by the CRL imported for enrollment group '${revoked.group_id}'.`,
      );
    }

    const individual = await this.store.findIndividualEnrollmentFor(
      ctx.registrationId,
      leaf.sha256Thumbprint,
    );
    if (individual) {
      if (individual.type !== 'x509') {
        throw provisioningError(
          'ERR_DPS_ATTESTATION_MISMATCH',
          `Device '${individual.device_id}' has a symmetric-key individual enrollment, but presented a certificate.`,
        );
      }
      const enrolled = [individual.primary_pem, individual.secondary_pem]
        .filter((p): p is string => p !== null)
        .map((p) => readCertificate(p));
      try {
        validateChain({ leaf, presented, anchors: enrolled, time });
      } catch (err) {
        if (
          err instanceof PkiError &&
          (err.code === 'ERR_PKI_EXPIRED' || err.code === 'ERR_PKI_NOT_YET_VALID')
        ) {
          throw provisioningError(
            PKI_TO_DPS[err.code]!,
            `Individual enrollment of '${individual.device_id}': ${err.message}`,
            { cause: err },
          );
        }
        throw provisioningError(
          'ERR_DPS_CERTIFICATE_MISMATCH',
          `Device '${individual.device_id}' has an individual enrollment, but certificate '${name(leaf)}' (SHA-1 ${leaf.sha1Thumbprint}) is neither its primary nor its secondary certificate nor issued by one of them.`,
          { cause: err },
        );
      }
      const deviceExisted = await this.checkDeviceEnabled(individual.device_id);
      const direct = enrolled.some((c) => c.sha256Thumbprint === leaf.sha256Thumbprint);
      const primary = enrolled[0] ? thumbprints(enrolled[0]) : thumbprints(leaf);
      const secondary = enrolled[1] ? thumbprints(enrolled[1]) : primary;
      return {
        deviceExisted,
        deviceId: individual.device_id,
        enrollment: { kind: 'individual' },
        attestationType: 'x509',
        deviceAuth: direct
          ? { type: 'x509Thumbprint', primary, secondary }
          : { type: 'x509Thumbprint', primary: thumbprints(leaf), secondary: thumbprints(leaf) },
        registrationResult: { x509: { certificateInfo: certificateInfo(leaf) } },
        credential: leaf.sha256Thumbprint,
      };
    }

    const groupCerts = await this.store.listX509GroupCertificates();
    const anchors = groupCerts.map((g) => ({ row: g, cert: readCertificate(g.pem) }));
    let anchor: Certificate;
    try {
      ({ anchor } = validateChain({ leaf, presented, anchors: anchors.map((a) => a.cert), time }));
    } catch (err) {
      throw this.explainGroupFailure(err, leaf, presented);
    }
    const match = anchors.find((a) => a.cert.sha256Thumbprint === anchor.sha256Thumbprint);
    if (!match)
      throw provisioningError('ERR_DPS_NOT_ENROLLED', 'The chain reached a certificate no group holds.');
    const group: GroupCertificateWithGroup = match.row;
    if (group.group_enabled !== 1) {
      throw provisioningError(
        'ERR_DPS_GROUP_DISABLED',
        `The chain reaches '${name(anchor)}' of enrollment group '${group.group_id}', which is disabled.`,
      );
    }
    if (group.verified !== 1) {
      const verified = anchors.filter((a) => a.row.verified === 1).map((a) => a.cert);
      try {
        validateChain({ leaf: anchor, presented, anchors: verified, time, requireClientAuth: false });
      } catch (cause) {
        throw provisioningError(
          'ERR_DPS_CA_NOT_VERIFIED',
          `The chain reaches '${name(anchor)}' (the ${group.entry} certificate of group '${group.group_id}'), but '${name(anchor)}' is not verified: generate a verification code and upload a verification certificate signed by its key.`,
          { cause },
        );
      }
    }
    const deviceExisted = await this.checkDeviceEnabled(ctx.registrationId);
    return {
      deviceExisted,
      deviceId: ctx.registrationId,
      enrollment: { kind: 'group', groupId: group.group_id },
      attestationType: 'x509',
      // DPS makes X.509 devices thumbprint devices in the hub, secondary = primary (PROTOCOL.md §7.1).
      deviceAuth: { type: 'x509Thumbprint', primary: thumbprints(leaf), secondary: thumbprints(leaf) },
      registrationResult: {
        x509: { certificateInfo: certificateInfo(leaf), enrollmentGroupId: group.group_id },
      },
      credential: leaf.sha256Thumbprint,
    };
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
    if (device && device.auth_type === 'sas') {
      throw provisioningError(
        'ERR_DPS_ATTESTATION_MISMATCH',
        `Device '${deviceId}' authenticates with symmetric keys, but presented a certificate.`,
      );
    }
    return device !== undefined;
  }

  /** Turn a failed group chain into the most useful sentence we can give. */
  private explainGroupFailure(err: unknown, leaf: Certificate, presented: Certificate[]) {
    if (err instanceof PkiError) {
      const mapped = PKI_TO_DPS[err.code];
      if (mapped) return provisioningError(mapped, err.message, { cause: err });
      if (err.code === 'ERR_PKI_NO_PATH') {
        if (leaf.isSelfIssued) {
          return provisioningError(
            'ERR_DPS_SELF_SIGNED_NOT_ENROLLED',
            `'${name(leaf)}' is self-signed and has no individual enrollment: enroll it on the device's Connect page (individual enrollment, X.509) or issue it from an enrolled CA.`,
            { cause: err },
          );
        }
        const top = presented.length > 0 ? presented[presented.length - 1]! : leaf;
        if (top.isSelfIssued) {
          return provisioningError(
            'ERR_DPS_NOT_ENROLLED',
            `The chain ends at root '${name(top)}', and neither it nor any certificate below it is the certificate of an enrollment group: upload '${name(top)}' (or an intermediate) to a group.`,
            { cause: err },
          );
        }
        return provisioningError(
          'ERR_DPS_INTERMEDIATE_MISSING',
          `'${name(top)}' was issued by '${top.issuerCN ?? top.issuer}', which the device did not present and no enrollment group holds: if it is an intermediate CA, the device must send its full chain (use the _fullchain.pem file); otherwise upload that CA to an enrollment group.`,
          { cause: err },
        );
      }
    }
    return provisioningError('ERR_DPS_NOT_ENROLLED', 'No enrollment matches the device certificate.', {
      cause: err,
    });
  }
}
