import { readCertificate, type Certificate } from '@gatehouse/pki';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../store/schema.js';

import type { InventoryCertificate as CertificateEntry } from './rest-shapes.js';

export type { CertificateEntry };

const DAY_MS = 86_400_000;
/** "Expiring soon": renew within a month, the warning period operators are used to. */
export const EXPIRING_SOON_DAYS = 30;

/**
 * Every certificate provisioning trusts, in one list sorted by expiry, so an
 * operator sees what needs renewing before devices are refused: the CA
 * certificates of enrollment groups and the device certificates of individual
 * enrollments (read from the stored PEMs, so the facts are the certificate's own).
 */
export class CertificateInventory {
  private readonly now: () => Date;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: {
      now?: () => Date;
      logger?: Logger;
      /** Imported CRLs (revocation/): flags the certificates they revoke. */
      revocation?: { revokedTest(): Promise<(certificate: Certificate) => boolean> };
    } = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  async list(): Promise<CertificateEntry[]> {
    const now = this.now();
    const out: CertificateEntry[] = [];
    const isRevoked = (await this.options.revocation?.revokedTest()) ?? (() => false);
    const groups = await this.db
      .selectFrom('group_certificates')
      .innerJoin('enrollment_groups', 'enrollment_groups.id', 'group_certificates.group_id')
      .select([
        'group_certificates.group_id',
        'group_certificates.entry',
        'group_certificates.pem',
        'group_certificates.verified',
        'enrollment_groups.display_name',
      ])
      .execute();
    for (const g of groups) {
      const cert = this.read(g.pem, `enrollment group '${g.group_id}' ${g.entry}`);
      if (!cert) continue;
      out.push({
        ...facts(cert, now),
        kind: 'enrollmentGroup',
        owner: g.group_id,
        ownerDisplayName: g.display_name,
        entry: g.entry === 'secondary' ? 'secondary' : 'primary',
        verified: g.verified === 1,
        ...(isRevoked(cert) ? { revoked: true } : {}),
      });
    }
    const individuals = await this.db
      .selectFrom('individual_enrollments')
      .leftJoin('devices', 'devices.id', 'individual_enrollments.device_id')
      .select([
        'individual_enrollments.device_id',
        'individual_enrollments.primary_pem',
        'individual_enrollments.secondary_pem',
        'devices.display_name',
      ])
      .where('individual_enrollments.type', '=', 'x509')
      .execute();
    for (const d of individuals) {
      for (const [entry, pem] of [
        ['primary', d.primary_pem],
        ['secondary', d.secondary_pem],
      ] as const) {
        if (!pem) continue;
        const cert = this.read(pem, `individual enrollment '${d.device_id}' ${entry}`);
        if (!cert) continue;
        out.push({
          ...facts(cert, now),
          kind: 'individualEnrollment',
          owner: d.device_id,
          ownerDisplayName: d.display_name ?? d.device_id,
          entry,
          ...(isRevoked(cert) ? { revoked: true } : {}),
        });
      }
    }
    return out.sort((a, b) => a.notAfter.localeCompare(b.notAfter) || a.owner.localeCompare(b.owner));
  }

  private read(pem: string, what: string): Certificate | undefined {
    try {
      return readCertificate(pem);
    } catch (err) {
      // Stored PEMs were parsed on upload; a row that no longer parses is corruption, not a request error.
      this.options.logger?.error(
        { err },
        `stored certificate of ${what} does not parse; left out of the list`,
      );
      return undefined;
    }
  }
}

function facts(
  cert: Certificate,
  now: Date,
): Pick<
  CertificateEntry,
  'subject' | 'issuer' | 'sha1Thumbprint' | 'notBefore' | 'notAfter' | 'daysLeft' | 'status'
> {
  const leftMs = cert.notAfter.getTime() - now.getTime();
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    sha1Thumbprint: cert.sha1Thumbprint,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    daysLeft: Math.floor(leftMs / DAY_MS),
    status: leftMs <= 0 ? 'expired' : leftMs <= EXPIRING_SOON_DAYS * DAY_MS ? 'expiringSoon' : 'valid',
  };
}
