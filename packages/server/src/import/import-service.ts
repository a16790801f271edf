/**
 * The planner and apply step of an import. The readers turn files into records; here every
 * record goes through the service that handles the same resource over REST (so an imported
 * record is checked exactly like a created one), inside one database transaction: a dry run,
 * or any refused record, rolls the whole transaction back (all or nothing). A record that
 * equals what the database holds is `unchanged` and not written, so a second run changes
 * nothing. Only kysely queries, so it runs on SQLite and PostgreSQL alike.
 */
import { DeviceTags } from '../hub/device-tags.js';
import { isDeepStrictEqual } from 'node:util';
import type { Kysely, Transaction } from 'kysely';

import { DeviceTemplateService } from '../app/device-templates.js';
import { parseTemplateBody } from '../app/dtdl-template.js';
import { GatehouseError } from '../errors.js';
import { DeviceRegistry } from '../hub/devices.js';
import { TwinService } from '../hub/twins.js';
import { parseUploadedCertificate } from '../provisioning/certificate-input.js';
import { EnrollmentGroupService } from '../provisioning/enrollment-groups.js';
import { ID_SCOPE_PATTERN } from '../provisioning/id-scope.js';
import { IndividualEnrollmentService } from '../provisioning/individual-enrollments.js';
import { ProvisioningStore } from '../provisioning/provisioning-store.js';
import type { Database, DevicesTable } from '../store/schema.js';
import { newEtag } from '../util.js';
import { isObject } from '../validation.js';
import { readCentralObjects } from './central-app.js';
import { collectDpsCertificates, readDpsEnrollments, type DpsCertificate } from './dps-enrollments.js';
import { importError } from './errors.js';
import { readHubIdentities } from './hub-identities.js';
import {
  IMPORT_FORMATS,
  planItem,
  summarize,
  type ImportFormat,
  type ImportPlan,
  type PlanItem,
} from './plan.js';
import type {
  DeviceRecord,
  DeviceTemplateRecord,
  EnrollmentGroupRecord,
  HubAuthentication,
  ImportRecord,
  IndividualEnrollmentRecord,
  ReadResult,
} from './records.js';

export interface ImportFile {
  name: string;
  content: string;
}

export interface ImportRequest {
  format: ImportFormat;
  files: ImportFile[];
  dryRun: boolean;
  /** DPS signing certificates were trusted in Azure: import them as verified. */
  verified: boolean;
  /** Make this the application's ID scope (the Azure one, so devices keep their configuration). */
  idScope?: string;
}

export interface ImportServiceOptions {
  /** The application's ID scope now. */
  idScope: () => string;
  /** Called after a committed import changed the ID scope. */
  onIdScopeChanged?: (idScope: string) => void;
  /** Called after a committed import with the IDs of the devices it created or changed. */
  onDevicesChanged?: (ids: string[]) => void;
  now?: () => Date;
}

/** Thrown inside the transaction to roll it back after a dry run or a refusal. */
class Rollback extends Error {}

/** The order records are applied in: templates before the devices that name them. */
const ORDER: Record<ImportRecord['kind'], number> = {
  deviceTemplate: 0,
  enrollmentGroup: 1,
  device: 2,
  individualEnrollment: 3,
};

export class ImportService {
  private readonly now: () => Date;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: ImportServiceOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** Checks the shape of a REST body: `{ format, files: [{ name, content }], idScope?, verified? }`. */
  static parseRequest(body: unknown, query: { dryRun?: unknown }): ImportRequest {
    if (!isObject(body)) throw importError('ERR_IMPORT_FORMAT', 'The body must be a JSON object.');
    const format = body['format'];
    if (typeof format !== 'string' || !(IMPORT_FORMATS as readonly string[]).includes(format)) {
      throw importError('ERR_IMPORT_FORMAT', `'format' must be one of ${IMPORT_FORMATS.join(', ')}.`);
    }
    const files = body['files'];
    if (!Array.isArray(files) || files.length === 0) {
      throw importError('ERR_IMPORT_FORMAT', "'files' must be a non-empty array of { name, content }.");
    }
    const parsed: ImportFile[] = files.map((f, i) => {
      if (
        !isObject(f) ||
        typeof f['name'] !== 'string' ||
        f['name'] === '' ||
        typeof f['content'] !== 'string'
      ) {
        throw importError('ERR_IMPORT_FORMAT', `'files[${i}]' must be { name: string, content: string }.`);
      }
      return { name: f['name'], content: f['content'] };
    });
    const idScope = body['idScope'];
    if (idScope !== undefined && idScope !== null && typeof idScope !== 'string') {
      throw importError('ERR_ID_SCOPE_INVALID', "'idScope' must be a string.");
    }
    const request: ImportRequest = {
      format: format as ImportFormat,
      files: parsed,
      dryRun: flag(query.dryRun) || body['dryRun'] === true,
      verified: body['verified'] === true,
    };
    if (typeof idScope === 'string' && idScope !== '') request.idScope = checkIdScope(idScope);
    return request;
  }

