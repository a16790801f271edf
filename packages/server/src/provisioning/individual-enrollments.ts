import { readCertificate, type Certificate } from '@gatehouse/pki';
import { deriveDeviceKey, generateSymmetricKey } from '@gatehouse/protocol';
import { commonError, checkId, isObject } from '../validation.js';
import { readKeys } from './enrollment-groups.js';
import { newEtag, nowIso } from '../util.js';
import { provisioningError } from './errors.js';
import { parseUploadedCertificate } from './certificate-input.js';
import type { IndividualEnrollmentRow, ProvisioningStore } from './provisioning-store.js';
import { currentIdScope, type IdScopeSource } from './id-scope.js';
import type { RevocationScope } from '../revocation/scope.js';

interface X509CertificateInfo {
  info: { sha1Thumbprint: string; sha256Thumbprint: string; subject: string; notAfter: string };
}

/** The REST shape of `/devices/{id}/attestation` (CENTRAL_API.md §3). Certificates are never echoed. */
export type Attestation =
  | {
      type: 'x509';
      x509: { clientCertificates: { primary: X509CertificateInfo; secondary?: X509CertificateInfo } };
    }
  | { type: 'symmetricKey'; symmetricKey: { primaryKey: string; secondaryKey: string } };

export interface DeviceCredentials {
  idScope: string;
  x509?: { clientCertificates: { primary: X509CertificateInfo; secondary?: X509CertificateInfo } };
  symmetricKey?: { primaryKey: string; secondaryKey: string };
}

export interface IndividualEnrollmentServiceOptions {
  store: ProvisioningStore;
  idScope: IdScopeSource;
  now?: () => Date;
  attestationTypes?: readonly string[];
}

/** Individual enrollments: one device, its own certificates (or keys). */
export class IndividualEnrollmentService {
  private readonly store: ProvisioningStore;
  private readonly idScopeSource: IdScopeSource;
  private readonly now: () => Date;
  private readonly attestationTypes: readonly string[];
  /** Told after the enrollment's certificates were replaced or removed (revocation/session-sweep.ts). */
  onRevoked: ((reason: string, scope: RevocationScope) => void) | undefined;

  constructor(options: IndividualEnrollmentServiceOptions) {
    this.store = options.store;
    this.idScopeSource = options.idScope;
    this.now = options.now ?? (() => new Date());
    this.attestationTypes = options.attestationTypes ?? ['x509', 'symmetricKey'];
    this.onRevoked = undefined;
  }

  async get(deviceId: string): Promise<Attestation> {
    checkId('deviceId', deviceId);
    const row = await this.store.getIndividualEnrollment(deviceId);
    if (!row)
      throw provisioningError(
        'ERR_ATTESTATION_NOT_FOUND',
        `Device '${deviceId}' has no individual enrollment.`,
      );
    return toApi(row);
  }

