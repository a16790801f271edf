/**
 * The revocation tables (migration.ts) over either database. The tables are this context's
 * own, so their types extend the shared `Database` here rather than in store/schema.ts.
 */
import type { Kysely } from 'kysely';

import { CompiledQueries } from '../store/compiled-queries.js';
import type { Database } from '../store/schema.js';

export interface GroupCrlsTable {
  group_id: string;
  ca_sha256: string;
  issuer: string;
  this_update: string;
  next_update: string | null;
  pem: string;
  imported_at: string;
}

export interface RevokedCertificatesTable {
  group_id: string;
  ca_sha256: string;
  issuer: string;
  serial: string;
  revoked_at: string;
}

export interface RevocationDatabase extends Database {
  group_crls: GroupCrlsTable;
  revoked_certificates: RevokedCertificatesTable;
}

export type GroupCrlRow = GroupCrlsTable;
export type RevokedRow = RevokedCertificatesTable;

/** Rows per INSERT: both databases take a few hundred parameters per statement comfortably. */
const INSERT_CHUNK = 100;

export class RevocationStore {
  private readonly db: Kysely<RevocationDatabase>;

  private readonly compiled: CompiledQueries<RevocationDatabase>;

  constructor(db: Kysely<Database>) {
    this.db = db as unknown as Kysely<RevocationDatabase>;
    this.compiled = new CompiledQueries(this.db);
  }

  getCrl(groupId: string, caSha256: string): Promise<GroupCrlRow | undefined> {
    return this.db
      .selectFrom('group_crls')
      .selectAll()
      .where('group_id', '=', groupId)
      .where('ca_sha256', '=', caSha256)
      .executeTakeFirst();
  }

  listCrls(groupId: string): Promise<GroupCrlRow[]> {
    return this.db.selectFrom('group_crls').selectAll().where('group_id', '=', groupId).execute();
  }

  /** Replaces the group CA's CRL and its revoked serials in one transaction. */
  async replaceCrl(crl: GroupCrlRow, revoked: readonly RevokedRow[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('revoked_certificates')
        .where('group_id', '=', crl.group_id)
        .where('ca_sha256', '=', crl.ca_sha256)
        .execute();
      await trx
        .deleteFrom('group_crls')
        .where('group_id', '=', crl.group_id)
        .where('ca_sha256', '=', crl.ca_sha256)
        .execute();
      await trx.insertInto('group_crls').values(crl).execute();
      for (let i = 0; i < revoked.length; i += INSERT_CHUNK) {
        await trx
          .insertInto('revoked_certificates')
          .values(revoked.slice(i, i + INSERT_CHUNK))
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
    });
  }

  listRevoked(groupId: string): Promise<RevokedRow[]> {
    return this.db
      .selectFrom('revoked_certificates')
      .selectAll()
      .where('group_id', '=', groupId)
      .orderBy('revoked_at')
      .orderBy('serial')
      .execute();
  }

  /** The first of `certificates` (issuer + serial) that some imported CRL revokes. */
  async findRevoked(
    certificates: ReadonlyArray<{ issuer: string; serial: string }>,
  ): Promise<RevokedRow | undefined> {
    if (certificates.length === 0) return undefined;
    // Every registration and connection with a certificate asks: compiled once per chain length.
    const rows = await this.compiled.rows(
      `revoked-${certificates.length}`,
      (...keys) =>
        this.db
          .selectFrom('revoked_certificates')
          .selectAll()
          .where((eb) =>
            eb.or(
              certificates.map((_, i) =>
                eb.and([eb('issuer', '=', keys[2 * i]!), eb('serial', '=', keys[2 * i + 1]!)]),
              ),
            ),
          )
          .limit(1),
      certificates.flatMap((c) => [c.issuer, c.serial]),
    );
    return rows[0];
  }

  /** Revoked serials by issuer for the certificates page: `issuer\u0000serial` keys. */
  async revokedKeys(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('revoked_certificates').select(['issuer', 'serial']).execute();
    return new Set(rows.map((r) => `${r.issuer}\u0000${r.serial}`));
  }

  async devicesOfGroup(groupId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('devices')
      .select('id')
      .where('enrollment_group_id', '=', groupId)
      .execute();
    return rows.map((r) => r.id);
  }

  groupEnabled(groupId: string): Promise<{ enabled: number } | undefined> {
    return this.db
      .selectFrom('enrollment_groups')
      .select('enabled')
      .where('id', '=', groupId)
      .executeTakeFirst();
  }
}
