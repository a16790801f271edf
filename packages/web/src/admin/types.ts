/**
 * The REST shapes the administration pages read (CENTRAL_API.md §1.2, §2 and
 * the UI contract): enrollment groups, certificates, users, API tokens, roles
 * and device templates.
 */

import type {
  CertificateEntry as CertificateEntryName,
  EnrollmentGroup,
  InventoryCertificate as CertificateInfo,
  SigningX509Certificate as SigningCertificate,
} from '@gatehouse/server/rest-types';

/** Enrollment groups and the certificate inventory as the REST API answers them: the server's own types. */
export type { CertificateEntryName, CertificateInfo, EnrollmentGroup, SigningCertificate };

export interface Application {
  idScope: string;
  hostName: string;
  endpoints: { mqtt: string; https?: string; api: string };
}

export interface Role {
  id: string;
  displayName: string;
}

export interface User {
  id: string;
  type: 'email';
  email: string;
  username: string;
  roles: Array<{ role: string }>;
  /** Present only on a disabled user: cannot sign in, has no session. */
  disabled?: true;
}

export interface ApiToken {
  id: string;
  roles: Array<{ role: string }>;
  expiry: string;
}

// The template shapes are the device pages' own (one definition for both).
export type {
  CommandInfo,
  DeviceTemplate,
  PayloadInfo as SchemaInfo,
  PropertyInfo,
  TelemetryInfo,
} from '../devices/types';

/** The roles a person picks from in this version (organization roles come with organizations). */
export const ASSIGNABLE_ROLES = ['Administrator', 'Builder', 'Operator'];

export const GROUP_TYPES: Record<EnrollmentGroup['type'], string> = {
  iot: 'IoT devices',
  iotEdge: 'IoT Edge devices',
};

export const ATTESTATIONS: Record<EnrollmentGroup['attestation']['type'], string> = {
  x509: 'Certificates (X.509)',
  symmetricKey: 'Shared access signature (SAS)',
};

/** The name of a role ID, or the ID itself when unknown. */
export function roleName(roles: readonly Role[], id: string): string {
  return roles.find((r) => r.id === id)?.displayName ?? id;
}

/** An ID the API accepts, made from a display name (letters, digits, hyphens). */
export function idFromName(name: string, extra = ''): string {
  const allowed = new RegExp(`[^a-zA-Z0-9${extra}-]+`, 'g');
  return name
    .trim()
    .replace(allowed, '-')
    .replace(/^-+|-+$/g, '');
}

/** "2026-12-01" from an ISO date-time. */
export function day(iso: string): string {
  return iso.slice(0, 10);
}