  async run(request: ImportRequest): Promise<ImportPlan> {
    const items: PlanItem[] = [];
    const records: ImportRecord[] = [];
    const certificates = request.format === 'dps' ? collectDpsCertificates(request.files) : new Map();
    for (const file of request.files) {
      const read = this.read(request, file, certificates);
      records.push(...read.records);
      for (const r of read.refusals) {
        // A line read too little to tell its kind: in a hub file every record is a device.
        const kind = r.kind ?? (request.format === 'hub' ? 'device' : 'record');
        items.push(planItem('refused', kind, r.id, r.source, { code: r.code, reason: r.message }));
      }
    }
    const unique = refuseDuplicates(records, items);
    unique.sort((a, b) => ORDER[a.kind] - ORDER[b.kind]);

    let idScope = this.options.idScope();
    const requested = request.idScope;
    let changedDevices: string[] = [];
    let applied = false;
    try {
      await this.db.transaction().execute(async (trx) => {
        if (requested !== undefined) {
          const stored = await trx
            .selectFrom('settings')
            .select('value')
            .where('key', '=', 'idScope')
            .executeTakeFirst();
          if (stored?.value === requested) items.push(planItem('unchanged', 'idScope', requested, undefined));
          else {
            await trx
              .insertInto('settings')
              .values({ key: 'idScope', value: requested })
              .onConflict((oc) => oc.column('key').doUpdateSet({ value: requested }))
              .execute();
            items.push(planItem(stored ? 'updated' : 'created', 'idScope', requested, undefined));
          }
        }
        const scope = requested ?? idScope;
        const apply = new ApplyStep(trx, scope, this.now);
        for (const record of unique) items.push(await apply.record(record));
        changedDevices = items
          .filter((i) => i.kind === 'device' && (i.action === 'created' || i.action === 'updated'))
          .map((i) => i.id as string);
        if (request.dryRun || items.some((i) => i.action === 'refused')) throw new Rollback();
      });
      applied = true;
    } catch (err) {
      if (!(err instanceof Rollback)) throw err;
    }
    if (applied && requested !== undefined && requested !== idScope) {
      idScope = requested;
      this.options.onIdScopeChanged?.(requested);
    }
    if (applied && changedDevices.length > 0) this.options.onDevicesChanged?.(changedDevices);
    items.sort(byPosition);
    return {
      format: request.format,
      dryRun: request.dryRun,
      applied,
      idScope: applied || requested === undefined ? idScope : requested,
      items,
      summary: summarize(items),
    };
  }

  private read(
    request: ImportRequest,
    file: ImportFile,
    certificates: ReadonlyMap<string, DpsCertificate>,
  ): ReadResult {
    switch (request.format) {
      case 'hub':
        return readHubIdentities(file.name, file.content);
      case 'dps':
        return readDpsEnrollments(file.name, file.content, { verified: request.verified, certificates });
      case 'central':
        return readCentralObjects(file.name, file.content);
    }
  }
}

export function checkIdScope(idScope: string): string {
  if (!ID_SCOPE_PATTERN.test(idScope)) {
    throw importError(
      'ERR_ID_SCOPE_INVALID',
      `'${idScope}' is not an ID scope: it is '0ne' followed by 8 upper-case hexadecimal digits, e.g. 0ne003E64EF.`,
    );
  }
  return idScope;
}

function flag(v: unknown): boolean {
  return v === true || v === 'true' || v === '1' || v === '';
}

function byPosition(a: PlanItem, b: PlanItem): number {
  if (a.kind === 'idScope') return -1;
  if (b.kind === 'idScope') return 1;
  return (a.file ?? '').localeCompare(b.file ?? '') || (a.line ?? 0) - (b.line ?? 0);
}

/** The second record of a kind with an ID already seen is refused, naming the first. */
function refuseDuplicates(records: ImportRecord[], items: PlanItem[]): ImportRecord[] {
  const seen = new Map<string, ImportRecord>();
  const out: ImportRecord[] = [];
  for (const r of records) {
    const key = `${r.kind}\u0000${r.id}`;
    const first = seen.get(key);
    if (first) {
      items.push(
        planItem('refused', r.kind, r.id, r.source, {
          code: 'ERR_IMPORT_DUPLICATE_ID',
          reason: `'${r.id}' is already imported from ${first.source.file}:${first.source.line}.`,
        }),
      );
      continue;
    }
    seen.set(key, r);
    out.push(r);
  }
  return out;
}

/** The device status the registry shows in its answers; an import never reads it. */
const NO_STATUS = {
  status: () => ({ connected: false, lastActivity: null, lastConnected: null }),
};

/**
 * One transaction's services: the same classes the REST routes call, on the transaction, so
 * their checks run and their writes roll back together.
 */
class ApplyStep {
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
