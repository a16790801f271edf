import type { Compilable, Kysely, Selectable, Insertable, Updateable } from 'kysely';
import { CompiledQueries } from '../store/compiled-queries.js';
import { serializable } from '../store/transactions.js';
import { newEtag } from '../util.js';
import { WalCommit } from './wal-commit.js';
import type {
  Database,
  DevicesTable,
  EnrollmentGroupsTable,
  GroupCertificatesTable,
  IndividualEnrollmentsTable,
  ProvisioningAttemptsTable,
  RegistrationsTable,
} from '../store/schema.js';

export type GroupRow = Selectable<EnrollmentGroupsTable>;
export type GroupCertificateRow = Selectable<GroupCertificatesTable>;
export type IndividualEnrollmentRow = Selectable<IndividualEnrollmentsTable>;
export type DeviceRow = Selectable<DevicesTable>;
export type RegistrationRow = Selectable<RegistrationsTable>;
export type AttemptRow = Selectable<ProvisioningAttemptsTable>;

/** A group certificate joined with the state of its group, for attestation. */
export interface GroupCertificateWithGroup extends GroupCertificateRow {
  group_enabled: number;
  group_display_name: string;
}

/**
 * The queries the provisioning context needs. Written with kysely only, so the
 * same code runs on SQLite and PostgreSQL.
 */
export class ProvisioningStore {
  /**
   * Every attestation reads all X.509 group certificates; they change rarely.
   * The list is cached, dropped on every write through this store, and at most
   * a few seconds old when another process (a second node) changed it.
   */
  private groupCertificates: { at: number; rows: Promise<GroupCertificateWithGroup[]> } | undefined;
  private static readonly GROUP_CERTIFICATE_TTL_MS = 3_000;

  /** Queries of the registration path, compiled once (store/compiled-queries.ts). */
  private readonly compiled: CompiledQueries<Database>;

  constructor(readonly db: Kysely<Database>) {
    this.compiled = new CompiledQueries(db);
  }

  /** The first row of a lookup by one key, compiled once. */
  private async pointQuery<R>(name: string, build: (key: string) => Compilable<R>, key: string) {
    return (await this.compiled.rows(name, build, [key]))[0];
  }

  private invalidate(): void {
    this.groupCertificates = undefined;
  }

