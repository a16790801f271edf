/**
 * The REST shapes of the provisioning context (CENTRAL_API.md §2 and `GET /api/certificates`),
 * apart from the services so the web app can import them as types: this file imports nothing.
 */

export type CertificateEntry = 'primary' | 'secondary';

/** The REST shape of one group certificate entry (CENTRAL_API.md §2). The certificate text is never returned. */
export interface SigningX509Certificate {
  verified: boolean;
  info: { sha1Thumbprint: string; subject: string; notAfter: string };
  etag: string;
}

export interface EnrollmentGroup {
  id: string;
  displayName: string;
  enabled: boolean;
  type: 'iot' | 'iotEdge';
  attestation:
    | {
        type: 'x509';
        x509: { signingCertificates: Partial<Record<CertificateEntry, SigningX509Certificate>> };
      }
    | { type: 'symmetricKey'; symmetricKey: { primaryKey: string; secondaryKey: string } };
  etag: string;
  idScope: string;
  /** X.509 groups: the certificates the CRLs imported for the group revoke (`POST …/crl`). */
  revokedCertificates?: RevokedCertificate[];
}

/** A certificate an imported CRL revokes: refused at provisioning and hub connect. */
export interface RevokedCertificate {
  /** Upper-case hex without leading zeros. */
  serialNumber: string;
  issuer: string;
  revocationDate: string;
}

/** One stored certificate as `GET /api/certificates` lists it. */
export interface InventoryCertificate {
  kind: 'enrollmentGroup' | 'individualEnrollment';
  /** The enrollment group ID or the device ID. */
  owner: string;
  ownerDisplayName: string;
  entry: CertificateEntry;
  subject: string;
  issuer: string;
  sha1Thumbprint: string;
  notBefore: string;
  notAfter: string;
  /** Whole days until notAfter (negative once expired). */
  daysLeft: number;
  status: 'valid' | 'expiringSoon' | 'expired';
  /** Enrollment group CAs only: proof of possession done. */
  verified?: boolean;
  /** On a CRL imported for an enrollment group: the certificate is refused (revocation). */
  revoked?: boolean;
}
