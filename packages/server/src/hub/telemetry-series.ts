/**
 * Telemetry series (README "Telemetry series"): one numeric field of a device, a device
 * group or a template's devices, in epoch-aligned UTC buckets with one aggregation each.
 *
 * The store aggregates; nothing here reads raw rows. A window is cut into pieces: whole hours
 * from the hour rollups (interval a multiple of an hour and a window of a day or more), whole
 * minutes from the minute rollups (interval a multiple of a minute), the rest (the partial
 * minutes at the edges, or everything when the interval has seconds) from the raw messages.
 * Each piece answers partial aggregates per bucket (sum and count, min, max, first/last with
 * their time) that merge exactly, so the answer is the same whichever source serves it.
 */
import type { Kysely } from 'kysely';

import type { Database } from '../store/schema.js';
import { hubError } from './errors.js';
import {
  NUMERIC_AGGREGATIONS,
  formatDuration,
  parseSeriesParams,
  type Aggregation,
  type SeriesParams,
  type SeriesQueryText,
} from './telemetry-series-query.js';
import { ROLLUP_SECONDS, type RollupLevel } from './telemetry-rollups.js';
import type { SeriesPartial, SeriesSource } from './telemetry-series-sql.js';
import type { TelemetryStore } from './telemetry-store.js';

