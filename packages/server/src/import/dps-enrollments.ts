/**
 * DPS enrollments (docs/migrate-from-azure.md §2): the JSON of `az iot dps enrollment-group
 * list/show` (`enrollmentGroupId`, `attestation { type, symmetricKey, x509.signingCertificates
 * | caReferences }`, `provisioningStatus`, `capabilities`, `initialTwin`, `allocationPolicy`,
 * `iotHubs`, …) and of `az iot dps enrollment list/show` (`registrationId`, `deviceId`,
 * `attestation { type, symmetricKey, x509.clientCertificates }`, …). One file may mix both.
 */
import { mapJsonRecords, readJsonRecords } from './json-records.js';
import type {
  CertificateEntryName,
  DeviceRecord,
  EnrollmentGroupRecord,
  ImportRecord,
  IndividualEnrollmentRecord,
  ReadResult,
  RecordSource,
} from './records.js';
import {
  desiredProperties,
  enabledStatus,
  isObject,
  recordId,
  RecordProblem,
  symmetricKeys,
} from './record-fields.js';

export interface DpsReadOptions {
  /** The CA certificates were trusted (verified) in Azure: import them as verified. */
  verified: boolean;
  /** DPS's own certificates by name (`az iot dps certificate list`), for `caReferences`. */
  certificates: ReadonlyMap<string, DpsCertificate>;
}

/** A certificate uploaded to DPS (`az iot dps certificate list/show`). */
export interface DpsCertificate {
  name: string;
  /** Base64 of the certificate (DER or PEM), as `properties.certificate` holds it. */
  certificate: string;
  /** `properties.isVerified`: proof of possession was done in Azure. */
  isVerified: boolean;
}

/** A DPS certificate object: `{ name, properties: { certificate, isVerified, subject, thumbprint, … } }`. */
function asDpsCertificate(r: Record<string, unknown>): DpsCertificate | undefined {
  const props = r['properties'];
  if (typeof r['name'] !== 'string' || !isObject(props) || typeof props['certificate'] !== 'string')
    return undefined;
  return { name: r['name'], certificate: props['certificate'], isVerified: props['isVerified'] === true };
}

/**
 * The DPS certificates in a set of files (the first pass of a DPS import, so a group may name a
 * certificate of another file). Unreadable files are reported by the records pass.
 */
export function collectDpsCertificates(
  files: Array<{ name: string; content: string }>,
): Map<string, DpsCertificate> {
  const out = new Map<string, DpsCertificate>();
  for (const file of files) {
    for (const { value } of readJsonRecords(file.name, file.content).values) {
      const c = isObject(value) ? asDpsCertificate(value) : undefined;
      if (c && !out.has(c.name)) out.set(c.name, c);
    }
  }
  return out;
}

const NO_KEYS_HINT =
  'DPS prints keys only with `--show-keys` (`az iot dps enrollment-group show … --show-keys`).';
const ENTRIES: CertificateEntryName[] = ['primary', 'secondary'];

export function readDpsEnrollments(file: string, text: string, options: DpsReadOptions): ReadResult {
  const read = mapJsonRecords(file, text, (r, source) => toRecords(r, source, options));
  return { records: read.records.flat(), refusals: read.refusals };
}

function toRecords(
  r: Record<string, unknown>,
  source: RecordSource,
  options: DpsReadOptions,
): ImportRecord[] {
  if (r['enrollmentGroupId'] !== undefined) return [group(r, source, options)];
  if (r['registrationId'] !== undefined) return individual(r, source);
  // A certificate of `az iot dps certificate list`: only there for caReferences (collected first).
  if (asDpsCertificate(r)) return [];
  throw new RecordProblem(
    'ERR_IMPORT_UNKNOWN_RECORD',
    'A DPS record is an enrollment group (enrollmentGroupId), an individual enrollment (registrationId) or a certificate (name, properties.certificate); this record is none of them.',
  );
}

function attestationOf(r: Record<string, unknown>): { type: unknown; a: Record<string, unknown> } {
  const a = r['attestation'];
  if (!isObject(a))
    throw new RecordProblem('ERR_IMPORT_AUTH_TYPE', "The record has no 'attestation' object.");
  return { type: a['type'], a };
}

function unknownType(type: unknown): RecordProblem {
  if (type === 'tpm') {
    return new RecordProblem('ERR_IMPORT_UNSUPPORTED', 'TPM attestation is not supported by Gatehouse.');
  }
  return new RecordProblem(
    'ERR_IMPORT_AUTH_TYPE',
    `'attestation.type' ${JSON.stringify(type)} is not symmetricKey or x509.`,
  );
}

function ignoredSettings(r: Record<string, unknown>, notes: string[]): void {
  const ignored = [
    'allocationPolicy',
    'iotHubs',
    'iotHubHostName',
    'reprovisionPolicy',
    'customAllocationDefinition',
  ].filter((k) => r[k] !== undefined && r[k] !== null);
  if (ignored.length > 0) notes.push(`${ignored.join(', ')}: not kept (Gatehouse has one hub)`);
}