  /**
   * PUT: create or replace the individual enrollment; creates the device when
   * it does not exist yet (CENTRAL_API.md §3). The primary certificate's CN must
   * be the device ID (it is the registration ID the device will use); the
   * secondary may carry another CN and provisions as this device by thumbprint.
   */
  async put(deviceId: string, body: unknown): Promise<Attestation> {
    checkId('deviceId', deviceId);
    if (!isObject(body)) throw commonError('ERR_VALIDATION', 'The body must be a JSON object.');
    const type = body['type'];
    if (type !== 'x509' && type !== 'symmetricKey') {
      throw provisioningError('ERR_ATTESTATION_INVALID', "'type' must be 'x509' or 'symmetricKey'.");
    }
    if (!this.attestationTypes.includes(type)) {
      throw provisioningError(
        'ERR_ATTESTATION_INVALID',
        `Attestation type '${type}' is not available for individual enrollments in this version.`,
      );
    }
    const now = this.now();
    const existing = await this.store.getIndividualEnrollment(deviceId);
    if (
      typeof body['etag'] === 'string' &&
      body['etag'] !== '' &&
      body['etag'] !== '*' &&
      body['etag'] !== existing?.etag
    ) {
      throw commonError(
        'ERR_ETAG_MISMATCH',
        'The etag does not match the current version; read the resource again.',
      );
    }
    if (type === 'symmetricKey') {
      let keys: { primaryKey: string; secondaryKey: string } | undefined;
      try {
        keys = readKeys(body);
      } catch (err) {
        throw provisioningError(
          'ERR_ATTESTATION_INVALID',
          (err as Error).message.replace("'attestation.", "'"),
        );
      }
      const iso = nowIso(now);
      await this.ensureDevice(deviceId, iso);
      await this.store.upsertIndividualEnrollment({
        device_id: deviceId,
        type: 'symmetricKey',
        primary_pem: null,
        primary_sha1: null,
        primary_sha256: null,
        secondary_pem: null,
        secondary_sha1: null,
        secondary_sha256: null,
        // No keys given: generate both, like DPS.
        primary_key: keys?.primaryKey ?? generateSymmetricKey(),
        secondary_key: keys?.secondaryKey ?? generateSymmetricKey(),
        etag: newEtag(),
        created_at: existing?.created_at ?? iso,
        updated_at: iso,
      });
      return this.get(deviceId);
    }
    const x509 = body['x509'];
    if (!isObject(x509) || !isObject(x509['clientCertificates'])) {
      throw provisioningError(
        'ERR_ATTESTATION_INVALID',
        "'x509.clientCertificates.primary.certificate' is required.",
      );
    }
    const cc = x509['clientCertificates'];
    const primaryIn = cc['primary'];
    if (!isObject(primaryIn))
      throw provisioningError(
        'ERR_ATTESTATION_INVALID',
        "'x509.clientCertificates.primary.certificate' is required.",
      );
    const primary = parseUploadedCertificate(
      primaryIn['certificate'],
      'x509.clientCertificates.primary.certificate',
    );
    const secondaryIn = cc['secondary'];
    let secondary: Certificate | undefined;
    if (secondaryIn !== undefined && secondaryIn !== null) {
      if (!isObject(secondaryIn))
        throw provisioningError(
          'ERR_ATTESTATION_INVALID',
          "'x509.clientCertificates.secondary' must be an object.",
        );
      secondary = parseUploadedCertificate(
        secondaryIn['certificate'],
        'x509.clientCertificates.secondary.certificate',
      );
    }
    if ((primary.subjectCN ?? '').toLowerCase() !== deviceId.toLowerCase()) {
      throw provisioningError(
        'ERR_ATTESTATION_CN_MISMATCH',
        `The primary certificate's subject CN is '${primary.subjectCN ?? ''}', but the device ID is '${deviceId}': the device registers with its certificate's CN, so they must match.`,
      );
    }
    for (const [name, c] of [
      ['primary', primary],
      ['secondary', secondary],
    ] as const) {
      if (c?.isCA) {
        throw provisioningError(
          'ERR_ATTESTATION_INVALID',
          `The ${name} certificate '${c.subjectCN ?? c.subject}' is a CA certificate; an individual enrollment holds the device's own certificate (a CA belongs to an enrollment group).`,
        );
      }
      if (c && c.notAfter.getTime() < now.getTime()) {
        throw provisioningError(
          'ERR_CERT_EXPIRED',
          `The ${name} certificate '${c.subjectCN ?? c.subject}' expired on ${c.notAfter.toISOString()}.`,
        );
      }
      if (c) {
        const other = await this.store.findIndividualEnrollmentByThumbprint(c.sha256Thumbprint);
        if (other && other.device_id !== deviceId) {
          throw provisioningError(
            'ERR_CERT_IN_USE',
            `The ${name} certificate is already enrolled for device '${other.device_id}'.`,
          );
        }
      }
    }
    const iso = nowIso(now);
    await this.ensureDevice(deviceId, iso);
    await this.store.upsertIndividualEnrollment({
      device_id: deviceId,
      type: 'x509',
      primary_pem: primary.pem,
      primary_sha1: primary.sha1Thumbprint,
      primary_sha256: primary.sha256Thumbprint,
      secondary_pem: secondary?.pem ?? null,
      secondary_sha1: secondary?.sha1Thumbprint ?? null,
      secondary_sha256: secondary?.sha256Thumbprint ?? null,
      primary_key: null,
      secondary_key: null,
      etag: newEtag(),
      created_at: existing?.created_at ?? iso,
      updated_at: iso,
    });
    if (existing?.type === 'x509') {
      await this.dropStaleThumbprints(deviceId, [primary, secondary]);
      this.onRevoked?.(`the individual enrollment certificate of '${deviceId}' replaced`, {
        kind: 'device',
        deviceId,
      });
    }
    return this.get(deviceId);
  }

