import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** One line of a chart: its label and its points (time in ms, value). */
export interface Series {
  label: string;
  points: ReadonlyArray<readonly [number, number]>;
}

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

/**
 * A live line chart on uPlot. The caller keeps the points (appending as telemetry
 * arrives); the chart re-renders its data without being rebuilt, so a new point
 * shows on the next frame. Resizes with its container.
 */
export function TimeChart({
  series,
  height = 220,
  title,
  window,
}: {
  series: Series[];
  height?: number;
  title?: string;
  /** The time window shown (ms): the x axis spans it whatever the points, labelled to fit it. */
  window?: { from: number; to: number };
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const labels = series.map((s) => s.label).join('\u0000');
  // Read by the scale and axis callbacks, so a moving window (one that ends now) needs no rebuild.
  const shown = useRef(window);
  shown.current = window;

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      ...(title !== undefined ? { title } : {}),
      scales: {
        x: {
          time: true,
          range: (_u, min, max) => {
            const w = shown.current;
            return w ? [w.from / 1000, w.to / 1000] : [min, max];
          },
        },
      },
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: COLORS[i % COLORS.length],
          width: 2,
          spanGaps: true,
        })),
      ],
      axes: [
        {
          // Labels that fit the window: seconds over minutes, times over hours, dates over days.
          values: (u, splits) => {
            const w = shown.current;
            const span = w ? w.to - w.from : (u.scales.x!.max! - u.scales.x!.min!) * 1000;
            const out = splits.map((s) => timeLabel(s * 1000, span));
            el.dataset['xLabels'] = out.join('|');
            return out;
          },
        },
        { size: 56 },
      ],
      // One line needs no legend (the card's title names it); several get names without hover values.
      legend: { show: series.length > 1, live: false },
    };
    const u = new uPlot(opts, toData(series), el);
    plot.current = u;
    const observer = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Rebuilt only when the set of lines changes; data updates go through setData below.
  }, [labels, height, title]);

  useEffect(() => {
    plot.current?.setData(toData(series));
  }, [series, window?.from, window?.to]);

  return (
    <div
      className="chart"
      ref={host}
      data-points={series.reduce((n, s) => n + s.points.length, 0)}
      data-last-value={series[0]?.points[series[0].points.length - 1]?.[1] ?? ''}
      data-window={
        window ? `${new Date(window.from).toISOString()}/${new Date(window.to).toISOString()}` : ''
      }
    />
  );
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** A tick label for a window `span` ms long: HH:MM:SS up to 10 min, HH:MM up to a day, then dates. */
export function timeLabel(ms: number, span: number): string {
  const d = new Date(ms);
  if (span <= 10 * MINUTE)
    return d.toLocaleTimeString(undefined, {
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hour12: false,
    });
  if (span <= 26 * 60 * MINUTE)
    return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });
  if (span <= 3 * DAY)
    return `${d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hour12: false })}`;
  return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

/** uPlot wants one shared x array: merge the series' times, null where a series has no point. */
function toData(series: Series[]): uPlot.AlignedData {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = series.map((s) => {
    const col: Array<number | null> = new Array(times.length).fill(null);
    for (const [t, v] of s.points) col[index.get(t)!] = v;
    return col;
  });
  return [times.map((t) => t / 1000), ...columns] as uPlot.AlignedData;
}
