import { checkProofOfPossession, PkiError, readCertificates } from '@gatehouse/pki';
import { generateSymmetricKey } from '@gatehouse/protocol';
import { commonError, checkId, field, isObject } from '../validation.js';
import { newEtag, nowIso, randomHex } from '../util.js';
import { provisioningError } from './errors.js';
import { parseUploadedCertificate } from './certificate-input.js';
import type { GroupCertificateRow, GroupRow, ProvisioningStore } from './provisioning-store.js';

import type { CertificateEntry, EnrollmentGroup, SigningX509Certificate } from './rest-shapes.js';
import { currentIdScope, type IdScopeSource } from './id-scope.js';
import type { RevocationScope } from '../revocation/scope.js';

export type { CertificateEntry, EnrollmentGroup, SigningX509Certificate };
export const CERTIFICATE_ENTRIES: readonly CertificateEntry[] = ['primary', 'secondary'];

/** Verification codes live one hour (CENTRAL_API.md §7.7 leaves it to us; Azure's portal uses the same). */
const VERIFICATION_CODE_TTL_MS = 60 * 60 * 1000;

export interface EnrollmentGroupServiceOptions {
  store: ProvisioningStore;
  idScope: IdScopeSource;
  now?: () => Date;
  /** Attestation types this build accepts for new groups. */
  attestationTypes?: readonly string[];
  /**
   * Told after a change that can revoke devices (group disabled or deleted, a CA certificate
   * removed or replaced): live sessions are checked again (revocation/session-sweep.ts).
   */
  onRevoked?: (reason: string, scope: RevocationScope) => void;
}

/** Enrollment groups, their CA certificates and proof of possession. */
export class EnrollmentGroupService {
  private readonly store: ProvisioningStore;
  private readonly idScopeSource: IdScopeSource;
  private readonly now: () => Date;
  private readonly attestationTypes: readonly string[];
  onRevoked: ((reason: string, scope: RevocationScope) => void) | undefined;

  constructor(options: EnrollmentGroupServiceOptions) {
    this.store = options.store;
    this.idScopeSource = options.idScope;
    this.now = options.now ?? (() => new Date());
    this.attestationTypes = options.attestationTypes ?? ['x509', 'symmetricKey'];
    this.onRevoked = options.onRevoked;
  }

  /**
   * IoT Central's two default SAS groups, created once on the first start
   * (CENTRAL_API.md §2.7); deleting them later is the user's choice.
   */
  async ensureDefaults(): Promise<void> {
    if ((await this.store.getSetting('defaultGroupsCreated')) !== undefined) return;
    for (const [id, type] of [
      ['SAS-IoT-Devices', 'iot'],
      ['SAS-IoT-Edge-Devices', 'iotEdge'],
    ] as const) {
      if (!(await this.store.getGroup(id)))
        await this.put(id, { displayName: id, type, attestation: { type: 'symmetricKey' } });
    }
    await this.store.setSettingIfAbsent('defaultGroupsCreated', new Date().toISOString());
  }

  async list(): Promise<EnrollmentGroup[]> {
    const groups = await this.store.listGroups();
    return Promise.all(groups.map((g) => this.toApi(g)));
  }

  async get(id: string): Promise<EnrollmentGroup> {
    return this.toApi(await this.requireGroup(id));
  }