  /**
   * The hub knows a directly enrolled device by the thumbprints provisioning gave it; when the
   * enrollment's certificates change, thumbprints of certificates no longer enrolled are
   * forgotten, so the old certificate stops connecting at once (revocation).
   */
  private async dropStaleThumbprints(deviceId: string, kept: Array<Certificate | undefined>): Promise<void> {
    const device = await this.store.getDevice(deviceId);
    if (!device) return;
    const keep = new Set(kept.flatMap((c) => (c ? [c.sha1Thumbprint, c.sha256Thumbprint] : [])));
    const pick = (t: string | null) => (t !== null && keep.has(t) ? t : null);
    const next = {
      x509_primary_sha1: pick(device.x509_primary_sha1),
      x509_primary_sha256: pick(device.x509_primary_sha256),
      x509_secondary_sha1: pick(device.x509_secondary_sha1),
      x509_secondary_sha256: pick(device.x509_secondary_sha256),
    };
    await this.store.db.updateTable('devices').set(next).where('id', '=', deviceId).execute();
  }

  /** Creating an attestation creates the device when it does not exist (CENTRAL_API.md §3). */
  private async ensureDevice(deviceId: string, iso: string): Promise<void> {
    await this.store.insertDevice({
      id: deviceId,
      display_name: deviceId,
      template: null,
      enabled: 1,
      provisioned: 0,
      simulated: 0,
      auth_type: 'none',
      x509_primary_sha1: null,
      x509_primary_sha256: null,
      x509_secondary_sha1: null,
      x509_secondary_sha256: null,
      sas_primary_key: null,
      sas_secondary_key: null,
      enrollment_group_id: null,
      assigned_hub: null,
      etag: newEtag(),
      created_at: iso,
      updated_at: iso,
    });
  }

  async delete(deviceId: string): Promise<void> {
    checkId('deviceId', deviceId);
    if (!(await this.store.deleteIndividualEnrollment(deviceId))) {
      throw provisioningError(
        'ERR_ATTESTATION_NOT_FOUND',
        `Device '${deviceId}' has no individual enrollment.`,
      );
    }
    await this.dropStaleThumbprints(deviceId, []);
    this.onRevoked?.(`the individual enrollment of '${deviceId}' deleted`, { kind: 'device', deviceId });
  }

  /** `GET /devices/{id}/credentials`: the ID scope and the device's own attestation. */
  async credentials(deviceId: string): Promise<DeviceCredentials> {
    checkId('deviceId', deviceId);
    const device = await this.store.getDevice(deviceId);
    const row = await this.store.getIndividualEnrollment(deviceId);
    if (!device && !row)
      throw provisioningError('ERR_DEVICE_NOT_FOUND', `Device '${deviceId}' does not exist.`);
    const out: DeviceCredentials = { idScope: currentIdScope(this.idScopeSource) };
    if (row) {
      const a = toApi(row);
      if (a.type === 'x509') out.x509 = a.x509;
      else out.symmetricKey = a.symmetricKey;
      return out;
    }
    // Group enrollment: the keys the device should use are derived from its SAS
    // group, or from SAS-IoT-Devices as IoT Central's Connect dialog shows them.
    const groupId = device?.enrollment_group_id ?? 'SAS-IoT-Devices';
    const group = (await this.store.getGroup(groupId)) ?? (await this.store.getGroup('SAS-IoT-Devices'));
    if (group?.attestation_type === 'symmetricKey' && group.primary_key && group.secondary_key) {
      out.symmetricKey = {
        primaryKey: deriveDeviceKey(group.primary_key, deviceId),
        secondaryKey: deriveDeviceKey(group.secondary_key, deviceId),
      };
    }
    return out;
  }
}

function certInfo(
  sha1: string | null,
  sha256: string | null,
  pem: string | null,
): X509CertificateInfo | undefined {
  if (!sha1 || !sha256 || !pem) return undefined;
  const c = readCertificate(pem);
  return {
    info: {
      sha1Thumbprint: sha1,
      sha256Thumbprint: sha256,
      subject: c.subject,
      notAfter: c.notAfter.toISOString(),
    },
  };
}

function toApi(row: IndividualEnrollmentRow): Attestation {
  if (row.type === 'symmetricKey') {
    return {
      type: 'symmetricKey',
      symmetricKey: { primaryKey: row.primary_key ?? '', secondaryKey: row.secondary_key ?? '' },
    };
  }
  const primary = certInfo(row.primary_sha1, row.primary_sha256, row.primary_pem)!;
  const secondary = certInfo(row.secondary_sha1, row.secondary_sha256, row.secondary_pem);
  return { type: 'x509', x509: { clientCertificates: secondary ? { primary, secondary } : { primary } } };
}
