/**
 * The Job and its body (EXPORT_RULES.md §5.2, SPEC-GA `Job`): what PUT /api/jobs/{id} takes,
 * checked field by field against the device group and the device template the data targets,
 * so a bad job is refused (400 ERR_JOB_INVALID naming the field) before anything runs.
 */
import type { TemplateSummary } from '../app/dtdl-summary.js';
import { schemaProblem } from '../hub/property-schema.js';
import { characterCount } from '../util.js';
import { isObject } from '../validation.js';
import { jobError } from './errors.js';

export type JobStatus = 'pending' | 'running' | 'complete' | 'failed' | 'stopped' | 'cancelled';
export type JobDeviceStatus = 'pending' | 'completed' | 'failed';

/** `batch` and `cancellationThreshold` share their first two fields. */
export interface JobBatch {
  type: 'number' | 'percentage';
  value: number;
}
export interface JobCancellationThreshold extends JobBatch {
  /** true: counted per batch; false: over the whole job. */
  batch: boolean;
}

/** One thing the job does to every device (SPEC-GA `JobData`, the types Gatehouse runs). */
export interface JobData {
  type: 'property' | 'cloudProperty' | 'command';
  /** The device template ID. */
  target: string;
  /** `name` or `component.name`. */
  path: string;
  /** The property value, or the command's request payload. */
  value?: unknown;
  /** Commands only (our extension, as on POST …/commands): seconds to wait for the device, 0–30. */
  connectionTimeout?: number;
  /** Commands only (our extension): seconds to wait for the answer, 5–30. */
  responseTimeout?: number;
}

export interface JobProgress {
  total: number;
  pending: number;
  completed: number;
  failed: number;
}

/** The REST object. */
export interface Job {
  id: string;
  scheduledJobId?: string;
  displayName?: string;
  description?: string;
  group: string;
  batch?: JobBatch;
  cancellationThreshold?: JobCancellationThreshold;
  data: JobData[];
  start?: string;
  end?: string;
  progress: JobProgress;
  status: JobStatus;
  /** Our extension: the job whose failed devices this one reruns. */
  rerunOf?: string;
}

/** The fields a job and a scheduled job share, as checked. */
export interface JobDefinition {
  displayName?: string;
  description?: string;
  group: string;
  batch?: JobBatch;
  cancellationThreshold?: JobCancellationThreshold;
  data: JobData[];
}

/** What the checks need to know about the application. */
export interface JobChecks {
  groupExists(id: string): Promise<boolean>;
  /** The template's summary, undefined when there is no such template. */
  template(id: string): Promise<TemplateSummary | undefined>;
}

/** EXPORT_RULES.md §5.2: `^[a-zA-Z0-9_-]*$`, at most 255. */
export const JOB_ID = /^[a-zA-Z0-9_-]{1,255}$/;
const MAX_TEXT = 1024;
const MAX_DATA = 100;

function invalid(field: string, message: string): Error {
  return jobError('ERR_JOB_INVALID', `${field}: ${message}`);
}

/** `component.name` or `name`. */
export function splitPath(path: string): { component?: string; name: string } {
  const dot = path.indexOf('.');
  return dot === -1 ? { name: path } : { component: path.slice(0, dot), name: path.slice(dot + 1) };
}

function parseBatch(value: unknown, field: string): JobBatch {
  if (!isObject(value)) throw invalid(field, 'must be an object { type: "number" | "percentage", value }.');
  const type = value['type'];
  if (type !== 'number' && type !== 'percentage')
    throw invalid(`${field}.type`, 'must be "number" or "percentage".');
  const v = value['value'];
  const max = type === 'percentage' ? 100 : 1_000_000;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw invalid(`${field}.value`, `must be a whole number from 1 to ${max}.`);
  }
  return { type, value: v };
}

function optionalText(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(name, 'must be a string.');
  if (characterCount(v) > MAX_TEXT) throw invalid(name, `is longer than ${MAX_TEXT} characters.`);
  return v;
}

function seconds(
  item: Record<string, unknown>,
  name: string,
  field: string,
  min: number,
  max: number,
): number | undefined {
  const v = item[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(`${field}.${name}`, `must be a whole number of seconds from ${min} to ${max}.`);
  }
  return v;
}