  /**
   * Runs `fn` in a transaction, or in the caller's when this store was built on one (an import
   * runs the services on its transaction; kysely cannot nest `transaction()`).
   */
  private atomically<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.db.isTransaction ? fn(this.db) : serializable(this.db, fn);
  }

  // Settings
  async getSetting(key: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', key)
      .executeTakeFirst();
    return row?.value;
  }

  async setSettingIfAbsent(key: string, value: string): Promise<string> {
    await this.db
      .insertInto('settings')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    return (await this.getSetting(key)) as string;
  }

  // Enrollment groups
  listGroups(): Promise<GroupRow[]> {
    return this.db.selectFrom('enrollment_groups').selectAll().orderBy('created_at').orderBy('id').execute();
  }

  getGroup(id: string): Promise<GroupRow | undefined> {
    return this.db.selectFrom('enrollment_groups').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insertGroup(row: Insertable<EnrollmentGroupsTable>): Promise<void> {
    await this.db.insertInto('enrollment_groups').values(row).execute();
    this.invalidate();
  }

  async updateGroup(id: string, patch: Updateable<EnrollmentGroupsTable>): Promise<void> {
    await this.db.updateTable('enrollment_groups').set(patch).where('id', '=', id).execute();
    this.invalidate();
  }

  async deleteGroup(id: string): Promise<boolean> {
    this.invalidate();
    return this.atomically(async (trx) => {
      await trx.deleteFrom('group_certificates').where('group_id', '=', id).execute();
      const r = await trx.deleteFrom('enrollment_groups').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  // Group certificates
  listGroupCertificates(groupId: string): Promise<GroupCertificateRow[]> {
    return this.db.selectFrom('group_certificates').selectAll().where('group_id', '=', groupId).execute();
  }

  getGroupCertificate(groupId: string, entry: string): Promise<GroupCertificateRow | undefined> {
    return this.db
      .selectFrom('group_certificates')
      .selectAll()
      .where('group_id', '=', groupId)
      .where('entry', '=', entry)
      .executeTakeFirst();
  }

  findCertificateBySha256(sha256: string): Promise<GroupCertificateRow | undefined> {
    return this.db
      .selectFrom('group_certificates')
      .selectAll()
      .where('sha256', '=', sha256)
      .executeTakeFirst();
  }

  async upsertGroupCertificate(row: Insertable<GroupCertificatesTable>): Promise<void> {
    // Serializable: two uploads to one entry at once (two nodes) replace it one after the other;
    // inside an import's transaction, part of that one.
    await this.atomically(async (trx) => {
      await trx
        .deleteFrom('group_certificates')
        .where('group_id', '=', row.group_id)
        .where('entry', '=', row.entry)
        .execute();
      await trx.insertInto('group_certificates').values(row).execute();
    });
    this.invalidate();
  }

  async updateGroupCertificate(
    groupId: string,
    entry: string,
    patch: Updateable<GroupCertificatesTable>,
  ): Promise<void> {
    await this.db
      .updateTable('group_certificates')
      .set(patch)
      .where('group_id', '=', groupId)
      .where('entry', '=', entry)
      .execute();
    this.invalidate();
  }

  async deleteGroupCertificate(groupId: string, entry: string): Promise<boolean> {
    this.invalidate();
    const r = await this.db
      .deleteFrom('group_certificates')
      .where('group_id', '=', groupId)
      .where('entry', '=', entry)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Every certificate of every X.509 group, with the group's enabled flag. */
  listX509GroupCertificates(): Promise<GroupCertificateWithGroup[]> {
    const now = Date.now();
    if (
      this.groupCertificates &&
      now - this.groupCertificates.at < ProvisioningStore.GROUP_CERTIFICATE_TTL_MS
    ) {
      return this.groupCertificates.rows;
    }
    const rows = this.queryX509GroupCertificates();
    this.groupCertificates = { at: now, rows };
    rows.catch(() => this.invalidate());
    return rows;
  }

  private queryX509GroupCertificates(): Promise<GroupCertificateWithGroup[]> {
    return this.db
      .selectFrom('group_certificates as c')
      .innerJoin('enrollment_groups as g', 'g.id', 'c.group_id')
      .selectAll('c')
      .select(['g.enabled as group_enabled', 'g.display_name as group_display_name'])
      .where('g.attestation_type', '=', 'x509')
      .execute();
  }

  // Individual enrollments
  getIndividualEnrollment(deviceId: string): Promise<IndividualEnrollmentRow | undefined> {
    return this.pointQuery(
      'individual-by-id',
      (key) => this.db.selectFrom('individual_enrollments').selectAll().where('device_id', '=', key),
      deviceId,
    );
  }

  findIndividualEnrollmentByThumbprint(sha256: string): Promise<IndividualEnrollmentRow | undefined> {
    return this.pointQuery(
      'individual-by-thumbprint',
      (key) =>
        this.db
          .selectFrom('individual_enrollments')
          .selectAll()
          .where((eb) => eb.or([eb('primary_sha256', '=', key), eb('secondary_sha256', '=', key)])),
      sha256,
    );
  }

  /**
   * The individual enrollment of an X.509 device in one query (PROTOCOL.md §7.1): the one of
   * its registration ID, else one that holds its certificate's thumbprint.
   */
  async findIndividualEnrollmentFor(
    registrationId: string,
    sha256: string,
  ): Promise<IndividualEnrollmentRow | undefined> {
    const rows = await this.compiled.rows(
      'individual-for-device',
      (id, thumbprint) =>
        this.db
          .selectFrom('individual_enrollments')
          .selectAll()
          .where((eb) =>
            eb.or([
              eb('device_id', '=', id!),
              eb('primary_sha256', '=', thumbprint!),
              eb('secondary_sha256', '=', thumbprint!),
            ]),
          ),
      [registrationId, sha256],
    );
    return rows.find((r) => r.device_id === registrationId) ?? rows[0];
  }

  async upsertIndividualEnrollment(row: Insertable<IndividualEnrollmentsTable>): Promise<void> {
    await this.db
      .insertInto('individual_enrollments')
      .values(row)
      .onConflict((oc) => oc.column('device_id').doUpdateSet({ ...row, created_at: undefined }))
      .execute();
  }

  async deleteIndividualEnrollment(deviceId: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('individual_enrollments')
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  // Devices (the part provisioning writes; the hub and app contexts own the rest)
  getDevice(id: string): Promise<DeviceRow | undefined> {
    return this.pointQuery(
      'device',
      (key) => this.db.selectFrom('devices').selectAll().where('id', '=', key),
      id,
    );
  }

  async insertDevice(row: Insertable<DevicesTable>): Promise<void> {
    await this.db
      .insertInto('devices')
      .values(row)
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  // Registrations
  getRegistration(registrationId: string): Promise<RegistrationRow | undefined> {
    return this.pointQuery(
      'registration',
      (key) => this.db.selectFrom('registrations').selectAll().where('registration_id', '=', key),
      registrationId,
    );
  }

  /**
   * Record an assignment: the registration and the hub device, in one
   * transaction, so a device never sees `assigned` for a device the hub lacks.
   *
   * Group commit: assignments that arrive while a commit is being prepared or running share
   * the next transaction, so a burst of registrations costs one durable commit (one fsync
   * with SQLite's `synchronous = FULL`) instead of one each. Each promise still resolves only
   * once its rows are committed; if a shared transaction fails, its assignments are retried
   * one by one so each caller gets its own outcome.
   */
  saveAssignment(
    registration: Insertable<RegistrationsTable>,
    device: Insertable<DevicesTable>,
    deviceUpdate: Updateable<DevicesTable>,
  ): Promise<void> {
    const assignment = { registration, device, deviceUpdate };
    // Inside an import's transaction: write there (its commit is the caller's).
    if (this.db.isTransaction) return this.writeAssignment(this.db, assignment);
    return new Promise<void>((resolve, reject) => {
      this.pendingAssignments.push({ ...assignment, resolve, reject });
      if (!this.assignmentFlush) this.assignmentFlush = this.flushAssignments();
    });
  }

  private pendingAssignments: PendingAssignment[] = [];
  private assignmentFlush: Promise<void> | undefined;
  /** Commits whose fsync runs off the event loop (SQLite); see wal-commit.ts. */
  private walCommit: WalCommit | undefined;

  private async flushAssignments(): Promise<void> {
    // Let the requests already read in this turn of the event loop join the batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const commit = (this.walCommit ??= new WalCommit(this.db));
    while (this.pendingAssignments.length > 0) {
      const batch = this.pendingAssignments.splice(0);
      try {
        await commit.run(async (trx) => {
          for (const a of batch) await this.writeAssignment(trx, a);
        });
        for (const a of batch) a.resolve();
      } catch (err) {
        if (batch.length === 1) {
          batch[0]!.reject(err);
          continue;
        }
        for (const a of batch) {
          try {
            await commit.run((trx) => this.writeAssignment(trx, a));
            a.resolve();
          } catch (one) {
            a.reject(one);
          }
        }
      }
    }
    this.assignmentFlush = undefined;
  }

  /** The assignment's two upserts, each compiled once for its set of columns. */
  private async writeAssignment(db: Kysely<Database>, a: Assignment): Promise<void> {
    await this.compiled.run(db, 'assign-device', [a.device, a.deviceUpdate], (device, update) =>
      db
        .insertInto('devices')
        .values(device as Insertable<DevicesTable>)
        .onConflict((oc) => oc.column('id').doUpdateSet(update as Updateable<DevicesTable>)),
    );
    const registration: Record<string, unknown> = a.registration;
    await this.compiled.run(
      db,
      'assign-registration',
      [registration, { ...registration, created_at: undefined }],
      (values, update) =>
        db
          .insertInto('registrations')
          .values(values as Insertable<RegistrationsTable>)
          .onConflict((oc) =>
            oc.column('registration_id').doUpdateSet(update as Updateable<RegistrationsTable>),
          ),
    );
  }

  /** Sets the template of a device that has none (and a new etag); true when it did. */
  async assignTemplateIfUnset(deviceId: string, template: string, now: string): Promise<boolean> {
    const result = await this.db
      .updateTable('devices')
      .set({ template, etag: newEtag(), updated_at: now })
      .where('id', '=', deviceId)
      .where('template', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  // Refusal diagnostics
  async insertAttempt(row: Insertable<ProvisioningAttemptsTable>): Promise<void> {
    await this.db.insertInto('provisioning_attempts').values(row).execute();
  }

  listAttempts(options: { registrationId?: string; limit: number; before?: number }): Promise<AttemptRow[]> {
    let q = this.db.selectFrom('provisioning_attempts').selectAll();
    if (options.registrationId !== undefined) q = q.where('registration_id', '=', options.registrationId);
    if (options.before !== undefined) q = q.where('id', '<', options.before);
    return q.orderBy('id', 'desc').limit(options.limit).execute();
  }
}

interface Assignment {
  registration: Insertable<RegistrationsTable>;
  device: Insertable<DevicesTable>;
  deviceUpdate: Updateable<DevicesTable>;
}

interface PendingAssignment extends Assignment {
  resolve: () => void;
  reject: (err: unknown) => void;
}
