import { errorFactory, type ErrorSpec } from '../errors.js';

/**
 * Hub error codes (REST callers of hub-api.ts see them in the error envelope). Devices never
 * see these: over MQTT a refusal is a CONNACK code, a closed connection or a twin `errorCode`
 * body (PROTOCOL.md §3.5, §3.8), and the reason goes to the log. An unknown device is
 * provisioning's `ERR_DEVICE_NOT_FOUND` (404), reused here.
 */
export const HUB_ERRORS = {
  ERR_DEVICE_INVALID: {
    status: 422,
    summary:
      'The device body fails validation (e.g. `enabled` is not a boolean, `displayName` is empty or over 148 characters); the message names the field.',
    fix: 'Send `displayName` (string), `template` (string), `enabled` and `simulated` (booleans) only.',
  },
  ERR_DEVICE_OFFLINE: {
    status: 404,
    summary:
      'The device is not connected, or not subscribed to direct methods, within the connection timeout (IoT Hub answers 404103 DeviceNotOnline). The attempt is kept in the command history with status `deviceOffline`.',
    fix: 'Start the device (its app must register a method handler), or send the command with a `connectionTimeout` of up to 30 s.',
  },
  ERR_COMMAND_TIMEOUT: {
    status: 504,
    summary:
      'The device received the command but did not answer within the response timeout. The attempt is kept in the command history with status `timeout`.',
    fix: 'Check that the device handles this method name and answers it, or raise `responseTimeout` (up to 30 s).',
  },
  ERR_COMMAND_INVALID: {
    status: 422,
    summary:
      'The command request fails validation: a name with `/ ? # +` or spaces, a timeout outside its range, or a request over 128 KiB.',
    fix: 'Use `connectionTimeout` 0–30 and `responseTimeout` 5–30 (whole seconds) and a one-level method name.',
  },
  ERR_C2D_QUEUE_FULL: {
    status: 403,
    summary:
      'The device already has 50 undelivered cloud-to-device messages (the IoT Hub queue depth; like its 403004 quota error).',
    fix: 'Wait until the device connects with the devicebound subscription and receives its queue, or let the messages expire.',
  },
  ERR_C2D_INVALID: {
    status: 422,
    summary:
      'The cloud-to-device message fails validation: no `body`, a body over 256 KiB, a `ttl` outside 1–172800 s, non-string or `$`-named properties, or a bad `messageId`/`correlationId`.',
    fix: 'Send `{ "body": …, "properties"?: {name: "string"}, "ttl"?: seconds }`.',
  },
  ERR_TAGS_INVALID: {
    status: 400,
    summary:
      'Twin tags must be a JSON object of names to values, nested at most 10 levels, at most 8 KB, with no name starting with `$`; the message says which rule failed.',
    fix: 'Send e.g. `{ "location": { "building": "43" } }`; in a PATCH, `null` removes a tag.',
  },
  ERR_PROPERTIES_INVALID: {
    status: 422,
    summary:
      'A property update must be a JSON object of property names to values, nested at most 10 levels (the twin limit); names may not start with `$`.',
    fix: 'Send e.g. `{ "targetTemperature": 21 }`; `$metadata` from a GET is ignored.',
  },
  ERR_PROPERTY_TYPE_MISMATCH: {
    status: 400,
    summary:
      'A property value does not fit the schema of the device template (e.g. a string for a `long`, a value outside an enum); the message names the property and what it expects. Nothing is sent to the device.',
    fix: 'Send a value of the schema the template gives the property (`GET /api/deviceTemplates/{template}` → `summary.properties`).',
  },
  ERR_PROPERTY_READ_ONLY: {
    status: 400,
    summary:
      'The device template declares this property read-only (not `writable`): only the device reports it, so it cannot be set. Nothing is sent to the device.',
    fix: 'Set only writable properties; make the property `writable: true` in a new version of the template if operators should set it.',
  },
  ERR_COMPONENT_NOT_FOUND: {
    status: 404,
    summary:
      "The device's template declares no component of this name, so its properties cannot be set. Nothing is sent to the device.",
    fix: 'Use a component name of the template (the message lists them; `summary.components` of the template too), or the root `/properties` for root properties.',
  },
  ERR_TELEMETRY_NOT_FOUND: {
    status: 404,
    summary:
      'The device has never sent this telemetry field (in this component), or it was deleted by retention.',
    fix: 'Check the field name (and component) the device sends; `$.sub` sets the component.',
  },
  ERR_TELEMETRY_QUERY_INVALID: {
    status: 422,
    summary: 'The telemetry history query is invalid: `from` after `to`, or a `limit` outside 1–10000.',
    fix: 'Ask for a smaller window or page with `to` = the oldest `enqueuedTime` received.',
  },
  ERR_SERIES_INVALID: {
    status: 400,
    summary:
      'The telemetry series query is invalid; the message names the parameter: `from` after `to`, a window over 400 days, an unknown `aggregation`, an `interval` that is not an ISO 8601 duration of whole seconds or gives more than 1,000 buckets over the window, an unknown `format`, or `avg`/`sum`/`min`/`max` of a field that is not numeric (the device template says so, or the device never sent a number in it).',
    fix: 'Use `aggregation` avg, min, max, sum, count, first or last, an `interval` such as PT1M, PT1H or P1D (or none: one is chosen for at most 1,000 buckets), and a window of at most 400 days. Series hold numeric values only.',
  },
  ERR_C2D_LOCK_TOKEN_UNKNOWN: {
    status: 404,
    summary:
      'The lock token of an HTTPS cloud-to-device message is unknown, expired (locks last 60 s) or belongs to another device.',
    fix: 'Receive the message again (GET …/messages/devicebound) and settle it with the new ETag.',
  },
  ERR_DEVICE_UNAUTHORIZED: {
    status: 401,
    summary:
      'A device request over HTTPS failed authentication: unknown or disabled device, wrong certificate, or a bad SAS token (the log has the reason).',
    fix: 'Check the device exists and is enabled, and its certificate thumbprint or SAS key (`GET /api/devices/{id}/credentials`).',
  },
} as const satisfies Record<string, ErrorSpec>;

export type HubErrorCode = keyof typeof HUB_ERRORS;
export const hubError = errorFactory(HUB_ERRORS);
