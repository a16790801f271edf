/**
 * An export's `filter` (EXPORT_RULES.md §3): IoT Central's device query, parsed by
 * app/device-query.ts, evaluated per message by app/device-query-eval.ts. A bare name resolves
 * first to a telemetry field of the message (`temperature > 30`, or `component.name`), then to a
 * property of the device; a missing field makes the condition false (§3 "Semantics").
 */
import { DeviceQueryError, parseDeviceQuery, type DeviceQuery } from '../app/device-query.js';
import { evaluate } from '../app/device-query-eval.js';
import { isPlainObject } from '../hub/message-body.js';
import { deviceProperty, type DeviceSnapshot } from './device-snapshot.js';
import { exportError } from './errors.js';

/** Parses `filter`, refusing it with 400 ERR_EXPORT_FILTER_INVALID naming the position and token. */
export function parseExportFilter(text: string): DeviceQuery {
  try {
    return parseDeviceQuery(text);
  } catch (err) {
    if (err instanceof DeviceQueryError) {
      throw exportError('ERR_EXPORT_FILTER_INVALID', `filter: ${err.message}.`, {
        cause: err,
        detail: { field: 'filter', position: err.position, token: err.token },
      });
    }
    throw err;
  }
}

/** What a message offers the filter besides its device: telemetry fields and their component. */
export interface FilterMessage {
  telemetry?: Record<string, unknown>;
  component?: string | null;
}

/** True when the message of `device` passes the filter (no filter: always). */
export function matchesFilter(
  query: DeviceQuery | undefined,
  device: DeviceSnapshot,
  message: FilterMessage,
): boolean {
  if (!query) return true;
  if (query.template !== undefined && device.template !== query.template) return false;
  if (!query.where) return true;
  const telemetry = message.telemetry;
  return (
    evaluate(query.where, {
      id: device.id,
      displayName: device.displayName,
      template: device.template,
      simulated: device.simulated,
      provisioned: device.provisioned,
      enabled: device.enabled,
      property(component, name) {
        if (telemetry) {
          if (component === undefined && Object.hasOwn(telemetry, name)) return telemetry[name];
          if (component !== undefined) {
            if (message.component === component && Object.hasOwn(telemetry, name)) return telemetry[name];
            const nested = telemetry[component];
            if (isPlainObject(nested) && Object.hasOwn(nested, name)) return nested[name];
          }
        }
        return deviceProperty(device, component, name);
      },
    }) === true
  );
}
