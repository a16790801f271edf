import { useMemo } from 'react';
import { EmptyState } from '../components/ui';
import { fieldKey, fieldsOf } from './telemetry';
import type { DeviceTelemetry } from './use-device-telemetry';
import type { DeviceTemplate } from './types';

/** Rows shown; the newest first. */
const ROWS = 200;

/**
 * The Raw data view (CENTRAL_API.md §5.1, §6): every message with its enqueued time, the
 * modeled fields, an "Unmodeled" column for fields the template does not declare, and the
 * message's application properties.
 */
export function RawDataTab({
  template,
  telemetry,
}: {
  template: DeviceTemplate | null | undefined;
  telemetry: DeviceTelemetry;
}) {
  const modeled = useMemo(
    () => new Set((template?.summary.telemetry ?? []).map((t) => fieldKey(t.name, t.component))),
    [template],
  );
  const rows = telemetry.messages.slice(-ROWS).reverse();
  if (telemetry.loaded && rows.length === 0) {
    return (
      <EmptyState title="No messages yet">
        Messages the device sends are listed here as they arrive.
      </EmptyState>
    );
  }
  return (
    <div className="table-wrap">
      <table aria-label="Raw data" className="raw-data">
        <thead>
          <tr>
            <th>Enqueued time</th>
            <th>Component</th>
            <th>Message</th>
            <th>Unmodeled</th>
            <th>Properties</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((m, i) => {
            const inModel: Record<string, unknown> = {};
            const outside: Record<string, unknown> = {};
            const fields = fieldsOf(m.body);
            const isObject =
              Object.keys(fields).length > 0 || (typeof m.body === 'object' && m.body !== null);
            for (const [name, value] of Object.entries(fields)) {
              if (modeled.has(fieldKey(name, m.component))) inModel[name] = value;
              else outside[name] = value;
            }
            return (
              <tr key={`${m.enqueuedTime}-${i}`}>
                <td>
                  <time dateTime={m.enqueuedTime}>{new Date(m.enqueuedTime).toLocaleString()}</time>
                </td>
                <td>{m.component ?? ''}</td>
                <td>
                  {isObject ? (
                    Object.keys(inModel).length > 0 && <code>{JSON.stringify(inModel)}</code>
                  ) : (
                    <code>{JSON.stringify(m.body)}</code>
                  )}
                </td>
                <td data-testid="unmodeled">
                  {Object.keys(outside).length > 0 && <code>{JSON.stringify(outside)}</code>}
                </td>
                <td>{Object.keys(m.properties).length > 0 && <code>{JSON.stringify(m.properties)}</code>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
