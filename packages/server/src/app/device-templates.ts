/**
 * Device templates (CENTRAL_API.md §1.2 Device templates, §6): list, get, PUT (create or
 * replace, validated DTDL v2), PATCH (display name and description), DELETE (refused while
 * devices use the template), the built-in templates seeded once, and the lookups the hub and
 * provisioning use to assign a template to a device from its IoT Plug and Play model ID.
 */
import type { Kysely, Selectable } from 'kysely';
import { GatehouseError } from '../errors.js';
import { KeyedMutex } from '../keyed-mutex.js';
import type { Database, DeviceTemplatesTable } from '../store/schema.js';
import { newEtag } from '../util.js';
import { commonError, isObject } from '../validation.js';
import { BUILT_IN_TEMPLATES } from './device-templates-builtin.js';
import { LOOSE_DTMI, type Json } from './dtdl-elements.js';
import { compatibilityProblems, summarize, type TemplateSummary } from './dtdl-summary.js';
import { parseTemplateBody, type TemplateDocument } from './dtdl-template.js';
import { appError, APP_ERRORS } from './errors.js';

/** The DeviceTemplate of the REST API: the stored document plus our read-only extensions. */
export interface DeviceTemplate extends TemplateDocument {
  etag: string;
  builtIn: boolean;
  /** How many devices have this template. */
  devices: number;
  summary: TemplateSummary;
}

/** Template IDs are DTMIs; IoT Central's own may lack the version (§6 caveat). */
const MAX_TEMPLATE_ID_LENGTH = 2048;
/**
 * Reads and conditional writes one PUT tries before giving up: each retry means another write
 * to the same template landed in between, so a few cover any real burst.
 */
const MAX_PUT_ATTEMPTS = 5;
/** The settings key listing the built-ins already seeded (a deleted one is not seeded again). */
const SEEDED_KEY = 'device_templates.seeded';

