/**
 * The planner and apply step of an import. The readers turn files into records; here every
 * record goes through the service that handles the same resource over REST (so an imported
 * record is checked exactly like a created one), inside one database transaction: a dry run,
 * or any refused record, rolls the whole transaction back (all or nothing). A record that
 * equals what the database holds is `unchanged` and not written, so a second run changes
 * nothing. Only kysely queries, so it runs on SQLite and PostgreSQL alike.
 */
import type { Kysely } from 'kysely';

import { ID_SCOPE_PATTERN } from '../provisioning/id-scope.js';
import type { Database } from '../store/schema.js';
import { isObject } from '../validation.js';
import { ApplyStep } from './apply-step.js';
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
import type { ImportRecord, ReadResult } from './records.js';

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