async function parseData(
  raw: unknown,
  i: number,
  checks: JobChecks,
  templates: Map<string, TemplateSummary | undefined>,
): Promise<JobData> {
  const field = `data[${i}]`;
  if (!isObject(raw)) throw invalid(field, 'must be an object { type, target, path, value }.');
  const type = raw['type'];
  if (type !== 'property' && type !== 'cloudProperty' && type !== 'command') {
    throw invalid(
      `${field}.type`,
      `must be "property", "cloudProperty" or "command"${typeof type === 'string' ? ` (Gatehouse does not run '${type.slice(0, 40)}' jobs)` : ''}.`,
    );
  }
  const target = raw['target'];
  if (typeof target !== 'string' || target === '')
    throw invalid(`${field}.target`, 'must be a device template ID.');
  if (!templates.has(target)) templates.set(target, await checks.template(target));
  const template = templates.get(target);
  if (!template)
    throw invalid(`${field}.target`, `device template '${target.slice(0, 200)}' does not exist.`);
  const path = raw['path'];
  if (typeof path !== 'string' || path === '')
    throw invalid(`${field}.path`, 'must be "name" or "component.name".');
  const { component, name } = splitPath(path);
  const data: JobData = { type, target, path };
  if (type === 'command') {
    const command = template.commands.find((c) => c.name === name && c.component === component);
    if (!command) {
      throw invalid(
        `${field}.path`,
        `the template '${target}' has no command '${path}'${template.commands.length > 0 ? `; its commands are ${template.commands.map((c) => (c.component ? `${c.component}.${c.name}` : c.name)).join(', ')}` : ''}.`,
      );
    }
    if (raw['value'] !== undefined) {
      data.value = raw['value'];
      const problem = command.request
        ? schemaProblem(raw['value'], command.request.schema, 'value')
        : undefined;
      if (problem !== undefined) throw invalid(`${field}.value`, `the request of '${path}': ${problem}`);
    }
    const connection = seconds(raw, 'connectionTimeout', field, 0, 30);
    const response = seconds(raw, 'responseTimeout', field, 5, 30);
    if (connection !== undefined) data.connectionTimeout = connection;
    if (response !== undefined) data.responseTimeout = response;
    return data;
  }
  const property = template.properties.find((p) => p.name === name && p.component === component);
  const cloud = type === 'cloudProperty';
  if (!property || (property.cloud === true) !== cloud) {
    const candidates = template.properties.filter(
      (p) => (p.cloud === true) === cloud && (cloud || p.writable),
    );
    throw invalid(
      `${field}.path`,
      `the template '${target}' has no ${cloud ? 'cloud' : 'device'} property '${path}'${candidates.length > 0 ? `; its ${cloud ? 'cloud' : 'writable'} properties are ${candidates.map((p) => (p.component ? `${p.component}.${p.name}` : p.name)).join(', ')}` : ''}.`,
    );
  }
  if (!cloud && !property.writable) {
    throw invalid(
      `${field}.path`,
      `property '${path}' is read-only in the template: only the device reports it.`,
    );
  }
  if (!Object.hasOwn(raw, 'value')) throw invalid(`${field}.value`, 'is required for a property job.');
  const problem = raw['value'] === null ? undefined : schemaProblem(raw['value'], property.schema, 'value');
  if (problem !== undefined)
    throw invalid(`${field}.value`, `property '${path}' (${property.displayName}): ${problem}`);
  data.value = raw['value'];
  return data;
}

/**
 * Checks a job (or a scheduled job's job fields) and returns it in its stored form.
 * Throws 400 ERR_JOB_INVALID with the field first in the message.
 */
export async function parseJobDefinition(body: unknown, checks: JobChecks): Promise<JobDefinition> {
  if (!isObject(body)) throw invalid('body', 'must be a JSON object.');
  const group = body['group'];
  if (typeof group !== 'string' || group === '')
    throw invalid('group', 'is required: the ID of a device group.');
  if (!(await checks.groupExists(group))) {
    throw invalid('group', `device group '${group.slice(0, 255)}' does not exist.`);
  }
  const def: JobDefinition = { group, data: [] };
  const displayName = optionalText(body, 'displayName');
  const description = optionalText(body, 'description');
  if (displayName !== undefined) def.displayName = displayName;
  if (description !== undefined) def.description = description;
  if (body['batch'] !== undefined && body['batch'] !== null) def.batch = parseBatch(body['batch'], 'batch');
  const threshold = body['cancellationThreshold'];
  if (threshold !== undefined && threshold !== null) {
    const base = parseBatch(threshold, 'cancellationThreshold');
    const perBatch = (threshold as Record<string, unknown>)['batch'];
    if (perBatch !== undefined && typeof perBatch !== 'boolean') {
      throw invalid('cancellationThreshold.batch', 'must be true or false.');
    }
    def.cancellationThreshold = { ...base, batch: perBatch === true };
  }
  const orgs = body['organizations'];
  if (orgs !== undefined && orgs !== null && !(Array.isArray(orgs) && orgs.length === 0)) {
    throw invalid('organizations', 'this application has no organizations; leave it out.');
  }
  const data = body['data'];
  if (!Array.isArray(data) || data.length === 0) throw invalid('data', 'must be a non-empty array.');
  if (data.length > MAX_DATA) throw invalid('data', `has more than ${MAX_DATA} items.`);
  const templates = new Map<string, TemplateSummary | undefined>();
  for (let i = 0; i < data.length; i++) def.data.push(await parseData(data[i], i, checks, templates));
  // SPEC-GA: the entries of a job are all of one type (one kind of operation per job).
  const first = def.data[0]!;
  def.data.forEach((d, i) => {
    if (d.type !== first.type)
      throw invalid(
        `data[${i}].type`,
        `must be '${first.type}' like data[0]: a job does one kind of operation.`,
      );
    if (d.target !== first.target)
      throw invalid(
        `data[${i}].target`,
        `must be '${first.target}' like data[0]: a job targets one template.`,
      );
  });
  return def;
}

/** How many devices one batch holds. */
export function batchSize(batch: JobBatch | undefined, total: number): number {
  if (!batch || total === 0) return Math.max(total, 1);
  return batch.type === 'number' ? batch.value : Math.max(1, Math.ceil((total * batch.value) / 100));
}

/** Whether `failed` devices reach the threshold, out of `total`. */
export function thresholdReached(t: JobCancellationThreshold, failed: number, total: number): boolean {
  if (failed === 0) return false;
  return t.type === 'number' ? failed >= t.value : (failed * 100) / Math.max(total, 1) >= t.value;
}