export class DeviceTemplateService {
  /** PUT, PATCH and DELETE of one template, one at a time in this process (see {@link put}). */
  private readonly writes = new KeyedMutex();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Seeds the built-in templates not seeded before (first start, or a newer release's). */
  async ensureBuiltIns(): Promise<void> {
    const row = await this.db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', SEEDED_KEY)
      .executeTakeFirst();
    const seeded = new Set<string>(row ? (JSON.parse(row.value) as string[]) : []);
    const missing = BUILT_IN_TEMPLATES.filter((t) => !seeded.has(t['@id']));
    if (missing.length === 0) return;
    const time = this.now().toISOString();
    await this.db.transaction().execute(async (trx) => {
      for (const template of missing) {
        await trx
          .insertInto('device_templates')
          .values({ ...columns(template), etag: newEtag(), built_in: 1, created_at: time, updated_at: time })
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();
        seeded.add(template['@id']);
      }
      const value = JSON.stringify([...seeded]);
      await trx
        .insertInto('settings')
        .values({ key: SEEDED_KEY, value })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
        .execute();
    });
  }

  async list(): Promise<DeviceTemplate[]> {
    const rows = await this.db
      .selectFrom('device_templates')
      .selectAll()
      .orderBy('display_name')
      .orderBy('id')
      .execute();
    const counts = await this.deviceCounts();
    return rows.map((row) => toApi(row, counts.get(row.id) ?? 0));
  }

  async get(id: string): Promise<DeviceTemplate> {
    const row = await this.row(id);
    return toApi(row, await this.deviceCount(id));
  }

  /**
   * PUT: creates or replaces (same-DTMI replacements must be compatible). Two PUTs of one ID
   * — two clients creating the same template — run one after the other, so the second is
   * checked against the first and replaces it, instead of both reading "no such template" and
   * the second failing on the ID's uniqueness. The write is also conditional on what was read
   * (no row yet, or the row's etag) for a writer this process does not see (a second process
   * on the same database): then the PUT reads again and is checked again.
   */
  async put(id: string, body: unknown): Promise<DeviceTemplate> {
    checkTemplateId(id);
    const document = parseTemplateBody(body, id);
    return this.writes.run(id, async () => {
      for (let attempt = 0; attempt < MAX_PUT_ATTEMPTS; attempt++) {
        if (await this.write(id, body, document)) return this.get(id);
      }
      throw commonError(
        'ERR_ETAG_MISMATCH',
        `Template '${id}' kept changing while this PUT replaced it; read it again and retry.`,
      );
    });
  }

  /** One attempt of {@link put}; false when another write got in between the read and the write. */
  private async write(id: string, body: unknown, document: TemplateDocument): Promise<boolean> {
    const existing = await this.find(id);
    checkEtag(existing, isObject(body) ? body['etag'] : undefined);
    if (existing) {
      const before = JSON.parse(existing.document) as TemplateDocument;
      if (before.capabilityModel['@id'] === document.capabilityModel['@id']) {
        const problems = compatibilityProblems(before.capabilityModel, document.capabilityModel);
        if (problems.length > 0) {
          throw appError(
            'ERR_TEMPLATE_INCOMPATIBLE',
            `Template '${id}' already has model ${String(before.capabilityModel['@id'])}, and in this version ${problems.join('; ')}. A published model may only gain contents or change display metadata: give the capabilityModel a new @id version (…;${nextVersion(String(before.capabilityModel['@id']))}).`,
          );
        }
      }
    }
    const time = this.now().toISOString();
    const values = { ...columns(document), etag: newEtag(), updated_at: time };
    if (existing) {
      const result = await this.db
        .updateTable('device_templates')
        .set(values)
        .where('id', '=', id)
        .where('etag', '=', existing.etag)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    }
    const result = await this.db
      .insertInto('device_templates')
      .values({ ...values, built_in: 0, created_at: time })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** PATCH: `displayName`, `description` (null removes it), `etag`. */
  async patch(id: string, body: unknown): Promise<DeviceTemplate> {
    return this.writes.run(id, () => this.patchNow(id, body));
  }

  private async patchNow(id: string, body: unknown): Promise<DeviceTemplate> {
    const existing = await this.row(id);
    if (!isObject(body)) throw commonError('ERR_VALIDATION', 'The body must be a JSON object.');
    checkEtag(existing, body['etag']);
    if (body['capabilityModel'] !== undefined) {
      throw commonError('ERR_VALIDATION', "'capabilityModel' cannot be patched: PUT the whole template.");
    }
    const document = JSON.parse(existing.document) as TemplateDocument;
    const displayName = body['displayName'];
    if (displayName !== undefined) {
      if (typeof displayName !== 'string' || displayName.trim() === '' || displayName.length > 148) {
        throw commonError('ERR_VALIDATION', "'displayName' must be a string of 1–148 characters.");
      }
      document.displayName = displayName;
    }
    const description = body['description'];
    if (description === null || description === '') delete document.description;
    else if (description !== undefined) {
      if (typeof description !== 'string' || description.length > 512) {
        throw commonError('ERR_VALIDATION', "'description' must be a string of at most 512 characters.");
      }
      document.description = description;
    }
    const result = await this.db
      .updateTable('device_templates')
      .set({ ...columns(document), etag: newEtag(), updated_at: this.now().toISOString() })
      .where('id', '=', id)
      .where('etag', '=', existing.etag)
      .executeTakeFirst();
    // Another process replaced the template since it was read: keep its model, not the old one.
    if (Number(result.numUpdatedRows) === 0) {
      throw commonError('ERR_ETAG_MISMATCH', 'The template changed while it was patched; read it again.');
    }
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    return this.writes.run(id, () => this.deleteNow(id));
  }

  private async deleteNow(id: string): Promise<void> {
    await this.row(id);
    const devices = await this.deviceCount(id);
    if (devices > 0) {
      throw appError(
        'ERR_TEMPLATE_IN_USE',
        `Template '${id}' is used by ${devices} device${devices === 1 ? '' : 's'}; assign them another template (or none) first.`,
      );
    }
    await this.db.deleteFrom('device_templates').where('id', '=', id).execute();
  }

  /**
   * The template for an IoT Plug and Play model ID: the one whose `@id` is the model ID, else
   * the oldest whose capability model has it as `@id`. Undefined when none.
   */
  async findByModelId(modelId: string): Promise<string | undefined> {
    const exact = await this.db
      .selectFrom('device_templates')
      .select('id')
      .where('id', '=', modelId)
      .executeTakeFirst();
    if (exact) return exact.id;
    const byModel = await this.db
      .selectFrom('device_templates')
      .select('id')
      .where('capability_model_id', '=', modelId)
      .orderBy('created_at')
      .orderBy('id')
      .executeTakeFirst();
    return byModel?.id;
  }

  /** Refuses (400 ERR_TEMPLATE_NOT_FOUND) a device body naming an unknown template. */
  async checkAssignable(id: string): Promise<void> {
    if (await this.find(id)) return;
    const model = await this.findByModelId(id);
    const hint =
      model !== undefined
        ? ` '${id}' is the model of template '${model}': use that ID.`
        : ' List them with GET /api/deviceTemplates.';
    throw new GatehouseError(
      'ERR_TEMPLATE_NOT_FOUND',
      { ...APP_ERRORS.ERR_TEMPLATE_NOT_FOUND, status: 400 },
      `'template' names no device template.${hint}`,
    );
  }

  private async find(id: string): Promise<Selectable<DeviceTemplatesTable> | undefined> {
    return this.db.selectFrom('device_templates').selectAll().where('id', '=', id).executeTakeFirst();
  }

  private async row(id: string): Promise<Selectable<DeviceTemplatesTable>> {
    checkTemplateId(id);
    const row = await this.find(id);
    if (!row) throw appError('ERR_TEMPLATE_NOT_FOUND', `Device template '${id}' does not exist.`);
    return row;
  }

  private async deviceCount(id: string): Promise<number> {
    const row = await this.db
      .selectFrom('devices')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('template', '=', id)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  private async deviceCounts(): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('devices')
      .select(['template', (eb) => eb.fn.countAll<number>().as('n')])
      .where('template', 'is not', null)
      .groupBy('template')
      .execute();
    return new Map(rows.map((r) => [r.template as string, Number(r.n)]));
  }
}

function checkTemplateId(id: string): void {
  if (id.length > MAX_TEMPLATE_ID_LENGTH || !LOOSE_DTMI.test(id)) {
    throw commonError(
      'ERR_INVALID_ID',
      `deviceTemplateId '${id}' is invalid: use a DTMI such as dtmi:com:example:Thermostat;1 (URL-encode ; as %3B if your client needs to).`,
    );
  }
}

function checkEtag(existing: Selectable<DeviceTemplatesTable> | undefined, etag: unknown): void {
  if (etag === undefined || etag === null || etag === '' || etag === '*' || !existing) return;
  if (etag !== existing.etag) {
    throw commonError(
      'ERR_ETAG_MISMATCH',
      'The etag does not match the current version; read the template again.',
    );
  }
}

function nextVersion(dtmi: string): number {
  const version = Number(/;([0-9]+)$/.exec(dtmi)?.[1] ?? '1');
  return version + 1;
}

function columns(document: TemplateDocument) {
  return {
    id: document['@id'],
    display_name: document.displayName,
    description: document.description ?? null,
    capability_model_id: String(document.capabilityModel['@id']),
    document: JSON.stringify(document),
  };
}

function toApi(row: Selectable<DeviceTemplatesTable>, devices: number): DeviceTemplate {
  const document = JSON.parse(row.document) as TemplateDocument;
  return {
    ...document,
    etag: row.etag,
    builtIn: row.built_in === 1,
    devices,
    summary: summarize(document.capabilityModel as Json),
  };
}
