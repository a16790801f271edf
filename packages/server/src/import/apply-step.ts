/**
 * The per-kind apply step of an import: one transaction's services (the same classes the REST
 * routes call), which write each record and tell whether it was created, updated or unchanged.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Transaction } from 'kysely';

import { DeviceTemplateService } from '../app/device-templates.js';
import { parseTemplateBody } from '../app/dtdl-template.js';
import { GatehouseError } from '../errors.js';
import { DeviceTags } from '../hub/device-tags.js';
import { DeviceRegistry } from '../hub/devices.js';
import { TwinService } from '../hub/twins.js';
import { parseUploadedCertificate } from '../provisioning/certificate-input.js';
import { EnrollmentGroupService } from '../provisioning/enrollment-groups.js';
import { IndividualEnrollmentService } from '../provisioning/individual-enrollments.js';
import { ProvisioningStore } from '../provisioning/provisioning-store.js';
import type { Database, DevicesTable } from '../store/schema.js';
import { newEtag } from '../util.js';
import { planItem, type PlanItem } from './plan.js';
import type {
  DeviceRecord,
  DeviceTemplateRecord,
  EnrollmentGroupRecord,
  HubAuthentication,
  ImportRecord,
  IndividualEnrollmentRecord,
} from './records.js';

/** The device status the registry shows in its answers; an import never reads it. */
const NO_STATUS = {
  status: () => ({ connected: false, lastActivity: null, lastConnected: null }),
};

/**
 * One transaction's services: the same classes the REST routes call, on the transaction, so
 * their checks run and their writes roll back together.
 */
export class ApplyStep {
  private readonly store: ProvisioningStore;
  private readonly groups: EnrollmentGroupService;
  private readonly individual: IndividualEnrollmentService;
  private readonly templates: DeviceTemplateService;
  private readonly registry: DeviceRegistry;
  private readonly twins: TwinService;
  private readonly tags: DeviceTags;

  constructor(
    private readonly trx: Transaction<Database>,
    idScope: string,
    private readonly now: () => Date,
  ) {
    this.store = new ProvisioningStore(trx);
    this.groups = new EnrollmentGroupService({ store: this.store, idScope, now });
    this.individual = new IndividualEnrollmentService({ store: this.store, idScope, now });
    this.templates = new DeviceTemplateService(trx, now);
    this.registry = new DeviceRegistry(trx, NO_STATUS, now, (id) => this.templates.checkAssignable(id));
    this.twins = new TwinService(trx, now);
    this.tags = new DeviceTags(trx, now);
  }

  async record(record: ImportRecord): Promise<PlanItem> {
    try {
      const action = await this.apply(record);
      return planItem(
        action,
        record.kind,
        record.id,
        record.source,
        record.notes.length ? { notes: record.notes } : {},
      );
    } catch (err) {
      // A refusal of the service (validation) is the record's; anything else aborts the import.
      if (!(err instanceof GatehouseError)) throw err;
      return planItem('refused', record.kind, record.id, record.source, {
        code: err.code,
        reason: err.message,
      });
    }
  }

  private apply(record: ImportRecord): Promise<'created' | 'updated' | 'unchanged'> {
    switch (record.kind) {
      case 'deviceTemplate':
        return this.template(record);
      case 'enrollmentGroup':
        return this.group(record);
      case 'individualEnrollment':
        return this.enrollment(record);
      case 'device':
        return this.device(record);
    }
  }

  private async template(r: DeviceTemplateRecord): Promise<'created' | 'updated' | 'unchanged'> {
    const existing = await this.trx
      .selectFrom('device_templates')
      .select('document')
      .where('id', '=', r.id)
      .executeTakeFirst();
    if (existing && JSON.stringify(parseTemplateBody(r.body, r.id)) === existing.document) return 'unchanged';
    await this.templates.put(r.id, r.body);
    return existing ? 'updated' : 'created';
  }

  private async group(r: EnrollmentGroupRecord): Promise<'created' | 'updated' | 'unchanged'> {
    const before = await this.store.getGroup(r.id);
    const certificates = before ? await this.store.listGroupCertificates(r.id) : [];
    const b = r.body;
    const keys = b.attestation.symmetricKey;
    let same =
      before !== undefined &&
      before.display_name === b.displayName &&
      before.type === b.type &&
      before.enabled === (b.enabled ? 1 : 0) &&
      before.attestation_type === b.attestation.type &&
      (keys === undefined ||
        (before.primary_key === keys.primaryKey && before.secondary_key === keys.secondaryKey));
    if (!same) await this.groups.put(r.id, b);
    for (const entry of ['primary', 'secondary'] as const) {
      const wanted = r.certificates[entry];
      if (!wanted) continue;
      const held = certificates.find((c) => c.entry === entry);
      const parsed = parseUploadedCertificate(
        wanted.certificate,
        `attestation.x509.signingCertificates.${entry}.certificate`,
      );
      // Already there, and verified unless the import does not claim it (never downgraded).
      if (held && held.sha256 === parsed.sha256Thumbprint && (held.verified === 1 || !wanted.verified))
        continue;
      same = false;
      await this.groups.putCertificate(r.id, entry, wanted);
    }
    return same ? 'unchanged' : before ? 'updated' : 'created';
  }

