import type { Certificate } from '@gatehouse/pki';

const DAY_MS = 24 * 60 * 60 * 1000;

/** What `cert show --json` prints for one certificate. */
export interface CertificateSummary {
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  /** Whole days until notAfter; negative once expired. */
  daysLeft: number;
  status: 'valid' | 'expired' | 'not yet valid';
  isCA: boolean;
  pathLen: number | undefined;
  keyType: string;
  selfIssued: boolean;
  sha1Thumbprint: string;
  sha256Thumbprint: string;
}

export function summarize(certificate: Certificate, now = new Date()): CertificateSummary {
  const status =
    certificate.notAfter.getTime() < now.getTime()
      ? 'expired'
      : certificate.notBefore.getTime() > now.getTime()
        ? 'not yet valid'
        : 'valid';
  return {
    subject: certificate.subject,
    issuer: certificate.issuer,
    serialNumber: certificate.serialNumber,
    notBefore: certificate.notBefore.toISOString().replace('.000Z', 'Z'),
    notAfter: certificate.notAfter.toISOString().replace('.000Z', 'Z'),
    daysLeft: Math.floor((certificate.notAfter.getTime() - now.getTime()) / DAY_MS),
    status,
    isCA: certificate.isCA,
    pathLen: certificate.pathLen,
    keyType: certificate.keyType,
    selfIssued: certificate.isSelfIssued,
    sha1Thumbprint: certificate.sha1Thumbprint,
    sha256Thumbprint: certificate.sha256Thumbprint,
  };
}

function validity(s: CertificateSummary): string {
  const range = `${s.notBefore} to ${s.notAfter}`;
  if (s.status === 'expired')
    return `${range} (EXPIRED ${-s.daysLeft} day${s.daysLeft === -1 ? '' : 's'} ago)`;
  if (s.status === 'not yet valid') return `${range} (NOT YET VALID)`;
  return `${range} (${s.daysLeft} day${s.daysLeft === 1 ? '' : 's'} left)`;
}

/** The human form: one aligned `label  value` line per field. */
export function formatSummary(s: CertificateSummary, indent = '  '): string[] {
  const ca = s.isCA ? `yes${s.pathLen !== undefined ? ` (path length ${s.pathLen})` : ''}` : 'no';
  const rows: [string, string][] = [
    ['Subject', s.subject],
    ['Issuer', s.issuer + (s.selfIssued ? ' (self-issued)' : '')],
    ['Validity', validity(s)],
    ['CA', ca],
    ['Key', s.keyType],
    ['Serial', s.serialNumber],
    ['SHA-1', s.sha1Thumbprint],
    ['SHA-256', s.sha256Thumbprint],
  ];
  return rows.map(([label, value]) => `${indent}${label.padEnd(10)}${value}`);
}
