import { useEffect, useMemo, useRef, useState } from 'react';
import { RangePicker, type Aggregation, type ChartRange } from '../components/RangePicker';
import { TimeChart } from '../components/TimeChart';
import { EmptyState, FieldError } from '../components/ui';
import { downloadCsv, seriesPath, targetKey, useSeries, type SeriesTarget } from './use-series';
import { fieldKey, isNumeric, keyedFields, show, unitLabel } from './telemetry';
import type { DeviceTelemetry } from './use-device-telemetry';
import type { DeviceTemplate } from './types';

interface Field {
  key: string;
  name: string;
  component?: string | null;
  label: string;
  unit: string;
  numeric: boolean;
}

/**
 * The Overview view (CENTRAL_API.md §6 "Generate default views"): one live chart per telemetry
 * field of the template, titled with its display name and unit, and the latest value beside
 * it. Without a template every numeric field the device sends is charted under its name.
 */
export function OverviewTab({
  deviceId,
  template,
  telemetry,
  onConnect,
}: {
  deviceId: string;
  template: DeviceTemplate | null | undefined;
  telemetry: DeviceTelemetry;
  onConnect: () => void;
}) {
  const { messages, points } = telemetry;
  const [range, setRange] = useState<ChartRange>({ key: 'PT30M' });
  const [aggregation, setAggregation] = useState<Aggregation>('avg');
  const [csvError, setCsvError] = useState<string | null>(null);

  const fields: Field[] = useMemo(() => {
    if (template) {
      return template.summary.telemetry.map((t) => ({
        key: fieldKey(t.name, t.component),
        name: t.name,
        component: t.component ?? null,
        label: t.component ? `${t.displayName} (${t.component})` : t.displayName,
        unit: unitLabel(t.unit),
        numeric: isNumeric(t),
      }));
    }
    return Object.keys(points)
      .sort()
      .map((key) => {
        const dot = key.indexOf('.');
        return dot < 0
          ? { key, name: key, label: key, unit: '', numeric: true }
          : {
              key,
              name: key.slice(dot + 1),
              component: key.slice(0, dot),
              label: key,
              unit: '',
              numeric: true,
            };
      });
  }, [template, points]);

  const latest = useMemo(() => {
    const values = new Map<string, { value: unknown; time: string }>();
    for (const m of messages)
      for (const [key, value] of keyedFields(m)) values.set(key, { value, time: m.enqueuedTime });
    return values;
  }, [messages]);

  // The charts: every numeric field over the picked range, aggregated by the server.
  const targets: SeriesTarget[] = useMemo(
    () =>
      fields
        .filter((f) => f.numeric)
        .map((f) => ({ deviceId, name: f.name, component: f.component ?? null })),
    [deviceId, fields],
  );
  const series = useSeries(targets, range, aggregation);
  const { add } = series;
  // Messages that arrive while the page is open go onto the charts of a range that ends now.
  const seen = useRef(new Date().toISOString());
  useEffect(() => {
    for (const m of messages) {
      if (m.enqueuedTime <= seen.current) continue;
      seen.current = m.enqueuedTime;
      for (const [key, value] of keyedFields(m)) {
        const f = fields.find((x) => x.key === key);
        if (f && typeof value === 'number')
          add({ deviceId, name: f.name, component: f.component ?? null }, Date.parse(m.enqueuedTime), value);
      }
    }
  }, [messages, fields, add, deviceId]);

  const download = async (f: Field) => {
    setCsvError(null);
    try {
      await downloadCsv(
        seriesPath(deviceId, f.name, f.component, series.window, aggregation, 'csv'),
        `${deviceId}-${f.name}.csv`,
      );
    } catch (err) {
      setCsvError(`${f.label}: ${(err as Error).message}`);
    }
  };

  return (
    <div>
      <div className="row spread overview-tools">
        <RangePicker
          label="Charts"
          range={range}
          onRange={setRange}
          aggregation={aggregation}
          onAggregation={setAggregation}
        />
        {series.interval !== undefined && (
          <span className="muted small" data-testid="series-interval">
            {aggregation} per {series.interval}
          </span>
        )}
      </div>
      <FieldError error={series.error ?? csvError} />
      {template === null && (
        <p className="note" role="note">
          No template: assign one to name and type its fields. Until then every numeric field the device sends
          is charted under its own name.
        </p>
      )}
      {telemetry.error !== null && <p className="error">{telemetry.error}</p>}
      {telemetry.loaded && messages.length === 0 && (
        <EmptyState title="No telemetry yet">
          <button type="button" className="link" onClick={onConnect}>
            Open the Connect dialog
          </button>{' '}
          for the ID scope and credentials, start the device, and its messages show here within a second.
        </EmptyState>
      )}
      <div className="chart-grid">
        {fields.map((f) => {
          const last = latest.get(f.key);
          return (
            <section className="card telemetry-card" key={f.key} aria-label={f.label}>
              <header className="telemetry-head">
                <h3>
                  {f.label}
                  {f.unit !== '' && <span className="muted"> ({f.unit})</span>}
                </h3>
                <output className="latest" aria-label={`Latest ${f.label}`} data-testid={`latest-${f.key}`}>
                  {last === undefined ? '—' : `${show(last.value)}${f.unit !== '' ? ` ${f.unit}` : ''}`}
                </output>
              </header>
              {f.numeric ? (
                <>
                  <div data-testid={`chart-${f.key}`}>
                    <TimeChart
                      series={[
                        {
                          label: f.label,
                          points:
                            series.points[
                              targetKey({ deviceId, name: f.name, component: f.component ?? null })
                            ] ?? [],
                        },
                      ]}
                      height={180}
                      window={series.window}
                    />
                  </div>
                  <button type="button" className="link small" onClick={() => void download(f)}>
                    Download CSV<span className="sr-only"> of {f.label}</span>
                  </button>
                </>
              ) : (
                <p className="muted">Not a number: the latest value is shown above.</p>
              )}
            </section>
          );
        })}
      </div>
    </div>
  );
}
