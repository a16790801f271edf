import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError, messageOf, REQUEST_HEADERS } from '../api';
import { resolveRange, type Aggregation, type ChartRange } from '../components/RangePicker';
import type { Point } from './telemetry';
import { devicePath } from './types';

/** One bucket of `GET /api/devices/{id}/telemetry/{name}/series`. */
export interface Bucket {
  time: string;
  value: number;
  count: number;
}

export interface SeriesAnswer {
  from: string;
  to: string;
  interval: string;
  aggregation: Aggregation;
  source: string;
  value: Bucket[];
}

/** Live points kept past the fetched buckets before the series is asked again (re-aggregated). */
const MAX_LIVE = 300;

/** The series path of a device's field over a window. */
export function seriesPath(
  deviceId: string,
  name: string,
  component: string | null | undefined,
  window: { from: number; to: number },
  aggregation: Aggregation,
  format?: 'csv',
): string {
  const params = new URLSearchParams({
    from: new Date(window.from).toISOString(),
    to: new Date(window.to).toISOString(),
    aggregation,
  });
  if (format) params.set('format', format);
  const base = component
    ? `/components/${encodeURIComponent(component)}/telemetry/${encodeURIComponent(name)}/series`
    : `/telemetry/${encodeURIComponent(name)}/series`;
  return devicePath(deviceId, `${base}?${params.toString()}`);
}

/** One line of a chart: a device's field. */
export interface SeriesTarget {
  deviceId: string;
  name: string;
  component?: string | null;
}

export function targetKey(t: SeriesTarget): string {
  return `${t.deviceId}\u0000${t.component ?? ''}\u0000${t.name}`;
}

/**
 * The series of a chart's lines: the buckets the server aggregated over the range, and, while
 * the range ends now, each new message as a point of its own (a bucket of one message) until
 * enough have come to ask the server again. Points older than the window fall off.
 */
export function useSeries(targets: readonly SeriesTarget[], range: ChartRange, aggregation: Aggregation) {
  const key = JSON.stringify([targets.map(targetKey), range, aggregation]);
  const [state, setState] = useState<{
    key: string;
    window: { from: number; to: number; live: boolean };
    points: Record<string, Point[]>;
    interval?: string;
    error: string | null;
    loaded: boolean;
  }>(() => ({ key, window: resolveRange(range), points: {}, error: null, loaded: false }));
  const [generation, setGeneration] = useState(0);
  const live = useRef(0);

  useEffect(() => {
    let cancelled = false;
    const window = resolveRange(range);
    live.current = 0;
    setState((s) => ({ ...s, key, window, error: null, loaded: s.key === key && s.loaded }));
    Promise.all(
      targets.map((t) =>
        api<SeriesAnswer>('GET', seriesPath(t.deviceId, t.name, t.component, window, aggregation)).catch(
          (err: unknown) => {
            // A field that never held a number has no points; anything else is worth showing.
            if (err instanceof ApiError && err.status === 400 && /needs numbers/.test(err.message))
              return undefined;
            throw err;
          },
        ),
      ),
    )
      .then((answers) => {
        if (cancelled) return;
        setState((s) => {
          const points: Record<string, Point[]> = {};
          targets.forEach((t, i) => {
            const k = targetKey(t);
            // Messages that came live while the answers were on their way stay after the buckets.
            const arrived = s.key === key ? (s.points[k] ?? []).filter((p) => p[0] >= window.to) : [];
            points[k] = [
              ...(answers[i]?.value ?? []).map((b) => [Date.parse(b.time), b.value] as const),
              ...arrived,
            ];
          });
          const interval = answers.find((a) => a !== undefined)?.interval;
          return {
            key,
            window: s.key === key ? s.window : window,
            points,
            ...(interval !== undefined ? { interval } : {}),
            error: null,
            loaded: true,
          };
        });
      })
      .catch((err: unknown) => {
        if (cancelled) return;
        setState((s) => ({ ...s, key, window, points: {}, error: messageOf(err), loaded: true }));
      });
    return () => {
      cancelled = true;
    };
  }, [key, generation]);

  /** A new message's value of one line (its enqueued time in ms). */
  const add = useCallback(
    (target: SeriesTarget, time: number, value: number) => {
      const k = targetKey(target);
      setState((s) => {
        if (!s.window.live || s.key !== key || !(k in s.points || !s.loaded)) return s;
        const now = Date.now();
        const span = s.window.to - s.window.from;
        const window = { from: now - span, to: now, live: true };
        // As a bucket of one message: its value, or 1 when counting.
        const point: Point = [time, aggregation === 'count' ? 1 : value];
        return {
          ...s,
          window,
          points: { ...s.points, [k]: [...(s.points[k] ?? []).filter((p) => p[0] >= window.from), point] },
        };
      });
      if (++live.current > MAX_LIVE) setGeneration((g) => g + 1);
    },
    [key, aggregation],
  );

  return { ...state, add };
}

/**
 * Saves what a chart shows as CSV: the series with `format=csv`, fetched with the session
 * cookie and saved under the server's `Content-Disposition` name (fetched, not linked, so a
 * refusal shows as the server's message).
 */
export async function downloadCsv(path: string, fallbackName: string): Promise<void> {
  const response = await fetch(path, { headers: REQUEST_HEADERS, credentials: 'same-origin' });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    throw new ApiError(
      response.status,
      body.error?.code ?? `HTTP_${response.status}`,
      body.error?.message ?? '',
    );
  }
  const disposition = response.headers.get('content-disposition') ?? '';
  const fileName = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
