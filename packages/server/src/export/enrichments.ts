/**
 * An export's `enrichments` (EXPORT_RULES.md §1.4): `outputKey → { value }` (a custom string),
 * `{ path: '$displayName' … }` (a system property) or `{ target, path }` (a device or cloud
 * property, `path` `name` or `component.name`). A property the device lacks is left out.
 */
import type { FieldProblem } from './contracts.js';
import { deviceProperty, type DeviceSnapshot } from './device-snapshot.js';

export type Enrichment = { value: string } | { path: string; target?: string };

/** System properties an enrichment may name ($deviceName is the CLI's alias of $displayName). */
export const SYSTEM_ENRICHMENTS = [
  '$enabled',
  '$displayName',
  '$deviceName',
  '$templateDisplayName',
  '$organizations',
  '$provisioned',
  '$simulated',
] as const;

export function validateEnrichments(raw: unknown, problems: FieldProblem[]): Record<string, Enrichment> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push({
      field: 'enrichments',
      message: 'must be an object of key → { value } | { path } | { target, path }',
    });
    return {};
  }
  const out: Record<string, Enrichment> = {};
  for (const [key, e] of Object.entries(raw as Record<string, unknown>)) {
    const at = `enrichments.${key}`;
    if (key === '' || key.length > 255) {
      problems.push({ field: at, message: 'the key must be 1–255 characters' });
      continue;
    }
    if (e === null || typeof e !== 'object' || Array.isArray(e)) {
      problems.push({ field: at, message: 'must be { value } | { path } | { target, path }' });
      continue;
    }
    const { value, path, target } = e as Record<string, unknown>;
    if (value !== undefined) {
      if (typeof value !== 'string') problems.push({ field: `${at}.value`, message: 'must be a string' });
      else out[key] = { value };
      continue;
    }
    if (typeof path !== 'string' || path === '') {
      problems.push({ field: `${at}.path`, message: 'is required when there is no value' });
      continue;
    }
    if (target === undefined || target === null) {
      if (!(SYSTEM_ENRICHMENTS as readonly string[]).includes(path)) {
        problems.push({
          field: `${at}.path`,
          message: `'${path.slice(0, 64)}' is not a system property; use one of ${SYSTEM_ENRICHMENTS.join(', ')}, or give a target for a device property`,
        });
        continue;
      }
      out[key] = { path };
      continue;
    }
    if (typeof target !== 'string' || target === '') {
      problems.push({ field: `${at}.target`, message: 'must be a template or interface ID' });
      continue;
    }
    out[key] = { target, path };
  }
  return out;
}

function systemValue(device: DeviceSnapshot, path: string): unknown {
  switch (path) {
    case '$enabled':
      return device.enabled;
    case '$displayName':
    case '$deviceName':
      return device.displayName;
    case '$templateDisplayName':
      return device.templateDisplayName;
    case '$organizations':
      return [];
    case '$provisioned':
      return device.provisioned;
    case '$simulated':
      return device.simulated;
    default:
      return undefined;
  }
}

/** The `enrichments` object of one message. */
export function enrich(
  enrichments: Record<string, Enrichment>,
  device: DeviceSnapshot | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, e] of Object.entries(enrichments)) {
    if ('value' in e) {
      out[key] = e.value;
      continue;
    }
    if (!device) continue;
    let value: unknown;
    if (e.target === undefined) value = systemValue(device, e.path);
    else {
      const dot = e.path.indexOf('.');
      value =
        dot > 0
          ? (deviceProperty(device, e.path.slice(0, dot), e.path.slice(dot + 1)) ??
            deviceProperty(device, undefined, e.path))
          : deviceProperty(device, undefined, e.path);
    }
    if (value !== undefined) out[key] = value;
  }
  return out;
}
