import { createContext, useContext, useEffect, useMemo, useRef, useState } from 'react';
import { api, messageOf } from '../api';
import {
  RangePicker,
  rangeOfWindow,
  resolveRange,
  type Aggregation,
  type ChartRange,
} from '../components/RangePicker';
import { TimeChart } from '../components/TimeChart';
import { show, unitLabel } from '../devices/telemetry';
import { devicePath, type Stats, type Tile } from '../devices/types';
import {
  downloadCsv,
  seriesPath,
  targetKey,
  useSeries,
  type Bucket,
  type SeriesAnswer,
  type SeriesTarget,
} from '../devices/use-series';
import type { LiveEvent } from '../live';

/**
 * The dashboard's tiles. The page holds one application-wide event stream and hands each
 * event to the tiles through {@link LiveContext}, so ten tiles are still one connection.
 */
export const LiveContext = createContext<(listener: (e: LiveEvent) => void) => () => void>(
  () => () => undefined,
);

function useLive(listener: (e: LiveEvent) => void): void {
  const subscribe = useContext(LiveContext);
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => subscribe((e) => ref.current(e)), [subscribe]);
}

/** Field labels (display name and unit from the templates), keyed by telemetry name. */
export type FieldLabels = ReadonlyMap<string, { displayName: string; unit?: string }>;

export function KpiTile({ tile, stats }: { tile: Tile; stats: Stats | undefined }) {
  const kpi = tile.configuration.kpi ?? 'devicesConnected';
  if (kpi === 'telemetry') return <TelemetryKpi tile={tile} />;
  const value = stats?.[kpi];
  const hint = {
    devicesConnected: stats ? `of ${stats.devicesTotal} devices` : '',
    messagesPerMinute: stats ? `${stats.messagesLastHour} in the last hour` : '',
    devicesTotal: stats ? `${stats.devicesConnected} connected` : '',
  }[kpi];
  return (
    <div className="kpi-tile">
      <output className="kpi" aria-label={tile.title} data-testid={`kpi-${kpi}`}>
        {value ?? '—'}
      </output>
      <span className="muted small">{hint}</span>
    </div>
  );
}

/** The buckets of a series combined into one figure over the whole window. */
export function combine(buckets: Bucket[], aggregation: Aggregation): number | undefined {
  if (buckets.length === 0) return undefined;
  const values = buckets.map((b) => b.value);
  switch (aggregation) {
    case 'avg': {
      const n = buckets.reduce((a, b) => a + b.count, 0);
      return buckets.reduce((a, b) => a + b.value * b.count, 0) / n;
    }
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
    case 'sum':
    case 'count':
      return values.reduce((a, b) => a + b, 0);
    case 'first':
      return values[0];
    case 'last':
      return values[values.length - 1];
  }
}

/** A device field aggregated over the tile's window (avg, min, max…), asked again as messages come. */
function TelemetryKpi({ tile }: { tile: Tile }) {
  const deviceId = tile.configuration.devices?.[0] ?? '';
  const name = tile.configuration.telemetry?.[0] ?? '';
  const [range, setRange] = useState<ChartRange>(rangeOfWindow(tile.configuration.window));
  const [aggregation, setAggregation] = useState<Aggregation>(tile.configuration.aggregation ?? 'avg');
  const [value, setValue] = useState<number | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const pending = useRef(false);
  const rangeKey = JSON.stringify(range);

  useEffect(() => {
    let cancelled = false;
    const window = resolveRange(range);
    api<SeriesAnswer>('GET', seriesPath(deviceId, name, null, window, aggregation))
      .then((answer) => {
        if (cancelled) return;
        setValue(combine(answer.value, aggregation));
        setError(null);
      })
      .catch((err: unknown) => {
        if (!cancelled) setError(messageOf(err));
      });
    return () => {
      cancelled = true;
    };
  }, [deviceId, name, rangeKey, aggregation, tick]);

  useLive((e) => {
    if (e.type !== 'telemetry' || e.deviceId !== deviceId || !resolveRange(range).live || pending.current)
      return;
    // At most one new answer a second, however fast the device sends.
    pending.current = true;
    setTimeout(() => {
      pending.current = false;
      setTick((t) => t + 1);
    }, 1000);
  });

  return (
    <div className="kpi-tile">
      <output className="kpi" aria-label={tile.title} data-testid={`kpi-telemetry-${tile.id}`}>
        {value === undefined ? '—' : show(value)}
      </output>
      <span className="muted small">
        {aggregation} of {name} · {deviceId}
      </span>
      {error !== null && <span className="error small">{error}</span>}
      <RangePicker
        label={tile.title}
        range={range}
        onRange={setRange}
        aggregation={aggregation}
        onAggregation={setAggregation}
      />
    </div>
  );
}

function seriesKey(deviceId: string, field: string): string {
  return `${deviceId} · ${field}`;
}