  /** PUT: create, or replace the writable fields of an existing group. */
  async put(id: string, body: unknown): Promise<EnrollmentGroup> {
    checkId('enrollmentGroupId', id);
    if (!isObject(body)) throw commonError('ERR_VALIDATION', 'The body must be a JSON object.');
    const displayName = field(body, 'displayName', 'string', true) as string;
    if (displayName.trim() === '' || displayName.length > 255) {
      throw provisioningError('ERR_GROUP_INVALID', "'displayName' must be 1–255 characters.");
    }
    const type = field(body, 'type', 'string', true) as string;
    if (type !== 'iot' && type !== 'iotEdge')
      throw provisioningError('ERR_GROUP_INVALID', "'type' must be 'iot' or 'iotEdge'.");
    const enabled = field(body, 'enabled', 'boolean', false) ?? true;
    const attestation = field(body, 'attestation', 'object', true) as Record<string, unknown>;
    const attestationType = field(attestation, 'type', 'string', true) as string;
    if (attestationType !== 'x509' && attestationType !== 'symmetricKey') {
      throw provisioningError('ERR_GROUP_INVALID', "'attestation.type' must be 'x509' or 'symmetricKey'.");
    }
    if (!this.attestationTypes.includes(attestationType)) {
      throw provisioningError(
        'ERR_GROUP_INVALID',
        `Attestation type '${attestationType}' is not available for enrollment groups in this version.`,
      );
    }
    const existing = await this.store.getGroup(id);
    this.checkEtag(body, existing?.etag);
    const now = nowIso(this.now());
    const keys = attestationType === 'symmetricKey' ? readKeys(attestation) : undefined;
    if (existing) {
      if (existing.attestation_type !== attestationType) {
        throw provisioningError(
          'ERR_GROUP_INVALID',
          `The group's attestation type is '${existing.attestation_type}' and cannot change; create a new group instead.`,
        );
      }
      await this.store.updateGroup(id, {
        display_name: displayName,
        type,
        enabled: enabled ? 1 : 0,
        ...(keys ? { primary_key: keys.primaryKey, secondary_key: keys.secondaryKey } : {}),
        etag: newEtag(),
        updated_at: now,
      });
      if (!enabled) this.onRevoked?.(`enrollment group '${id}' disabled`, await this.scopeOf(id));
    } else {
      await this.store.insertGroup({
        id,
        display_name: displayName,
        type,
        attestation_type: attestationType,
        enabled: enabled ? 1 : 0,
        // No keys given: generate both (64 random bytes, like DPS).
        primary_key: attestationType === 'symmetricKey' ? (keys?.primaryKey ?? generateSymmetricKey()) : null,
        secondary_key:
          attestationType === 'symmetricKey' ? (keys?.secondaryKey ?? generateSymmetricKey()) : null,
        etag: newEtag(),
        created_at: now,
        updated_at: now,
      });
    }
    return this.get(id);
  }

  /** PATCH (merge): displayName, enabled, type. */
  async patch(id: string, body: unknown): Promise<EnrollmentGroup> {
    const group = await this.requireGroup(id);
    if (!isObject(body)) throw commonError('ERR_VALIDATION', 'The body must be a JSON object.');
    this.checkEtag(body, group.etag);
    const displayName = field(body, 'displayName', 'string', false);
    const enabled = field(body, 'enabled', 'boolean', false);
    const type = field(body, 'type', 'string', false);
    if (displayName !== undefined && (displayName.trim() === '' || displayName.length > 255)) {
      throw provisioningError('ERR_GROUP_INVALID', "'displayName' must be 1–255 characters.");
    }
    if (type !== undefined && type !== 'iot' && type !== 'iotEdge') {
      throw provisioningError('ERR_GROUP_INVALID', "'type' must be 'iot' or 'iotEdge'.");
    }
    if (
      isObject(body['attestation']) &&
      body['attestation']['type'] !== undefined &&
      body['attestation']['type'] !== group.attestation_type
    ) {
      throw provisioningError('ERR_GROUP_INVALID', "The group's attestation type cannot change.");
    }
    const attestationPatch = body['attestation'];
    const keys =
      group.attestation_type === 'symmetricKey' && isObject(attestationPatch)
        ? readKeys(attestationPatch)
        : undefined;
    await this.store.updateGroup(id, {
      ...(displayName !== undefined ? { display_name: displayName } : {}),
      ...(enabled !== undefined ? { enabled: enabled ? 1 : 0 } : {}),
      ...(type !== undefined ? { type } : {}),
      ...(keys ? { primary_key: keys.primaryKey, secondary_key: keys.secondaryKey } : {}),
      etag: newEtag(),
      updated_at: nowIso(this.now()),
    });
    if (enabled === false) this.onRevoked?.(`enrollment group '${id}' disabled`, await this.scopeOf(id));
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    checkId('enrollmentGroupId', id);
    const scope = await this.scopeOf(id);
    if (!(await this.store.deleteGroup(id)))
      throw provisioningError('ERR_GROUP_NOT_FOUND', `Enrollment group '${id}' does not exist.`);
    this.onRevoked?.(`enrollment group '${id}' deleted`, scope);
  }

  async getCertificate(id: string, entry: string): Promise<SigningX509Certificate> {
    const { cert } = await this.requireCertificate(id, entry);
    return toApiCertificate(cert);
  }