function group(
  r: Record<string, unknown>,
  source: RecordSource,
  options: DpsReadOptions,
): EnrollmentGroupRecord {
  const id = recordId(r, ['enrollmentGroupId']);
  const { type, a } = attestationOf(r);
  const notes: string[] = [];
  const record: EnrollmentGroupRecord = {
    kind: 'enrollmentGroup',
    id,
    source,
    notes,
    body: {
      displayName: id,
      type: isObject(r['capabilities']) && r['capabilities']['iotEdge'] === true ? 'iotEdge' : 'iot',
      enabled: enabledStatus(r['provisioningStatus'], 'provisioningStatus'),
      attestation: { type: String(type) },
    },
    certificates: {},
  };
  if (type === 'symmetricKey') {
    record.body.attestation.symmetricKey = symmetricKeys(
      a['symmetricKey'],
      'attestation.symmetricKey',
      NO_KEYS_HINT,
    );
  } else if (type === 'x509') {
    const x509 = isObject(a['x509']) ? a['x509'] : {};
    const references = isObject(x509['caReferences']) ? x509['caReferences'] : undefined;
    const signing = isObject(x509['signingCertificates']) ? x509['signingCertificates'] : {};
    for (const entry of ENTRIES) {
      const c = signing[entry];
      if (c === undefined || c === null) continue;
      const certificate = isObject(c) ? c['certificate'] : undefined;
      if (typeof certificate !== 'string' || certificate.trim() === '') {
        throw new RecordProblem(
          'ERR_IMPORT_FIELD_INVALID',
          `'attestation.x509.signingCertificates.${entry}' has no 'certificate' (PEM or base64); add the CA certificate to the file.`,
        );
      }
      record.certificates[entry] = { certificate, verified: options.verified };
    }
    for (const entry of ENTRIES) {
      const name = references?.[entry];
      if (name === undefined || name === null || record.certificates[entry] !== undefined) continue;
      const held = typeof name === 'string' ? options.certificates.get(name) : undefined;
      if (!held) {
        throw new RecordProblem(
          'ERR_IMPORT_UNSUPPORTED',
          `'attestation.x509.caReferences.${entry}' names the DPS certificate ${JSON.stringify(name)}, which no file of this import holds: add the output of \`az iot dps certificate list\` to the import, or put the CA certificate (PEM) into 'attestation.x509.signingCertificates.${entry}.certificate'.`,
        );
      }
      // Verified only where Azure says it was (isVerified) and the import is told to trust that.
      record.certificates[entry] = {
        certificate: held.certificate,
        verified: options.verified && held.isVerified,
      };
      if (!held.isVerified)
        notes.push(`the DPS certificate '${held.name}' was not verified in Azure: prove possession`);
    }
    if (record.certificates.primary === undefined && record.certificates.secondary === undefined) {
      notes.push('no signing certificate: upload the CA certificate to the group');
    } else if (!options.verified) {
      notes.push('CA certificate imported unverified: prove possession, or import with --verified');
    }
  } else {
    throw unknownType(type);
  }
  const desired = desiredProperties(initialDesired(r), 'initialTwin.properties.desired');
  if (desired) notes.push("initialTwin: not kept for groups (a device's twin starts empty)");
  ignoredSettings(r, notes);
  return record;
}

function initialDesired(r: Record<string, unknown>): unknown {
  const twin = r['initialTwin'];
  if (!isObject(twin)) return undefined;
  const props = twin['properties'];
  return isObject(props) ? props['desired'] : undefined;
}

/**
 * An individual enrollment: the attestation becomes the device's individual enrollment
 * (registration ID = device ID), `provisioningStatus` the device's enabled flag, and
 * `initialTwin.properties.desired` its desired properties.
 */
function individual(r: Record<string, unknown>, source: RecordSource): ImportRecord[] {
  const id = recordId(r, ['registrationId']);
  const { type, a } = attestationOf(r);
  const notes: string[] = [];
  let body: Record<string, unknown>;
  if (type === 'symmetricKey') {
    body = { type, symmetricKey: symmetricKeys(a['symmetricKey'], 'attestation.symmetricKey', NO_KEYS_HINT) };
  } else if (type === 'x509') {
    const x509 = isObject(a['x509']) ? a['x509'] : {};
    if (isObject(x509['caReferences'])) {
      throw new RecordProblem(
        'ERR_IMPORT_UNSUPPORTED',
        "'attestation.x509.caReferences' names certificates kept in DPS; put the device certificate into 'attestation.x509.clientCertificates.primary.certificate' instead.",
      );
    }
    const client = isObject(x509['clientCertificates']) ? x509['clientCertificates'] : {};
    const clientCertificates: Record<string, unknown> = {};
    for (const entry of ENTRIES) {
      const c = client[entry];
      if (c === undefined || c === null) continue;
      const certificate = isObject(c) ? c['certificate'] : undefined;
      if (typeof certificate !== 'string' || certificate.trim() === '') {
        throw new RecordProblem(
          'ERR_IMPORT_FIELD_INVALID',
          `'attestation.x509.clientCertificates.${entry}' has no 'certificate': DPS returns only its thumbprints, so add the device certificate (PEM) to the file.`,
        );
      }
      clientCertificates[entry] = { certificate };
    }
    body = { type, x509: { clientCertificates } };
  } else {
    throw unknownType(type);
  }
  const deviceId = r['deviceId'];
  if (typeof deviceId === 'string' && deviceId !== '' && deviceId !== id) {
    notes.push(`deviceId '${deviceId}' is not kept: the device ID is the registration ID`);
  }
  ignoredSettings(r, notes);
  const enrollment: IndividualEnrollmentRecord = { kind: 'individualEnrollment', id, source, notes, body };
  const device: DeviceRecord = {
    kind: 'device',
    id,
    source,
    notes: [],
    fields: { enabled: enabledStatus(r['provisioningStatus'], 'provisioningStatus') },
  };
  const desired = desiredProperties(initialDesired(r), 'initialTwin.properties.desired');
  if (desired) device.desired = desired;
  return [enrollment, device];
}
