/**
 * Destinations and exports as stored (EXPORT_RULES.md §1.2–§1.5): PUT creates or replaces, PATCH
 * merges (RFC 7396), DELETE removes. Every refusal is a 4xx naming the field, and changes
 * nothing. Secrets are kept as given and never answered: reads go through the type's mask.
 */
import type { Kysely, Selectable } from 'kysely';

import type { QueryExpr } from '../app/device-query.js';
import type { Database } from '../store/schema.js';
import { GatehouseError } from '../errors.js';
import { commonError } from '../validation.js';
import type { FieldProblem, Transform } from './contracts.js';
import {
  AZURE_TYPES,
  destinationType,
  supportedDestinationTypes,
  unmask,
  type DestinationConfig,
} from './destination-types.js';
import { validateEnrichments, type Enrichment } from './enrichments.js';
import { EXPORT_ERRORS, exportError } from './errors.js';
import { parseExportFilter } from './export-filter.js';
import type { ExportDestinationsTable, ExportsTable, ExportTables } from './export-tables.js';

export const EXPORT_SOURCES = [
  'telemetry',
  'properties',
  'deviceLifecycle',
  'deviceTemplateLifecycle',
  'deviceConnectivity',
  'audit',
] as const;
export type ExportSource = (typeof EXPORT_SOURCES)[number];

/** EXPORT_RULES.md §1.5 (D-LIM). */
export const LIMITS = { exports: 10, destinations: 10, destinationsPerExport: 10, filtersAndEnrichments: 10 };

const ID = /^[a-zA-Z0-9_.-]{1,255}$/;

export interface StoredDestination {
  id: string;
  displayName: string;
  type: string;
  config: DestinationConfig;
}

export interface StoredExport {
  id: string;
  displayName: string;
  enabled: boolean;
  source: ExportSource;
  filter?: string;
  enrichments: Record<string, Enrichment>;
  destinations: Array<{ id: string; transform?: string }>;
}

/** Compiles a jq program (export/transform-jq.ts); throws when it does not compile. */
export type CompileTransform = (program: string) => Promise<Transform>;

