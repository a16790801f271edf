/**
 * What the format readers (hub-identities.ts, dps-enrollments.ts, central-app.ts) turn an
 * Azure export into: records in Gatehouse's own REST shapes, each with the file and line it came
 * from, so the planner can run them through the same services as a REST request and name the
 * line of any refusal.
 */

/** Where a record starts: the file name as given, and its 1-based line. */
export interface RecordSource {
  file: string;
  line: number;
}

export type CertificateEntryName = 'primary' | 'secondary';

/** Hub authentication of an IoT Hub device identity (PROTOCOL.md §7.2, §6). */
export type HubAuthentication =
  | { type: 'sas'; primaryKey: string; secondaryKey: string }
  | { type: 'selfSigned'; primary: Thumbprint; secondary: Thumbprint | undefined }
  | { type: 'certificateAuthority' }
  | { type: 'none' };

/** A thumbprint goes in the SHA-1 or the SHA-256 column by its length. */
export interface Thumbprint {
  sha1: string | null;
  sha256: string | null;
}

interface RecordBase {
  source: RecordSource;
  id: string;
  /** What of the Azure record is not kept, one sentence each (shown in the plan). */
  notes: string[];
}

export interface DeviceTemplateRecord extends RecordBase {
  kind: 'deviceTemplate';
  /** The body of `PUT /api/deviceTemplates/{id}`. */
  body: unknown;
}

export interface EnrollmentGroupRecord extends RecordBase {
  kind: 'enrollmentGroup';
  /** The body of `PUT /api/enrollmentGroups/{id}`. */
  body: {
    displayName: string;
    type: 'iot' | 'iotEdge';
    enabled: boolean;
    attestation: { type: string; symmetricKey?: { primaryKey: unknown; secondaryKey: unknown } };
  };
  /** Bodies of `PUT /api/enrollmentGroups/{id}/certificates/{entry}`. */
  certificates: Partial<Record<CertificateEntryName, { certificate: string; verified: boolean }>>;
}

export interface IndividualEnrollmentRecord extends RecordBase {
  kind: 'individualEnrollment';
  /** The body of `PUT /api/devices/{id}/attestation`. */
  body: Record<string, unknown>;
}

export interface DeviceRecord extends RecordBase {
  kind: 'device';
  /** Writable fields of `PUT/PATCH /api/devices/{id}`; absent ones are left as they are. */
  fields: { displayName?: string; template?: string; enabled?: boolean; simulated?: boolean };
  /** IoT Hub identities only: how the device authenticates to the hub. */
  authentication?: HubAuthentication;
  /** Desired properties to set on the twin (names not given are left as they are). */
  desired?: Record<string, unknown>;
  /** IoT Hub twin tags: they replace the device's tags. */
  tags?: Record<string, unknown>;
}

export type ImportRecord =
  DeviceTemplateRecord | EnrollmentGroupRecord | IndividualEnrollmentRecord | DeviceRecord;

export type RecordKind = ImportRecord['kind'];

/** A record the reader could not turn into an {@link ImportRecord}. */
export interface ReadRefusal {
  source: RecordSource;
  kind?: RecordKind;
  id?: string;
  code: string;
  message: string;
}

/** What a format reader returns for one file. */
export interface ReadResult {
  records: ImportRecord[];
  refusals: ReadRefusal[];
}
