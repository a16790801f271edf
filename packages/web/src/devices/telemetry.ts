import type { TelemetryInfo, TelemetryMessage } from './types';

/**
 * Telemetry as the charts and the Raw data view need it: which fields a message carries, which
 * of them the template models, and the numeric points per field.
 */

/** A chart point: enqueued time in ms, value. */
export type Point = readonly [number, number];

/** `name` or `component.name`: the key of a field in the charts' maps. */
export function fieldKey(name: string, component: string | null | undefined): string {
  return component ? `${component}.${name}` : name;
}

export const NUMERIC_SCHEMAS = new Set(['double', 'float', 'integer', 'long']);

/** True when the template field is charted (a numeric schema). */
export function isNumeric(t: TelemetryInfo): boolean {
  return typeof t.schema === 'string' && NUMERIC_SCHEMAS.has(t.schema);
}

/** The message body's top-level fields, when it is a JSON object. */
export function fieldsOf(body: unknown): Record<string, unknown> {
  return body !== null && typeof body === 'object' && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : {};
}

/** Each field of a message under its key (component prefix when the message has one). */
export function keyedFields(m: Pick<TelemetryMessage, 'body' | 'component'>): Array<[string, unknown]> {
  return Object.entries(fieldsOf(m.body)).map(([name, value]) => [fieldKey(name, m.component), value]);
}

/** Adds a message's numeric fields to the per-key point lists (new arrays, so React re-renders). */
export function appendPoints(
  into: Record<string, Point[]>,
  messages: ReadonlyArray<Pick<TelemetryMessage, 'body' | 'component' | 'enqueuedTime'>>,
  max = 2000,
): Record<string, Point[]> {
  const out = { ...into };
  for (const m of messages) {
    const t = Date.parse(m.enqueuedTime);
    for (const [key, value] of keyedFields(m)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      const list = [...(out[key] ?? []), [t, value] as const];
      out[key] = list.length > max ? list.slice(list.length - max) : list;
    }
  }
  return out;
}

/** A value for a table cell or a "latest value" label. */
export function show(value: unknown): string {
  if (value === undefined) return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(2);
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** A unit as people write it (DTDL unit names → symbols for the common ones). */
export function unitLabel(unit: string | undefined): string {
  if (unit === undefined) return '';
  const symbols: Record<string, string> = {
    degreeFahrenheit: '°F',
    degreeCelsius: '°C',
    kelvin: 'K',
    percent: '%',
    meterPerSecond: 'm/s',
    kilopascal: 'kPa',
    volt: 'V',
    ampere: 'A',
    watt: 'W',
  };
  return symbols[unit] ?? unit;
}
