import { createContext, useContext, useEffect, useRef, useState } from 'react';
import { api } from '../api';
import { TimeChart } from '../components/TimeChart';
import { show, unitLabel, type Point } from '../devices/telemetry';
import { devicePath, type Stats, type TelemetryMessage, type Tile } from '../devices/types';
import type { LiveEvent } from '../live';
import { windowMs } from './layout';

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

function seriesKey(deviceId: string, field: string): string {
  return `${deviceId} · ${field}`;
}

/** A line chart of fields across devices: seeded from each device's history, then live. */
export function LineChartTile({ tile, labels }: { tile: Tile; labels: FieldLabels }) {
  const devices = tile.configuration.devices ?? [];
  const fields = tile.configuration.telemetry ?? [];
  const span = windowMs(tile.configuration.window);
  const [points, setPoints] = useState<Record<string, Point[]>>({});
  const key = JSON.stringify([devices, fields, span]);

  useEffect(() => {
    let cancelled = false;
    setPoints({});
    const from = new Date(Date.now() - span).toISOString();
    for (const deviceId of devices) {
      api<{ value: TelemetryMessage[] }>(
        'GET',
        devicePath(deviceId, `/telemetry?from=${encodeURIComponent(from)}&limit=2000`),
      )
        .then(({ value }) => {
          if (cancelled) return;
          setPoints((p) => {
            const out = { ...p };
            for (const field of fields) {
              const k = seriesKey(deviceId, field);
              const live = out[k] ?? [];
              const first = live[0]?.[0] ?? Infinity;
              const older: Point[] = [];
              for (const m of value) {
                const v = (m.body as Record<string, unknown> | null)?.[field];
                const t = Date.parse(m.enqueuedTime);
                if (typeof v === 'number' && t < first) older.push([t, v]);
              }
              out[k] = [...older, ...live];
            }
            return out;
          });
        })
        .catch(() => undefined);
    }
    return () => {
      cancelled = true;
    };
  }, [key]);

  useLive((e) => {
    if (e.type !== 'telemetry' || !devices.includes(e.deviceId)) return;
    const body = e.body as Record<string, unknown> | null;
    if (body === null || typeof body !== 'object') return;
    const t = Date.parse(e.enqueuedTime);
    const oldest = Date.now() - span;
    setPoints((p) => {
      let out: Record<string, Point[]> | undefined;
      for (const field of fields) {
        const v = body[field];
        if (typeof v !== 'number') continue;
        out ??= { ...p };
        const k = seriesKey(e.deviceId, field);
        out[k] = [...(out[k] ?? []).filter((pt) => pt[0] >= oldest), [t, v]];
      }
      return out ?? p;
    });
  });

  const series = devices.flatMap((d) =>
    fields.map((f) => {
      const label = labels.get(f);
      const unit = unitLabel(label?.unit);
      return {
        label: `${d} · ${label?.displayName ?? f}${unit ? ` (${unit})` : ''}`,
        points: points[seriesKey(d, f)] ?? [],
      };
    }),
  );
  if (devices.length === 0) return <p className="muted">No devices picked: edit the tile.</p>;
  return (
    <div data-testid={`tile-chart-${tile.id}`}>
      <TimeChart series={series} height={Math.max(140, tile.height * 64 - 90)} />
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
