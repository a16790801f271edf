/**
 * Response schemas of the telemetry operations (hub/hub-api.ts `TelemetryValue` and
 * `TelemetryMessageRecord`).
 */
import { anyJson, dateTime, int, map, nullable, obj, page, str, strEnum } from './common.js';

/** `GET …/telemetry/{name}`: the last known value. */
export const TELEMETRY_VALUE = obj({ value: anyJson, timestamp: dateTime });

/** One stored device-to-cloud message. */
export const TELEMETRY_MESSAGE = obj({
  id: int,
  deviceId: str,
  enqueuedTime: dateTime,
  component: nullable(str),
  body: anyJson,
  bodyEncoding: strEnum('json', 'text', 'base64'),
  systemProperties: map(str),
  properties: map(str),
});

/** `GET …/telemetry`: JSON by default, or (`format=csv`) a CSV attachment. */
export const TELEMETRY_HISTORY = {
  ...page(TELEMETRY_MESSAGE),
  description:
    'application/json: the messages, oldest first. With format=csv: text/csv; charset=utf-8 (columns enqueuedTime,component,body), as an attachment.',
};