function checkId(kind: 'destinationId' | 'exportId', id: string): void {
  if (!ID.test(id)) {
    throw commonError(
      'ERR_INVALID_ID',
      `${kind} '${id.slice(0, 64)}' is invalid: use letters, digits, '.', '-' and '_', 1–255 characters.`,
    );
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** RFC 7396 merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function problemsText(problems: FieldProblem[]): string {
  return problems.map((p) => `${p.field}: ${p.message.replace(/\.$/, '')}`).join('; ');
}

function toDestination(row: Selectable<ExportDestinationsTable>): StoredDestination {
  return {
    id: row.id,
    displayName: row.display_name,
    type: row.type,
    config: JSON.parse(row.config) as DestinationConfig,
  };
}

function toExport(row: Selectable<ExportsTable>): StoredExport {
  return {
    id: row.id,
    displayName: row.display_name,
    enabled: row.enabled === 1,
    source: row.source as ExportSource,
    ...(row.filter !== null ? { filter: row.filter } : {}),
    enrichments: JSON.parse(row.enrichments) as Record<string, Enrichment>,
    destinations: JSON.parse(row.destinations) as StoredExport['destinations'],
  };
}

export interface ExportConfigOptions {
  compileTransform?: CompileTransform;
  /** Sources this server can read (`audit` only with the audit log's feed). */
  sources: readonly ExportSource[];
}

export class ExportConfig {
  private readonly db: Kysely<ExportTables>;

  constructor(
    db: Kysely<Database>,
    private readonly options: ExportConfigOptions,
  ) {
    this.db = db.withTables<ExportTables>() as unknown as Kysely<ExportTables>;
  }

  async listDestinations(): Promise<StoredDestination[]> {
    const rows = await this.db.selectFrom('export_destinations').selectAll().orderBy('id').execute();
    return rows.map(toDestination);
  }

  async getDestination(id: string): Promise<StoredDestination> {
    checkId('destinationId', id);
    const row = await this.db
      .selectFrom('export_destinations')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw exportError('ERR_DESTINATION_NOT_FOUND', `Destination '${id}' does not exist.`);
    return toDestination(row);
  }

  private async findDestination(id: string): Promise<StoredDestination | undefined> {
    const row = await this.db
      .selectFrom('export_destinations')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toDestination(row) : undefined;
  }

  /** Checks a whole destination body; `stored` lets masked secrets keep their value. */
  checkDestination(id: string, input: unknown, stored?: StoredDestination): StoredDestination {
    if (!isObject(input)) throw exportError('ERR_DESTINATION_INVALID', 'The body must be a JSON object.');
    const body = stored
      ? (unmask(input, { ...stored.config, displayName: stored.displayName, type: stored.type }) as Record<
          string,
          unknown
        >)
      : input;
    const type = body['type'];
    if (typeof type !== 'string' || type === '') {
      throw exportError(
        'ERR_DESTINATION_INVALID',
        `type: is required; supported: ${supportedDestinationTypes().join(', ')}.`,
      );
    }
    const impl = destinationType(type);
    if (!impl) {
      const azure = AZURE_TYPES.includes(type)
        ? ' (Azure services are not export destinations of Gatehouse)'
        : '';
      throw exportError(
        'ERR_DESTINATION_TYPE_UNSUPPORTED',
        `type: '${type.slice(0, 64)}' is not supported${azure}; supported: ${supportedDestinationTypes().join(', ')}.`,
      );
    }
    const problems: FieldProblem[] = [];
    const displayName = body['displayName'];
    if (typeof displayName !== 'string' || displayName.trim() === '' || displayName.length > 255) {
      problems.push({ field: 'displayName', message: 'is required (1–255 characters)' });
    }
    const checked = impl.validate(body);
    if ('problems' in checked) problems.push(...checked.problems);
    if (problems.length > 0 || 'problems' in checked) {
      throw exportError('ERR_DESTINATION_INVALID', `${problemsText(problems)}.`);
    }
    return { id, displayName: displayName as string, type, config: checked.config };
  }

  async putDestination(id: string, body: unknown): Promise<StoredDestination> {
    checkId('destinationId', id);
    const stored = await this.findDestination(id);
    const next = this.checkDestination(id, body, stored);
    if (!stored) {
      const count = (await this.db.selectFrom('export_destinations').select('id').execute()).length;
      if (count >= LIMITS.destinations) {
        throw exportError(
          'ERR_EXPORT_LIMIT',
          `The application already has ${LIMITS.destinations} destinations.`,
        );
      }
    }
    await this.saveDestination(next, !stored);
    return next;
  }

  async patchDestination(id: string, patch: unknown): Promise<StoredDestination> {
    const stored = await this.getDestination(id);
    if (!isObject(patch)) throw exportError('ERR_DESTINATION_INVALID', 'The body must be a JSON object.');
    const merged = mergePatch(
      { displayName: stored.displayName, type: stored.type, ...stored.config },
      unmask(patch, stored.config),
    );
    const next = this.checkDestination(id, merged);
    await this.saveDestination(next, false);
    return next;
  }

  private async saveDestination(d: StoredDestination, create: boolean): Promise<void> {
    const time = new Date().toISOString();
    const values = {
      display_name: d.displayName,
      type: d.type,
      config: JSON.stringify(d.config),
      updated_at: time,
    };
    if (create) {
      await this.db
        .insertInto('export_destinations')
        .values({ id: d.id, ...values, created_at: time })
        .execute();
    } else {
      await this.db.updateTable('export_destinations').set(values).where('id', '=', d.id).execute();
    }
  }

  async deleteDestination(id: string): Promise<void> {
    await this.getDestination(id);
    const users = (await this.listExports()).filter((e) => e.destinations.some((d) => d.id === id));
    if (users.length > 0) {
      throw exportError(
        'ERR_DESTINATION_IN_USE',
        `Destination '${id}' is used by the export(s) ${users.map((e) => `'${e.id}'`).join(', ')}.`,
      );
    }
    await this.db.deleteFrom('export_destinations').where('id', '=', id).execute();
  }

  async listExports(): Promise<StoredExport[]> {
    const rows = await this.db.selectFrom('exports').selectAll().orderBy('id').execute();
    return rows.map(toExport);
  }

  async getExport(id: string): Promise<StoredExport> {
    checkId('exportId', id);
    const row = await this.db.selectFrom('exports').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw exportError('ERR_EXPORT_NOT_FOUND', `Export '${id}' does not exist.`);
    return toExport(row);
  }

  /** Checks a whole export body (destinations must exist; the filter and transforms must compile). */
  async checkExport(id: string, body: unknown): Promise<StoredExport> {
    if (!isObject(body)) throw exportError('ERR_EXPORT_INVALID', 'The body must be a JSON object.');
    const problems: FieldProblem[] = [];
    const { displayName, enabled, source, filter, destinations } = body;
    if (typeof displayName !== 'string' || displayName.trim() === '' || displayName.length > 255) {
      problems.push({ field: 'displayName', message: 'is required (1–255 characters)' });
    }
    if (typeof enabled !== 'boolean')
      problems.push({ field: 'enabled', message: 'is required (true or false)' });
    if (typeof source !== 'string' || !(EXPORT_SOURCES as readonly string[]).includes(source)) {
      problems.push({ field: 'source', message: `must be one of ${EXPORT_SOURCES.join(', ')}` });
    } else if (!this.options.sources.includes(source as ExportSource)) {
      problems.push({ field: 'source', message: `'${source}' is not available on this server` });
    }
    if (filter !== undefined && filter !== null && typeof filter !== 'string') {
      problems.push({ field: 'filter', message: 'must be a string (SELECT * FROM devices WHERE …)' });
    }
    const enrichments = validateEnrichments(body['enrichments'], problems);
    const list: StoredExport['destinations'] = [];
    if (!Array.isArray(destinations)) {
      problems.push({ field: 'destinations', message: 'is required (an array of { id, transform? })' });
    } else {
      if (destinations.length > LIMITS.destinationsPerExport) {
        problems.push({
          field: 'destinations',
          message: `at most ${LIMITS.destinationsPerExport} destinations per export`,
        });
      }
      destinations.forEach((d: unknown, i) => {
        if (!isObject(d) || typeof d['id'] !== 'string' || d['id'] === '') {
          problems.push({ field: `destinations[${i}].id`, message: 'is required (a destination ID)' });
          return;
        }
        const transform = d['transform'];
        if (transform !== undefined && transform !== null && typeof transform !== 'string') {
          problems.push({
            field: `destinations[${i}].transform`,
            message: 'must be a string (a jq program)',
          });
          return;
        }
        if (list.some((x) => x.id === d['id'])) {
          problems.push({ field: `destinations[${i}].id`, message: `'${d['id']}' is listed twice` });
          return;
        }
        list.push({
          id: d['id'],
          ...(typeof transform === 'string' && transform.trim() !== '' ? { transform } : {}),
        });
      });
    }
    if (problems.length > 0) throw exportError('ERR_EXPORT_INVALID', `${problemsText(problems)}.`);
    let filterText: string | undefined;
    let filterCount = 0;
    if (typeof filter === 'string' && filter.trim() !== '') {
      const parsed = parseExportFilter(filter);
      filterText = filter;
      filterCount = parsed.where ? countPredicates(parsed.where) : 0;
    }
    if (filterCount + Object.keys(enrichments).length > LIMITS.filtersAndEnrichments) {
      throw exportError(
        'ERR_EXPORT_INVALID',
        `filter, enrichments: at most ${LIMITS.filtersAndEnrichments} filter conditions and enrichments together per export.`,
      );
    }
    for (const [i, d] of list.entries()) {
      if (!(await this.findDestination(d.id))) {
        // 400, not 404: the request names it in its body (as a device names an unknown template).
        throw new GatehouseError(
          'ERR_DESTINATION_NOT_FOUND',
          { ...EXPORT_ERRORS.ERR_DESTINATION_NOT_FOUND, status: 400 },
          `destinations[${i}].id: destination '${d.id.slice(0, 64)}' does not exist.`,
        );
      }
      if (d.transform !== undefined) await this.checkTransform(d.transform, `destinations[${i}].transform`);
    }
    return {
      id,
      displayName: displayName as string,
      enabled: enabled as boolean,
      source: source as ExportSource,
      ...(filterText !== undefined ? { filter: filterText } : {}),
      enrichments,
      destinations: list,
    };
  }

  private async checkTransform(program: string, field: string): Promise<void> {
    const compile = this.options.compileTransform;
    if (!compile) {
      throw exportError(
        'ERR_TRANSFORM_INVALID',
        `${field}: transforms (jq) are not available on this server.`,
      );
    }
    let compiled: Transform;
    try {
      compiled = await compile(program);
    } catch (err) {
      throw exportError('ERR_TRANSFORM_INVALID', `${field}: ${(err as Error).message}`, { cause: err });
    }
    compiled.close();
  }

  async putExport(id: string, body: unknown): Promise<{ next: StoredExport; previous?: StoredExport }> {
    checkId('exportId', id);
    const previous = (await this.listExports()).find((e) => e.id === id);
    const next = await this.checkExport(id, body);
    if (!previous && (await this.listExports()).length >= LIMITS.exports) {
      throw exportError('ERR_EXPORT_LIMIT', `The application already has ${LIMITS.exports} exports.`);
    }
    await this.saveExport(next, !previous);
    return previous ? { next, previous } : { next };
  }

  async patchExport(id: string, patch: unknown): Promise<{ next: StoredExport; previous: StoredExport }> {
    const previous = await this.getExport(id);
    if (!isObject(patch)) throw exportError('ERR_EXPORT_INVALID', 'The body must be a JSON object.');
    const { id: _ignored, ...current } = previous;
    const next = await this.checkExport(id, mergePatch(current, patch));
    await this.saveExport(next, false);
    return { next, previous };
  }

  private async saveExport(e: StoredExport, create: boolean): Promise<void> {
    const time = new Date().toISOString();
    const values = {
      display_name: e.displayName,
      enabled: e.enabled ? 1 : 0,
      source: e.source,
      filter: e.filter ?? null,
      enrichments: JSON.stringify(e.enrichments),
      destinations: JSON.stringify(e.destinations),
      updated_at: time,
    };
    if (create)
      await this.db
        .insertInto('exports')
        .values({ id: e.id, ...values, created_at: time })
        .execute();
    else await this.db.updateTable('exports').set(values).where('id', '=', e.id).execute();
  }

  async deleteExport(id: string): Promise<void> {
    await this.getExport(id);
    await this.db.deleteFrom('exports').where('id', '=', id).execute();
    await this.db.deleteFrom('export_cursors').where('export_id', '=', id).execute();
  }
}

function countPredicates(e: QueryExpr): number {
  if (e.kind === 'and' || e.kind === 'or') return e.items.reduce((n, i) => n + countPredicates(i), 0);
  if (e.kind === 'not') return countPredicates(e.item);
  return 1;
}
