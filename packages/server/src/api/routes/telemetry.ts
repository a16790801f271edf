import type { FastifyInstance } from 'fastify';
import type { TelemetryHistoryQuery } from '../../hub/hub-api.js';
import { hubError } from '../../hub/errors.js';
import type { ApiDeps } from '../deps.js';
import { checkComponent, queryText } from './params.js';
import { CSV_MAX_ROWS, csvCell, csvFileName, sendCsv } from './telemetry-csv.js';
import { COMPONENT, DEVICE_ID, doc, TELEMETRY_NAME } from './schema.js';
import { TELEMETRY_HISTORY, TELEMETRY_VALUE } from '../responses/telemetry.js';

type LatestParams = { Params: { id: string; name: string } };
type ComponentLatestParams = { Params: { id: string; component: string; name: string } };
type HistoryRequest = { Params: { id: string }; Querystring: Record<string, unknown> };

/** ISO 8601 date or date-time, e.g. `2024-05-01` or `2024-05-01T10:00:00Z` (offsets allowed). */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Telemetry (CENTRAL_API.md §1.2 Telemetry): the last known value of a field, per device or
 * per component, and (our extension, for the Raw data view) the stored message history.
 */
export function telemetryRoutes(
  app: FastifyInstance,
  deps: Pick<ApiDeps, 'hub' | 'telemetryExport' | 'csvMaxRows'>,
): void {
  const { hub, telemetryExport } = deps;
  const maxRows = deps.csvMaxRows ?? CSV_MAX_ROWS;
  const tag = 'Telemetry';

  app.get<LatestParams>(
    '/api/devices/:id/telemetry/:name',
    {
      schema: doc(tag, 'Get the last known value of a telemetry field: { value, timestamp }', {
        params: { id: DEVICE_ID, name: TELEMETRY_NAME },
        responses: { 200: TELEMETRY_VALUE },
      }),
    },
    async (request) => hub.latestTelemetry(request.params.id, request.params.name),
  );
  app.get<ComponentLatestParams>(
    '/api/devices/:id/components/:component/telemetry/:name',
    {
      schema: doc(tag, 'Get the last known value of a telemetry field of a component', {
        params: { id: DEVICE_ID, component: COMPONENT, name: TELEMETRY_NAME },
        responses: { 200: TELEMETRY_VALUE },
      }),
    },
    async (request) =>
      hub.latestTelemetry(request.params.id, request.params.name, checkComponent(request.params.component)),
  );
  app.get<HistoryRequest>(
    '/api/devices/:id/telemetry',
    {
      schema: doc(tag, 'List stored device-to-cloud messages, oldest first (Gatehouse extension)', {
        params: { id: DEVICE_ID },
        query: {
          from: 'Only messages enqueued at or after this ISO 8601 date-time.',
          to: 'Only messages enqueued before this ISO 8601 date-time.',
          name: 'Only JSON messages with this top-level field.',
          component: 'Only messages of this component (`$.sub`).',
          limit: 'The most recent this many matching messages (1–10000, default 1000).',
          format:
            'json (default) or csv: every message in [from, to) (default: all until now), oldest first, at most 100,000 rows; `name`, `component` and `limit` do not apply.',
        },
        description:
          'Answers `{ value: TelemetryMessageRecord[] }`: `enqueuedTime`, `component`, `body` (parsed JSON, text or base64 per `bodyEncoding`), `systemProperties`, `properties`. Page backwards with `to` = the oldest `enqueuedTime` received. With `format=csv`: columns `enqueuedTime,component,body` (the body as one quoted cell), streamed as an attachment, then `# truncated at 100000 rows` when there were more.',
        responses: { 200: TELEMETRY_HISTORY },
      }),
    },
    async (request, reply) => {
      const format = queryText(request.query, 'format') ?? 'json';
      if (format === 'json') {
        return { value: await hub.telemetryHistory(request.params.id, historyQuery(request.query)) };
      }
      if (format !== 'csv' || !telemetryExport) {
        throw hubError('ERR_TELEMETRY_QUERY_INVALID', `'format' must be json or csv, not '${format}'.`);
      }
      const from = (dateParam(request.query, 'from') ?? new Date(0)).toISOString();
      const to = (dateParam(request.query, 'to') ?? new Date()).toISOString();
      if (from > to) throw hubError('ERR_TELEMETRY_QUERY_INVALID', "'from' must not be after 'to'.");
      await telemetryExport.checkDevice(request.params.id);
      const messages = telemetryExport.messages(request.params.id, from, to, maxRows + 1);
      async function* rows(): AsyncGenerator<string> {
        for await (const m of messages) {
          yield `${m.enqueuedTime},${csvCell(m.component ?? '')},${csvCell(m.body, true)}`;
        }
      }
      return sendCsv(
        reply,
        csvFileName([request.params.id, 'telemetry'], from, to),
        'enqueuedTime,component,body',
        rows(),
        maxRows,
      );
    },
  );
}

function historyQuery(query: Record<string, unknown>): TelemetryHistoryQuery {
  const result: TelemetryHistoryQuery = {};
  const from = dateParam(query, 'from');
  const to = dateParam(query, 'to');
  const name = queryText(query, 'name');
  const component = queryText(query, 'component');
  const limit = queryText(query, 'limit');
  if (from) result.from = from;
  if (to) result.to = to;
  if (name !== undefined) result.name = name;
  if (component !== undefined) result.component = component;
  if (limit !== undefined) {
    // The service checks the range; here only "is it a whole number at all".
    if (!/^[0-9]{1,16}$/.test(limit)) {
      throw hubError('ERR_TELEMETRY_QUERY_INVALID', "'limit' must be a whole number from 1 to 10000.");
    }
    result.limit = Number(limit);
  }
  return result;
}

function dateParam(query: Record<string, unknown>, name: string): Date | undefined {
  const text = queryText(query, name);
  if (text === undefined) return undefined;
  const date = ISO_DATE.test(text) ? new Date(text) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    throw hubError(
      'ERR_TELEMETRY_QUERY_INVALID',
      `'${name}' must be an ISO 8601 date-time such as 2024-05-01T10:00:00Z.`,
    );
  }
  return date;
}