/** A line chart of fields across devices over a range, aggregated by the server, then live. */
export function LineChartTile({ tile, labels }: { tile: Tile; labels: FieldLabels }) {
  const devices = tile.configuration.devices ?? [];
  const fields = tile.configuration.telemetry ?? [];
  const [range, setRange] = useState<ChartRange>(rangeOfWindow(tile.configuration.window));
  const [aggregation, setAggregation] = useState<Aggregation>(tile.configuration.aggregation ?? 'avg');
  const [csvError, setCsvError] = useState<string | null>(null);
  const key = JSON.stringify([devices, fields]);
  const targets: SeriesTarget[] = useMemo(
    () => devices.flatMap((deviceId) => fields.map((name) => ({ deviceId, name }))),
    [key],
  );
  const data = useSeries(targets, range, aggregation);

  useLive((e) => {
    if (e.type !== 'telemetry' || !devices.includes(e.deviceId) || e.component) return;
    const body = e.body as Record<string, unknown> | null;
    if (body === null || typeof body !== 'object') return;
    const t = Date.parse(e.enqueuedTime);
    for (const field of fields) {
      const v = body[field];
      if (typeof v === 'number') data.add({ deviceId: e.deviceId, name: field }, t, v);
    }
  });

  const series = targets.map((target) => {
    const label = labels.get(target.name);
    const unit = unitLabel(label?.unit);
    return {
      label: `${target.deviceId} · ${label?.displayName ?? target.name}${unit ? ` (${unit})` : ''}`,
      points: data.points[targetKey(target)] ?? [],
    };
  });
  const download = async () => {
    setCsvError(null);
    try {
      for (const t of targets) {
        await downloadCsv(
          seriesPath(t.deviceId, t.name, null, data.window, aggregation, 'csv'),
          `${t.deviceId}-${t.name}.csv`,
        );
      }
    } catch (err) {
      setCsvError(messageOf(err));
    }
  };
  if (devices.length === 0) return <p className="muted">No devices picked: edit the tile.</p>;
  return (
    <div data-testid={`tile-chart-${tile.id}`}>
      <div className="row spread">
        <RangePicker
          label={tile.title}
          range={range}
          onRange={setRange}
          aggregation={aggregation}
          onAggregation={setAggregation}
        />
        <button type="button" className="link small" onClick={() => void download()}>
          Download CSV
        </button>
      </div>
      {(data.error ?? csvError) !== null && <p className="error small">{data.error ?? csvError}</p>}
      <TimeChart series={series} height={Math.max(140, tile.height * 64 - 130)} window={data.window} />
    </div>
  );
}

/** The last value of each picked field of each picked device, kept live. */
export function LastValueTile({ tile, labels }: { tile: Tile; labels: FieldLabels }) {
  const devices = tile.configuration.devices ?? [];
  const fields = tile.configuration.telemetry ?? [];
  const [values, setValues] = useState<Record<string, { value: unknown; time: string }>>({});
  const key = JSON.stringify([devices, fields]);

  useEffect(() => {
    let cancelled = false;
    setValues({});
    for (const d of devices) {
      for (const f of fields) {
        api<{ value: unknown; timestamp: string }>(
          'GET',
          devicePath(d, `/telemetry/${encodeURIComponent(f)}`),
        )
          .then((r) => {
            if (cancelled) return;
            setValues((v) =>
              v[seriesKey(d, f)] ? v : { ...v, [seriesKey(d, f)]: { value: r.value, time: r.timestamp } },
            );
          })
          .catch(() => undefined);
      }
    }
    return () => {
      cancelled = true;
    };
  }, [key]);

  useLive((e) => {
    if (e.type !== 'telemetry' || !devices.includes(e.deviceId)) return;
    const body = e.body as Record<string, unknown> | null;
    if (body === null || typeof body !== 'object') return;
    const found = fields.filter((f) => f in body);
    if (found.length === 0) return;
    setValues((v) => {
      const out = { ...v };
      for (const f of found) out[seriesKey(e.deviceId, f)] = { value: body[f], time: e.enqueuedTime };
      return out;
    });
  });

  return (
    <ul className="last-values">
      {devices.flatMap((d) =>
        fields.map((f) => {
          const label = labels.get(f);
          const v = values[seriesKey(d, f)];
          return (
            <li key={seriesKey(d, f)}>
              <span className="muted small">
                {d} · {label?.displayName ?? f}
              </span>
              <output className="last-value" data-testid={`lkv-${tile.id}-${d}-${f}`}>
                {v === undefined ? '—' : show(v.value)}
                {v !== undefined && label?.unit !== undefined && (
                  <span className="muted"> {unitLabel(label.unit)}</span>
                )}
              </output>
            </li>
          );
        }),
      )}
    </ul>
  );
}
