import { errorFactory, type ErrorSpec } from '../errors.js';

/** Error codes of data export (`/api/dataExport/…`, EXPORT_RULES.md §1). */
export const EXPORT_ERRORS = {
  ERR_DESTINATION_NOT_FOUND: {
    status: 404,
    summary:
      'No data export destination has this ID: 404 on `/api/dataExport/destinations/{id}`, 400 when an export names it in `destinations[].id`.',
    fix: 'List the destinations (`GET /api/dataExport/destinations`) and use one of their `id`s, or create it first.',
  },
  ERR_EXPORT_NOT_FOUND: {
    status: 404,
    summary: 'No data export has this ID (`/api/dataExport/exports/{id}`).',
    fix: 'List the exports (`GET /api/dataExport/exports`) and use one of their `id`s.',
  },
  ERR_DESTINATION_INVALID: {
    status: 400,
    summary:
      'The destination body fails validation; the message names the field (`displayName`, `url`, `headerCustomizations.<name>.value`, `authorization.tokenUrl`, `signature.secret`, `batching.maxMessages` …).',
    fix: 'Send `{ "displayName": "…", "type": "webhook@v1", "url": "https://…" }` with the optional fields as docs/data-export.md describes.',
  },
  ERR_DESTINATION_TYPE_UNSUPPORTED: {
    status: 400,
    summary:
      'The destination `type` is not one Gatehouse exports to (Azure Blob Storage, Event Hubs, Service Bus and Data Explorer are not supported); the message lists the supported types.',
    fix: 'Use `webhook@v1`, `mqtt@v1` or `amqp@v1`.',
  },
  ERR_DESTINATION_IN_USE: {
    status: 409,
    summary: 'The destination cannot be deleted while exports send to it.',
    fix: 'Remove it from those exports (`GET /api/dataExport/destinations/{id}/exports` lists them) first.',
  },
  ERR_EXPORT_INVALID: {
    status: 400,
    summary:
      'The export body fails validation; the message names the field (`displayName`, `enabled`, `source`, `destinations[0].id`, `enrichments.<key>`, `filter` …).',
    fix: 'Send `{ "displayName": "…", "enabled": true, "source": "telemetry", "destinations": [{ "id": "<destination>" }] }`.',
  },
  ERR_EXPORT_FILTER_INVALID: {
    status: 400,
    summary:
      "The export's `filter` does not parse; the message gives the 1-based position and the token found there, and what was expected.",
    fix: 'Write `SELECT * FROM devices WHERE <conditions>` (or `FROM <template id>`) with $id, $displayName, $template, $simulated, $provisioned, $enabled, telemetry or property names, comparisons, CONTAINS(field, "text"), AND, OR, NOT.',
  },
  ERR_TRANSFORM_INVALID: {
    status: 400,
    summary:
      'The `transform` of an export destination does not compile, or transforms are not available on this server.',
    fix: 'Correct the jq program the message points at; `.` passes the message through unchanged.',
  },
  ERR_DESTINATION_TEST_FAILED: {
    status: 502,
    summary:
      'The test message (`POST /api/dataExport/destinations/{id}/test`) was not accepted; the message says why in words (refused, DNS, TLS, `HTTP 401: <first line>`).',
    fix: 'Check the URL, the credentials and that the receiver is up, then send the test again.',
  },
  ERR_EXPORT_API_VERSION: {
    status: 400,
    summary:
      "`/api/dataExport/…` is served under IoT Central's preview versions only: `api-version` must be `2022-10-31-preview` or `2022-06-30-preview` (or absent).",
    fix: 'Send `?api-version=2022-10-31-preview`.',
  },
  ERR_EXPORT_LIMIT: {
    status: 409,
    summary:
      'The application already has 10 exports or 10 destinations, or an export names more than 10 destinations (the IoT Central limits).',
    fix: 'Delete exports or destinations that are no longer used.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ExportErrorCode = keyof typeof EXPORT_ERRORS;
export const exportError = errorFactory(EXPORT_ERRORS);