  /** Upload (or replace) the CA certificate of an entry. It starts unverified unless `verified: true`. */
  async putCertificate(id: string, entry: string, body: unknown): Promise<SigningX509Certificate> {
    const group = await this.requireX509Group(id);
    checkEntry(entry);
    if (!isObject(body)) throw commonError('ERR_VALIDATION', 'The body must be a JSON object.');
    const verified = field(body, 'verified', 'boolean', false) ?? false;
    const certificate = parseUploadedCertificate(body['certificate']);
    if (!certificate.isCA) {
      throw provisioningError(
        'ERR_CERT_NOT_CA',
        `'${certificate.subjectCN ?? certificate.subject}' is not a CA certificate (no basicConstraints CA:true). Upload the root or intermediate CA that issued your devices; a device certificate belongs in an individual enrollment.`,
      );
    }
    const now = this.now();
    if (certificate.notAfter.getTime() < now.getTime()) {
      throw provisioningError(
        'ERR_CERT_EXPIRED',
        `'${certificate.subjectCN ?? certificate.subject}' expired on ${certificate.notAfter.toISOString()}.`,
      );
    }
    const existing = await this.store.getGroupCertificate(id, entry);
    this.checkEtag(body, existing?.etag);
    const other = await this.store.findCertificateBySha256(certificate.sha256Thumbprint);
    if (other && !(other.group_id === id && other.entry === entry)) {
      throw provisioningError(
        'ERR_CERT_IN_USE',
        `This certificate is already the ${other.entry} certificate of enrollment group '${other.group_id}'; one CA certificate cannot back two groups.`,
      );
    }
    await this.store.upsertGroupCertificate({
      group_id: group.id,
      entry,
      pem: certificate.pem,
      sha1: certificate.sha1Thumbprint,
      sha256: certificate.sha256Thumbprint,
      subject: certificate.subject,
      not_after: certificate.notAfter.toISOString(),
      verified: verified ? 1 : 0,
      verification_code: null,
      code_expires_at: null,
      etag: newEtag(),
      created_at: nowIso(now),
    });
    if (existing) {
      this.onRevoked?.(`the ${entry} certificate of enrollment group '${id}' replaced`, {
        kind: 'group',
        groupId: id,
        caSubjects: [existing.subject],
      });
    }
    return this.getCertificate(id, entry);
  }

  async deleteCertificate(id: string, entry: string): Promise<void> {
    await this.requireX509Group(id);
    checkEntry(entry);
    const removed = await this.store.getGroupCertificate(id, entry);
    if (!(await this.store.deleteGroupCertificate(id, entry))) {
      throw provisioningError('ERR_CERT_NOT_FOUND', `Enrollment group '${id}' has no ${entry} certificate.`);
    }
    this.onRevoked?.(`the ${entry} certificate of enrollment group '${id}' removed`, {
      kind: 'group',
      groupId: id,
      caSubjects: removed ? [removed.subject] : [],
    });
  }

  /** A fresh one-time code (48 upper-case hex characters, like Azure's); replaces any earlier code. */
  async generateVerificationCode(
    id: string,
    entry: string,
  ): Promise<{ verificationCode: string; expiresAt: string }> {
    const { cert } = await this.requireCertificate(id, entry);
    const verificationCode = randomHex(24);
    const expiresAt = new Date(this.now().getTime() + VERIFICATION_CODE_TTL_MS).toISOString();
    await this.store.updateGroupCertificate(id, cert.entry, {
      verification_code: verificationCode,
      code_expires_at: expiresAt,
      etag: newEtag(),
    });
    return { verificationCode, expiresAt };
  }

  /** Proof of possession: a certificate with CN = the outstanding code, signed by the CA's key. */
  async verify(id: string, entry: string, body: unknown): Promise<SigningX509Certificate> {
    const { cert } = await this.requireCertificate(id, entry);
    if (!isObject(body)) throw commonError('ERR_VALIDATION', 'The body must be a JSON object.');
    const verification = parseUploadedCertificate(body['certificate']);
    if (!cert.verification_code || !cert.code_expires_at) {
      throw provisioningError(
        'ERR_VERIFICATION_NO_CODE',
        cert.verified
          ? `The ${entry} certificate of '${id}' is already verified and its code is spent; generate a new code to verify again.`
          : `There is no outstanding verification code for the ${entry} certificate of '${id}': generate one first.`,
      );
    }
    const now = this.now();
    if (Date.parse(cert.code_expires_at) < now.getTime()) {
      throw provisioningError(
        'ERR_VERIFICATION_CODE_EXPIRED',
        `The verification code expired at ${cert.code_expires_at}: generate a new one.`,
      );
    }
    const [caCertificate] = readCertificates(cert.pem);
    try {
      checkProofOfPossession({
        verificationCertificate: verification,
        caCertificate: caCertificate!,
        code: cert.verification_code,
        time: now,
      });
    } catch (cause) {
      if (cause instanceof PkiError) {
        throw provisioningError('ERR_VERIFICATION_FAILED', `${cause.message} (${cause.code})`, {
          cause,
          detail: { pkiCode: cause.code },
        });
      }
      throw cause;
    }
    await this.store.updateGroupCertificate(id, cert.entry, {
      verified: 1,
      verification_code: null,
      code_expires_at: null,
      etag: newEtag(),
    });
    return this.getCertificate(id, entry);
  }

