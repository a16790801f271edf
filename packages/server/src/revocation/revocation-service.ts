/**
 * Certificate revocation for enrollment groups: CRL import (`POST /api/enrollmentGroups/{id}/crl`),
 * the group's `revokedCertificates`, and the lookup that provisioning and hub connects make
 * (RFC 5280 names a certificate by issuer + serial number, so a chain is checked certificate
 * by certificate: a revoked intermediate CA refuses every device below it).
 */
import { readCertificate, type Certificate } from '@gatehouse/pki';

import { provisioningError } from '../provisioning/errors.js';
import type { ProvisioningStore } from '../provisioning/provisioning-store.js';
import { nowIso } from '../util.js';
import { checkId } from '../validation.js';
import { checkCrl, normalizeSerial, readCrl } from './crl.js';
import { revocationError } from './errors.js';
import type { RevocationStore, RevokedRow } from './revocation-store.js';
import type { RevocationScope } from './scope.js';

import type { RevokedCertificate } from '../provisioning/rest-shapes.js';

export type { RevokedCertificate };

/** One imported CRL of a group CA. */
export interface ImportedCrl {
  issuer: string;
  caSha256Thumbprint: string;
  thisUpdate: string;
  nextUpdate?: string;
  importedAt: string;
}

/** `GET /api/enrollmentGroups/{id}/crl`. */
export interface GroupRevocation {
  groupId: string;
  crls: ImportedCrl[];
  revokedCertificates: RevokedCertificate[];
}

export interface RevocationServiceOptions {
  store: RevocationStore;
  provisioning: ProvisioningStore;
  now?: () => Date;
  /** Told after a CRL changed what is revoked: live sessions are checked again (session-sweep.ts). */
  onRevoked?: (reason: string, scope: RevocationScope) => void;
}

export class RevocationService {
  private readonly store: RevocationStore;
  private readonly provisioning: ProvisioningStore;
  private readonly now: () => Date;
  onRevoked: ((reason: string, scope: RevocationScope) => void) | undefined;

  constructor(options: RevocationServiceOptions) {
    this.store = options.store;
    this.provisioning = options.provisioning;
    this.now = options.now ?? (() => new Date());
    this.onRevoked = options.onRevoked;
  }

  /** Checks and stores the CRL of one of the group's CAs; closes the sessions it revokes. */
  async importCrl(groupId: string, body: Buffer | string | undefined | null): Promise<GroupRevocation> {
    await this.requireX509Group(groupId);
    const crl = readCrl(body);
    const rows = await this.provisioning.listGroupCertificates(groupId);
    const cas = rows.map((r) => readCertificate(r.pem));
    const now = this.now();
    const checked = await checkCrl(crl, cas, now);
    const previous = await this.store.getCrl(groupId, checked.ca.sha256Thumbprint);
    if (previous && Date.parse(previous.this_update) > checked.thisUpdate.getTime()) {
      throw revocationError(
        'ERR_CRL_STALE',
        `The group already holds a CRL of '${checked.ca.subject}' from ${previous.this_update}; this one is from ${checked.thisUpdate.toISOString()}.`,
      );
    }
    const issuer = checked.ca.subject;
    const ca_sha256 = checked.ca.sha256Thumbprint;
    await this.store.replaceCrl(
      {
        group_id: groupId,
        ca_sha256,
        issuer,
        this_update: checked.thisUpdate.toISOString(),
        next_update: checked.nextUpdate?.toISOString() ?? null,
        pem: checked.pem,
        imported_at: nowIso(now),
      },
      checked.entries.map((e) => ({
        group_id: groupId,
        ca_sha256,
        issuer,
        serial: e.serial,
        revoked_at: e.revokedAt,
      })),
    );
    this.onRevoked?.(`certificate revoked by the CRL of '${issuer}' (enrollment group '${groupId}')`, {
      kind: 'certificates',
      revoked: checked.entries.map((e) => ({ issuer, serial: e.serial })),
    });
    return this.get(groupId);
  }

  async get(groupId: string): Promise<GroupRevocation> {
    await this.requireX509Group(groupId);
    return this.read(groupId);
  }

  /** The group's revoked certificates (empty for a group without CRLs, or a symmetric-key group). */
  async revokedCertificates(groupId: string): Promise<RevokedCertificate[]> {
    return (await this.store.listRevoked(groupId)).map(toApi);
  }

  /** The first certificate of `chain` that an imported CRL revokes, if any. */
  findRevoked(chain: readonly Certificate[]): Promise<RevokedRow | undefined> {
    return this.store.findRevoked(
      chain.map((c) => ({ issuer: c.issuer, serial: normalizeSerial(c.serialNumber) })),
    );
  }

  /** A test for "is this certificate (issuer + serial) revoked", from one read of every CRL. */
  async revokedTest(): Promise<(certificate: Certificate) => boolean> {
    const set = await this.store.revokedKeys();
    return (c) => set.has(`${c.issuer}\u0000${normalizeSerial(c.serialNumber)}`);
  }

  private async read(groupId: string): Promise<GroupRevocation> {
    const [crls, revoked] = await Promise.all([
      this.store.listCrls(groupId),
      this.store.listRevoked(groupId),
    ]);
    return {
      groupId,
      crls: crls.map((c) => ({
        issuer: c.issuer,
        caSha256Thumbprint: c.ca_sha256,
        thisUpdate: c.this_update,
        ...(c.next_update !== null ? { nextUpdate: c.next_update } : {}),
        importedAt: c.imported_at,
      })),
      revokedCertificates: revoked.map(toApi),
    };
  }

  private async requireX509Group(groupId: string): Promise<void> {
    checkId('enrollmentGroupId', groupId);
    const group = await this.provisioning.getGroup(groupId);
    if (!group)
      throw provisioningError('ERR_GROUP_NOT_FOUND', `Enrollment group '${groupId}' does not exist.`);
    if (group.attestation_type !== 'x509') {
      throw provisioningError(
        'ERR_GROUP_ATTESTATION_MISMATCH',
        `Enrollment group '${groupId}' uses ${group.attestation_type} attestation; CRLs belong to X.509 groups.`,
      );
    }
  }
}

function toApi(r: RevokedRow): RevokedCertificate {
  return { serialNumber: r.serial, issuer: r.issuer, revocationDate: r.revoked_at };
}