  private async enrollment(r: IndividualEnrollmentRecord): Promise<'created' | 'updated' | 'unchanged'> {
    const before = await this.store.getIndividualEnrollment(r.id);
    if (before && before.type === r.body['type'] && this.sameAttestation(before, r.body)) return 'unchanged';
    await this.individual.put(r.id, r.body);
    return before ? 'updated' : 'created';
  }

  private sameAttestation(
    before: {
      primary_key: string | null;
      secondary_key: string | null;
      primary_sha256: string | null;
      secondary_sha256: string | null;
    },
    body: Record<string, unknown>,
  ): boolean {
    if (body['type'] === 'symmetricKey') {
      const k = body['symmetricKey'] as { primaryKey: string; secondaryKey: string };
      return before.primary_key === k.primaryKey && before.secondary_key === k.secondaryKey;
    }
    const cc = (body['x509'] as { clientCertificates: Record<string, { certificate: string } | undefined> })
      .clientCertificates;
    const sha = (entry: string) => {
      const c = cc[entry];
      return c
        ? parseUploadedCertificate(c.certificate, `x509.clientCertificates.${entry}.certificate`)
            .sha256Thumbprint
        : null;
    };
    return before.primary_sha256 === sha('primary') && before.secondary_sha256 === sha('secondary');
  }

  private async device(r: DeviceRecord): Promise<'created' | 'updated' | 'unchanged'> {
    const before = await this.trx.selectFrom('devices').selectAll().where('id', '=', r.id).executeTakeFirst();
    let changed = false;
    if (!before) {
      await this.registry.put(r.id, r.fields);
      changed = true;
    } else if (this.fieldsDiffer(before, r.fields)) {
      await this.registry.patch(r.id, r.fields);
      changed = true;
    }
    if (r.authentication?.type === 'certificateAuthority' && !(await this.hasVerifiedCa())) {
      r.notes.push(
        'CA authentication needs a verified CA certificate in an X.509 enrollment group: there is none yet',
      );
    }
    if (r.authentication) {
      const columns = authColumns(r.authentication);
      const current =
        before ??
        (await this.trx.selectFrom('devices').selectAll().where('id', '=', r.id).executeTakeFirstOrThrow());
      if ((Object.keys(columns) as Array<keyof typeof columns>).some((k) => current[k] !== columns[k])) {
        await this.trx
          .updateTable('devices')
          .set({ ...columns, etag: newEtag(), updated_at: this.now().toISOString() })
          .where('id', '=', r.id)
          .execute();
        changed = true;
      }
    }
    if (r.desired) {
      const twin = await this.twins.read(r.id);
      const patch: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r.desired))
        if (!isDeepStrictEqual(twin.desired[k], v)) patch[k] = v;
      if (Object.keys(patch).length > 0) {
        await this.twins.patchDesired(r.id, patch);
        changed = true;
      }
    }
    if (r.tags && !isDeepStrictEqual(await this.tags.get(r.id), r.tags)) {
      await this.tags.replace(r.id, r.tags);
      changed = true;
    }
    return !before ? 'created' : changed ? 'updated' : 'unchanged';
  }

  /** Whether any X.509 group holds a verified CA (what hub CA authentication chains to). */
  private async hasVerifiedCa(): Promise<boolean> {
    const row = await this.trx
      .selectFrom('group_certificates')
      .select('group_id')
      .where('verified', '=', 1)
      .executeTakeFirst();
    return row !== undefined;
  }

  private fieldsDiffer(
    before: { display_name: string; template: string | null; enabled: number; simulated: number },
    f: DeviceRecord['fields'],
  ): boolean {
    return (
      (f.displayName !== undefined && f.displayName !== before.display_name) ||
      (f.template !== undefined && f.template !== before.template) ||
      (f.enabled !== undefined && (f.enabled ? 1 : 0) !== before.enabled) ||
      (f.simulated !== undefined && (f.simulated ? 1 : 0) !== before.simulated)
    );
  }
}

type AuthColumns = Pick<
  DevicesTable,
  | 'auth_type'
  | 'sas_primary_key'
  | 'sas_secondary_key'
  | 'x509_primary_sha1'
  | 'x509_primary_sha256'
  | 'x509_secondary_sha1'
  | 'x509_secondary_sha256'
>;

/** The hub's columns for an IoT Hub authentication (hub/device-authentication.ts reads them). */
function authColumns(a: HubAuthentication): AuthColumns {
  const none: AuthColumns = {
    auth_type: 'none',
    sas_primary_key: null,
    sas_secondary_key: null,
    x509_primary_sha1: null,
    x509_primary_sha256: null,
    x509_secondary_sha1: null,
    x509_secondary_sha256: null,
  };
  switch (a.type) {
    case 'sas':
      return { ...none, auth_type: 'sas', sas_primary_key: a.primaryKey, sas_secondary_key: a.secondaryKey };
    case 'selfSigned':
      return {
        ...none,
        auth_type: 'x509Thumbprint',
        x509_primary_sha1: a.primary.sha1,
        x509_primary_sha256: a.primary.sha256,
        x509_secondary_sha1: a.secondary?.sha1 ?? null,
        x509_secondary_sha256: a.secondary?.sha256 ?? null,
      };
    case 'certificateAuthority':
      return { ...none, auth_type: 'x509CA' };
    case 'none':
      return none;
  }
}
