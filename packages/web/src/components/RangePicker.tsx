import type { TileAggregation, TileWindow } from '@gatehouse/server/rest-types';

/** The windows a chart offers (IoT Central's), or a custom from/to. */
export type RangeKey = 'PT30M' | 'PT1H' | 'PT12H' | 'P1D' | 'P7D' | 'P30D' | 'custom';
export type Aggregation = TileAggregation;

export interface ChartRange {
  key: RangeKey;
  /** Custom window, as `datetime-local` text (the browser's time zone). */
  from?: string;
  to?: string;
}

export const RANGES: Array<[RangeKey, string, number]> = [
  ['PT30M', 'Last 30 minutes', 30 * 60_000],
  ['PT1H', 'Last hour', 60 * 60_000],
  ['PT12H', 'Last 12 hours', 12 * 60 * 60_000],
  ['P1D', 'Last day', 24 * 60 * 60_000],
  ['P7D', 'Last week', 7 * 24 * 60 * 60_000],
  ['P30D', 'Last 30 days', 30 * 24 * 60 * 60_000],
];

export const AGGREGATIONS: Array<[Aggregation, string]> = [
  ['avg', 'Average'],
  ['min', 'Minimum'],
  ['max', 'Maximum'],
  ['sum', 'Sum'],
  ['count', 'Count'],
  ['first', 'First'],
  ['last', 'Last'],
];

/** A tile's saved window as a range (PT5M shows as 30 minutes, the shortest offered; PT24H is a day). */
export function rangeOfWindow(w: TileWindow | undefined): ChartRange {
  if (w === undefined || w === 'PT5M') return { key: 'PT30M' };
  if (w === 'PT24H') return { key: 'P1D' };
  return { key: w };
}

/** The window a range covers now; `live` when it ends now (new messages belong in it). */
export function resolveRange(
  range: ChartRange,
  now = Date.now(),
): { from: number; to: number; live: boolean } {
  if (range.key === 'custom') {
    const from = range.from ? Date.parse(range.from) : NaN;
    const to = range.to ? Date.parse(range.to) : NaN;
    if (Number.isFinite(from) && Number.isFinite(to) && from < to) return { from, to, live: false };
    return { from: now - 60 * 60_000, to: now, live: true };
  }
  const span = RANGES.find(([k]) => k === range.key)?.[2] ?? 30 * 60_000;
  return { from: now - span, to: now, live: true };
}

/** `datetime-local` text of a time, in the browser's time zone. */
function localText(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/**
 * The time range and aggregation of a chart: the windows IoT Central offers plus a custom
 * from/to, and how the points of a bucket combine. Labelled for screen readers by `label`.
 */
export function RangePicker({
  label,
  range,
  onRange,
  aggregation,
  onAggregation,
}: {
  label: string;
  range: ChartRange;
  onRange: (range: ChartRange) => void;
  aggregation: Aggregation;
  onAggregation: (aggregation: Aggregation) => void;
}) {
  return (
    <div className="range-picker" role="group" aria-label={`${label}: time range and aggregation`}>
      <select
        aria-label="Time range"
        value={range.key}
        onChange={(e) => {
          const key = e.target.value as RangeKey;
          if (key !== 'custom') return onRange({ key });
          // A custom range starts as the window shown now, to be narrowed.
          const w = resolveRange(range);
          onRange({ key, from: localText(w.from), to: localText(w.to) });
        }}
      >
        {RANGES.map(([key, text]) => (
          <option key={key} value={key}>
            {text}
          </option>
        ))}
        <option value="custom">Custom…</option>
      </select>
      {range.key === 'custom' && (
        <>
          <input
            type="datetime-local"
            aria-label="From"
            value={range.from ?? ''}
            onChange={(e) => onRange({ ...range, from: e.target.value })}
          />
          <input
            type="datetime-local"
            aria-label="To"
            value={range.to ?? ''}
            onChange={(e) => onRange({ ...range, to: e.target.value })}
          />
        </>
      )}
      <select
        aria-label="Aggregation"
        value={aggregation}
        onChange={(e) => onAggregation(e.target.value as Aggregation)}
      >
        {AGGREGATIONS.map(([key, text]) => (
          <option key={key} value={key}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}
