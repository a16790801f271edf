/**
 * The parameters of a telemetry series (README "Telemetry series"): the window, the bucket
 * interval as an ISO 8601 duration, the aggregation. Pure functions; every refusal is a 400
 * ERR_SERIES_INVALID whose message names the parameter.
 */
import { hubError } from './errors.js';

export const AGGREGATIONS = ['avg', 'min', 'max', 'sum', 'count', 'first', 'last'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];
/** The aggregations that need numbers (the others are defined for any stored number too). */
export const NUMERIC_AGGREGATIONS: ReadonlySet<Aggregation> = new Set(['avg', 'min', 'max', 'sum']);

/** Most buckets one series may have. */
export const MAX_BUCKETS = 1000;
/** Longest window, in days. */
export const MAX_WINDOW_DAYS = 400;
const DAY_S = 86_400;
const HOUR_MS = 3_600_000;

/** The intervals picked when none is given: the smallest giving at most {@link MAX_BUCKETS}. */
export const AUTO_INTERVALS_S = [
  1,
  5,
  10,
  30,
  60,
  300,
  600,
  1800,
  3600,
  3 * 3600,
  6 * 3600,
  12 * 3600,
  DAY_S,
] as const;

export interface SeriesParams {
  /** Epoch milliseconds, inclusive. */
  fromMs: number;
  /** Epoch milliseconds, exclusive. */
  toMs: number;
  intervalS: number;
  aggregation: Aggregation;
  format: 'json' | 'csv';
}

/** The query string as the route passes it (values are strings or absent). */
export type SeriesQueryText = Partial<Record<'from' | 'to' | 'interval' | 'aggregation' | 'format', string>>;

/** ISO 8601 date or date-time, e.g. `2024-05-01` or `2024-05-01T10:00:00Z` (offsets allowed). */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * ISO 8601 durations of fixed length: weeks, days, hours, minutes, whole seconds. Years and
 * months have no fixed length in seconds, so buckets of them could not be epoch-aligned.
 */
const DURATION = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/i;

export function parseSeriesParams(query: SeriesQueryText, now: Date): SeriesParams {
  const toMs = query.to === undefined ? now.getTime() : parseTime(query.to, 'to');
  const fromMs = query.from === undefined ? toMs - HOUR_MS : parseTime(query.from, 'from');
  if (fromMs > toMs)
    throw invalid(`'from' (${query.from}) must not be after 'to' (${new Date(toMs).toISOString()}).`);
  if (toMs - fromMs > MAX_WINDOW_DAYS * DAY_S * 1000) {
    throw invalid(`The window from 'from' to 'to' is longer than ${MAX_WINDOW_DAYS} days.`);
  }
  const aggregation = query.aggregation ?? 'avg';
  if (!(AGGREGATIONS as readonly string[]).includes(aggregation)) {
    throw invalid(`'aggregation' must be one of ${AGGREGATIONS.join(', ')}, not '${aggregation}'.`);
  }
  const format = query.format ?? 'json';
  if (format !== 'json' && format !== 'csv') throw invalid(`'format' must be json or csv, not '${format}'.`);
  const windowS = (toMs - fromMs) / 1000;
  let intervalS: number;
  if (query.interval === undefined) {
    intervalS = AUTO_INTERVALS_S.find((s) => bucketCount(fromMs, toMs, s) <= MAX_BUCKETS) ?? DAY_S;
  } else {
    intervalS = parseDuration(query.interval);
    const buckets = bucketCount(fromMs, toMs, intervalS);
    if (buckets > MAX_BUCKETS) {
      throw invalid(
        `'interval' ${query.interval} is too small for a window of ${Math.round(windowS)} s: ${buckets} buckets, at most ${MAX_BUCKETS}.`,
      );
    }
  }
  return { fromMs, toMs, intervalS, aggregation: aggregation as Aggregation, format };
}

/** Seconds of an ISO 8601 duration such as PT10S, PT5M, PT1H, P1D, P1W. */
export function parseDuration(text: string): number {
  const m = DURATION.exec(text);
  if (!m || text.toUpperCase() === 'P' || text.toUpperCase().endsWith('T')) {
    throw invalid(
      `'interval' must be an ISO 8601 duration of weeks, days, hours, minutes or whole seconds (e.g. PT10S, PT5M, PT1H, P1D), not '${text}'.`,
    );
  }
  const [w, d, h, min, s] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v)));
  const seconds = (w! * 7 + d!) * DAY_S + h! * 3600 + min! * 60 + s!;
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > MAX_WINDOW_DAYS * DAY_S) {
    throw invalid(`'interval' must be from 1 second to ${MAX_WINDOW_DAYS} days, not '${text}'.`);
  }
  return seconds;
}

/** The ISO 8601 form of a number of seconds: PT30S, PT5M, PT1H, P1D, P1DT12H. */
export function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / DAY_S);
  let rest = seconds % DAY_S;
  const h = Math.floor(rest / 3600);
  rest %= 3600;
  const m = Math.floor(rest / 60);
  const s = rest % 60;
  const time = `${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s ? `${s}S` : ''}`;
  return `P${d ? `${d}D` : ''}${time ? `T${time}` : ''}`;
}

/** Buckets (aligned to multiples of the interval since the epoch) the window touches. */
export function bucketCount(fromMs: number, toMs: number, intervalS: number): number {
  const size = intervalS * 1000;
  if (toMs <= fromMs) return 0;
  return Math.floor((toMs - 1) / size) - Math.floor(fromMs / size) + 1;
}

function parseTime(text: string, name: 'from' | 'to'): number {
  // A date-time without an offset is UTC here, never the server's zone (Date.parse would take local).
  const utc = /T[\d:.]+$/i.test(text) ? `${text}Z` : text;
  const ms = ISO_DATE.test(text) ? Date.parse(utc) : NaN;
  if (Number.isNaN(ms)) {
    throw invalid(`'${name}' must be an ISO 8601 date-time such as 2024-05-01T10:00:00Z, not '${text}'.`);
  }
  return ms;
}

function invalid(message: string): Error {
  return hubError('ERR_SERIES_INVALID', message);
}
