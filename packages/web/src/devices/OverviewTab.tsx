import { useMemo } from 'react';
import { TimeChart } from '../components/TimeChart';
import { EmptyState } from '../components/ui';
import { fieldKey, isNumeric, keyedFields, show, unitLabel } from './telemetry';
import type { DeviceTelemetry } from './use-device-telemetry';
import type { DeviceTemplate } from './types';

interface Field {
  key: string;
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
  template,
  telemetry,
  onConnect,
}: {
  template: DeviceTemplate | null | undefined;
  telemetry: DeviceTelemetry;
  onConnect: () => void;
}) {
  const { messages, points } = telemetry;

  const fields: Field[] = useMemo(() => {
    if (template) {
      return template.summary.telemetry.map((t) => ({
        key: fieldKey(t.name, t.component),
        label: t.component ? `${t.displayName} (${t.component})` : t.displayName,
        unit: unitLabel(t.unit),
        numeric: isNumeric(t),
      }));
    }
    return Object.keys(points)
      .sort()
      .map((key) => ({ key, label: key, unit: '', numeric: true }));
  }, [template, points]);

  const latest = useMemo(() => {
    const values = new Map<string, { value: unknown; time: string }>();
    for (const m of messages)
      for (const [key, value] of keyedFields(m)) values.set(key, { value, time: m.enqueuedTime });
    return values;
  }, [messages]);

  return (
    <div>
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
                <div data-testid={`chart-${f.key}`}>
                  <TimeChart series={[{ label: f.label, points: points[f.key] ?? [] }]} height={180} />
                </div>
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