/** Most devices in one group or template series (the first ones by device ID). */
export const MAX_SERIES_DEVICES = 100;
const DAY_MS = 86_400_000;
/** DTDL primitive schemas that are numbers. */
const NUMERIC_SCHEMAS = new Set(['double', 'float', 'integer', 'long']);
/** A field name goes into SQLite's JSON path as a quoted label: no quote, backslash or control character. */
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const FIELD_NAME = /^[^"\\\u0000-\u001f]{1,256}$/;

export interface SeriesBucket {
  /** ISO-8601 UTC start of the bucket. */
  time: string;
  value: number;
  count: number;
}

interface SeriesHeader {
  from: string;
  to: string;
  interval: string;
  aggregation: Aggregation;
  source: SeriesSource;
}

export interface DeviceSeries extends SeriesHeader {
  deviceId: string;
  name: string;
  component?: string;
  value: SeriesBucket[];
}

export interface FleetSeries extends SeriesHeader {
  value: Array<{ deviceId: string; value: SeriesBucket[] }>;
  truncated: boolean;
}

/** What a series needs to know of a template's telemetry. */
export interface TemplateTelemetry {
  name: string;
  component?: string;
  schema: unknown;
}

export interface TelemetrySeriesOptions {
  store: TelemetryStore;
  db: Kysely<Database>;
  /** The device row (throws 404 ERR_DEVICE_NOT_FOUND): its template decides what is numeric. */
  device(id: string): Promise<{ template: string | null }>;
  /** A template's telemetry; throws (404) for an unknown template. */
  templateTelemetry(id: string): Promise<readonly TemplateTelemetry[]>;
  /** The devices a group selects now; throws (404) for an unknown group. */
  groupDeviceIds(id: string): Promise<string[]>;
  now?: () => Date;
}

export interface SeriesRequest {
  name: string;
  /** '' or absent: the root component. */
  component?: string;
  query: SeriesQueryText;
}

export class TelemetrySeries {
  private readonly now: () => Date;

  constructor(private readonly options: TelemetrySeriesOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Parses and checks the query string alone (the routes call it before streaming CSV). */
  params(request: SeriesRequest): SeriesParams {
    checkName(request.name);
    return parseSeriesParams(request.query, this.now());
  }

  async device(deviceId: string, request: SeriesRequest): Promise<DeviceSeries> {
    const params = this.params(request);
    const component = request.component ?? '';
    const row = await this.options.device(deviceId);
    if (NUMERIC_AGGREGATIONS.has(params.aggregation) && row.template) {
      const telemetry = await this.options.templateTelemetry(row.template).catch(() => undefined);
      if (telemetry) checkTemplateNumeric(telemetry, request.name, component, params.aggregation);
    }
    const { source, byDevice } = await this.compute([deviceId], request.name, component, params);
    return {
      deviceId,
      name: request.name,
      ...(component ? { component } : {}),
      ...header(params, source),
      value: byDevice.get(deviceId) ?? [],
    };
  }

  async group(groupId: string, request: SeriesRequest): Promise<FleetSeries> {
    const params = this.params(request);
    const ids = [...(await this.options.groupDeviceIds(groupId))].sort(byCodePoint);
    return this.fleet(ids, request, params);
  }

  async template(templateId: string, request: SeriesRequest): Promise<FleetSeries> {
    const params = this.params(request);
    const telemetry = await this.options.templateTelemetry(templateId);
    if (NUMERIC_AGGREGATIONS.has(params.aggregation)) {
      checkTemplateNumeric(telemetry, request.name, request.component ?? '', params.aggregation);
    }
    const rows = await this.options.db
      .selectFrom('devices')
      .select('id')
      .where('template', '=', templateId)
      .orderBy('id')
      .limit(MAX_SERIES_DEVICES + 1)
      .execute();
    return this.fleet(
      rows.map((r) => r.id),
      request,
      params,
    );
  }

  private async fleet(
    ids: readonly string[],
    request: SeriesRequest,
    params: SeriesParams,
  ): Promise<FleetSeries> {
    const devices = ids.slice(0, MAX_SERIES_DEVICES);
    const component = request.component ?? '';
    const { source, byDevice } = await this.compute(devices, request.name, component, params);
    return {
      ...header(params, source),
      value: devices.map((deviceId) => ({ deviceId, value: byDevice.get(deviceId) ?? [] })),
      truncated: ids.length > MAX_SERIES_DEVICES,
    };
  }

  private async compute(
    deviceIds: readonly string[],
    name: string,
    component: string,
    params: SeriesParams,
  ): Promise<{ source: SeriesSource; byDevice: Map<string, SeriesBucket[]> }> {
    const { pieces, source } = planPieces(params);
    const partials: SeriesPartial[] = [];
    if (deviceIds.length > 0) {
      for (const piece of pieces) {
        partials.push(
          ...(await this.options.store.seriesPartials({
            deviceIds,
            component,
            name,
            intervalS: params.intervalS,
            aggregation: params.aggregation,
            ...piece,
          })),
        );
      }
    }
    if (partials.length === 0 && deviceIds.length > 0 && NUMERIC_AGGREGATIONS.has(params.aggregation)) {
      // Nothing in the window: say so plainly when the field never held a number at all.
      if ((await this.options.store.fieldKind(deviceIds, component, name)) === 'other') {
        throw hubError(
          'ERR_SERIES_INVALID',
          `'aggregation' ${params.aggregation} needs numbers, and '${name}' was never sent as a number.`,
        );
      }
    }
    return { source, byDevice: finish(partials, params) };
  }
}

/**
 * The pieces of the window and the source that serves most of it. Rollup pieces cover whole
 * minutes or hours, which lie inside one bucket because the interval is a multiple of them
 * and buckets are aligned to the epoch like they are.
 */
export function planPieces(params: SeriesParams): {
  source: SeriesSource;
  pieces: Array<{ source: SeriesSource; fromMs: number; toMs: number }>;
} {
  const { fromMs, toMs, intervalS } = params;
  const levels: RollupLevel[] = [];
  if (intervalS % 3600 === 0 && toMs - fromMs >= DAY_MS) levels.push('hour');
  if (intervalS % 60 === 0) levels.push('minute');
  const pieces = split(fromMs, toMs, levels);
  const source = levels.find((l) => pieces.some((p) => p.source === l)) ?? 'raw';
  return { source, pieces };
}

function split(
  a: number,
  b: number,
  levels: readonly RollupLevel[],
): Array<{ source: SeriesSource; fromMs: number; toMs: number }> {
  if (a >= b) return [];
  const [level, ...rest] = levels;
  if (level === undefined) return [{ source: 'raw', fromMs: a, toMs: b }];
  const size = ROLLUP_SECONDS[level] * 1000;
  const lo = Math.ceil(a / size) * size;
  const hi = Math.floor(b / size) * size;
  if (lo >= hi) return split(a, b, rest);
  return [...split(a, lo, rest), { source: level, fromMs: lo, toMs: hi }, ...split(hi, b, rest)];
}

/** Merges the pieces' partials per device and bucket and computes the aggregation. */
function finish(partials: readonly SeriesPartial[], params: SeriesParams): Map<string, SeriesBucket[]> {
  const merged = new Map<string, SeriesPartial>();
  for (const p of partials) {
    const key = `${p.deviceId}\u0000${p.bucket}`;
    const acc = merged.get(key);
    if (!acc) {
      merged.set(key, { ...p });
      continue;
    }
    acc.count += p.count;
    const a = acc.value ?? 0;
    const v = p.value ?? 0;
    switch (params.aggregation) {
      case 'avg':
      case 'sum':
        acc.value = a + v;
        break;
      case 'min':
        acc.value = Math.min(a, v);
        break;
      case 'max':
        acc.value = Math.max(a, v);
        break;
      case 'first':
        if ((p.time ?? '') < (acc.time ?? '')) [acc.value, acc.time] = [p.value, p.time];
        break;
      case 'last':
        if ((p.time ?? '') > (acc.time ?? '')) [acc.value, acc.time] = [p.value, p.time];
        break;
      case 'count':
        break;
    }
  }
  const out = new Map<string, SeriesBucket[]>();
  // Devices share their bucket times: one ISO string per time, not one per device and bucket.
  const times = new Map<number, string>();
  const timeOf = (bucket: number) => {
    let time = times.get(bucket);
    if (time === undefined) times.set(bucket, (time = new Date(bucket * 1000).toISOString()));
    return time;
  };
  const sorted = [...merged.values()].sort((x, y) => x.bucket - y.bucket);
  for (const p of sorted) {
    if (p.count === 0) continue;
    const value =
      params.aggregation === 'avg'
        ? (p.value ?? 0) / p.count
        : params.aggregation === 'count'
          ? p.count
          : (p.value ?? 0);
    let list = out.get(p.deviceId);
    if (!list) out.set(p.deviceId, (list = []));
    list.push({ time: timeOf(p.bucket), value, count: p.count });
  }
  return out;
}

function header(params: SeriesParams, source: SeriesSource): SeriesHeader {
  return {
    from: new Date(params.fromMs).toISOString(),
    to: new Date(params.toMs).toISOString(),
    interval: formatDuration(params.intervalS),
    aggregation: params.aggregation,
    source,
  };
}

function checkName(name: string): void {
  if (!FIELD_NAME.test(name)) {
    throw hubError(
      'ERR_SERIES_INVALID',
      `The telemetry 'name' must be 1–256 characters without quotes, backslashes or control characters.`,
    );
  }
}

function checkTemplateNumeric(
  telemetry: readonly TemplateTelemetry[],
  name: string,
  component: string,
  aggregation: Aggregation,
): void {
  const declared = telemetry.find((t) => t.name === name && (t.component ?? '') === component);
  if (declared && !(typeof declared.schema === 'string' && NUMERIC_SCHEMAS.has(declared.schema))) {
    const schema = typeof declared.schema === 'string' ? declared.schema : 'a complex schema';
    throw hubError(
      'ERR_SERIES_INVALID',
      `'aggregation' ${aggregation} needs numbers, and the device template declares '${name}' as ${schema}.`,
    );
  }
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