  /** The sessions a change of the whole group can touch (revocation/scope.ts). */
  private async scopeOf(id: string): Promise<RevocationScope> {
    const certs = await this.store.listGroupCertificates(id);
    return { kind: 'group', groupId: id, caSubjects: certs.map((c) => c.subject) };
  }

  private checkEtag(body: Record<string, unknown>, current: string | undefined): void {
    const etag = body['etag'];
    if (typeof etag === 'string' && etag !== '' && etag !== '*' && etag !== current) {
      throw commonError(
        'ERR_ETAG_MISMATCH',
        'The etag does not match the current version; read the resource again.',
      );
    }
  }

  private async requireGroup(id: string): Promise<GroupRow> {
    checkId('enrollmentGroupId', id);
    const group = await this.store.getGroup(id);
    if (!group) throw provisioningError('ERR_GROUP_NOT_FOUND', `Enrollment group '${id}' does not exist.`);
    return group;
  }

  private async requireX509Group(id: string): Promise<GroupRow> {
    const group = await this.requireGroup(id);
    if (group.attestation_type !== 'x509') {
      throw provisioningError(
        'ERR_GROUP_ATTESTATION_MISMATCH',
        `Enrollment group '${id}' uses ${group.attestation_type} attestation; certificates belong to X.509 groups.`,
      );
    }
    return group;
  }

  private async requireCertificate(
    id: string,
    entry: string,
  ): Promise<{ group: GroupRow; cert: GroupCertificateRow }> {
    const group = await this.requireX509Group(id);
    checkEntry(entry);
    const cert = await this.store.getGroupCertificate(id, entry);
    if (!cert)
      throw provisioningError(
        'ERR_CERT_NOT_FOUND',
        `Enrollment group '${id}' has no ${entry} certificate: upload one first.`,
      );
    return { group, cert };
  }

  private async toApi(g: GroupRow): Promise<EnrollmentGroup> {
    const base = {
      id: g.id,
      displayName: g.display_name,
      enabled: g.enabled === 1,
      type: g.type as 'iot' | 'iotEdge',
      etag: g.etag,
      idScope: currentIdScope(this.idScopeSource),
    };
    if (g.attestation_type === 'symmetricKey') {
      return {
        ...base,
        attestation: {
          type: 'symmetricKey',
          symmetricKey: { primaryKey: g.primary_key ?? '', secondaryKey: g.secondary_key ?? '' },
        },
      };
    }
    const certs = await this.store.listGroupCertificates(g.id);
    const signingCertificates: Partial<Record<CertificateEntry, SigningX509Certificate>> = {};
    for (const c of certs) signingCertificates[c.entry as CertificateEntry] = toApiCertificate(c);
    return { ...base, attestation: { type: 'x509', x509: { signingCertificates } } };
  }
}

/**
 * Supplied symmetric keys: both, base64, 16–64 bytes decoded (DPS's limits,
 * PROTOCOL.md §6.2). Absent → undefined (the caller generates or keeps them).
 */
export function readKeys(
  attestation: Record<string, unknown>,
): { primaryKey: string; secondaryKey: string } | undefined {
  const sk = attestation['symmetricKey'];
  if (sk === undefined || sk === null) return undefined;
  if (!isObject(sk))
    throw provisioningError(
      'ERR_GROUP_INVALID',
      "'attestation.symmetricKey' must be an object with primaryKey and secondaryKey.",
    );
  const out: Record<string, string> = {};
  for (const name of ['primaryKey', 'secondaryKey']) {
    const v = sk[name];
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(v) || v.length % 4 !== 0) {
      throw provisioningError(
        'ERR_GROUP_INVALID',
        `'attestation.symmetricKey.${name}' must be a base64 key.`,
      );
    }
    const bytes = Buffer.from(v, 'base64').length;
    if (bytes < 16 || bytes > 64)
      throw provisioningError(
        'ERR_GROUP_INVALID',
        `'attestation.symmetricKey.${name}' must decode to 16–64 bytes (it has ${bytes}).`,
      );
    out[name] = v;
  }
  return { primaryKey: out['primaryKey']!, secondaryKey: out['secondaryKey']! };
}

function checkEntry(entry: string): asserts entry is CertificateEntry {
  if (entry !== 'primary' && entry !== 'secondary') {
    throw commonError(
      'ERR_INVALID_ID',
      `Certificate entry '${entry}' is invalid: use 'primary' or 'secondary'.`,
    );
  }
}

function toApiCertificate(c: GroupCertificateRow): SigningX509Certificate {
  return {
    verified: c.verified === 1,
    info: { sha1Thumbprint: c.sha1, subject: c.subject, notAfter: c.not_after },
    etag: c.etag,
  };
}
