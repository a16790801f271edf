import type { FastifyInstance, FastifyReply } from 'fastify';

import type {
  FleetSeries,
  DeviceSeries,
  SeriesRequest,
  TelemetrySeries,
} from '../../hub/telemetry-series.js';
import type { SeriesQueryText } from '../../hub/telemetry-series-query.js';
import type { ApiDeps } from '../deps.js';
import { CSV_MAX_ROWS, csvCell, csvFileName, sendCsv } from './telemetry-csv.js';
import { checkComponent, queryText } from './params.js';
import { COMPONENT, DEVICE_GROUP_ID, DEVICE_ID, doc, TELEMETRY_NAME, TEMPLATE_ID } from './schema.js';
import { DEVICE_SERIES, FLEET_SERIES } from '../responses/telemetry-series.js';

type SeriesRoute<P> = { Params: P; Querystring: Record<string, unknown> };

const SERIES_QUERY = {
  from: 'Start of the window (ISO 8601 date-time, inclusive); default `to` minus 1 hour.',
  to: 'End of the window (ISO 8601 date-time, exclusive); default now. At most 400 days after `from`.',
  interval:
    'Bucket size, an ISO 8601 duration (PT10S, PT1M, PT5M, PT1H, P1D…). Buckets start at multiples of it since the Unix epoch (UTC). Default: the smallest of PT1S, PT5S, PT10S, PT30S, PT1M, PT5M, PT10M, PT30M, PT1H, PT3H, PT6H, PT12H, P1D giving at most 1,000 buckets; more than 1,000 is refused.',
  aggregation:
    'avg (default), min, max, sum, count, first or last (by time) of the numeric values in a bucket.',
  component: 'The component (`$.sub`) whose field this is; default the root component.',
  format: 'json (default) or csv.',
};

const DEVICE_ANSWER =
  'Answers `{ deviceId, name, component?, from, to, interval, aggregation, source, value: [{ time, value, count }] }`, oldest bucket first; buckets without data are left out. `source` says what served the window: `raw` messages, `minute` or `hour` rollups (they give the same numbers). Only JSON numbers count. With `format=csv`: columns `time,value,count`, at most 100,000 rows, as an attachment. Bad input is 400 ERR_SERIES_INVALID naming the parameter.';
const FLEET_ANSWER =
  'Answers `{ from, to, interval, aggregation, source, value: [{ deviceId, value: [{ time, value, count }] }], truncated }`: the first 100 devices by ID, `truncated` when there are more. With `format=csv`: columns `deviceId,time,value,count`. Bad input is 400 ERR_SERIES_INVALID naming the parameter.';

/**
 * Telemetry series (Gatehouse extension; README "Telemetry series"): a numeric field in
 * time buckets with an aggregation, computed in the database, for a device (or one of its
 * components), a device group and all devices of a template.
 */
export function telemetrySeriesRoutes(
  app: FastifyInstance,
  deps: Pick<ApiDeps, 'telemetrySeries' | 'csvMaxRows'>,
): void {
  const series = deps.telemetrySeries;
  if (!series) return;
  const maxRows = deps.csvMaxRows ?? CSV_MAX_ROWS;
  const tag = 'Telemetry';

  app.get<SeriesRoute<{ id: string; name: string }>>(
    '/api/devices/:id/telemetry/:name/series',
    {
      schema: doc(tag, 'Get a telemetry field as a series of aggregated time buckets (Gatehouse extension)', {
        params: { id: DEVICE_ID, name: TELEMETRY_NAME },
        query: SERIES_QUERY,
        description: DEVICE_ANSWER,
        responses: { 200: DEVICE_SERIES },
      }),
    },
    async (request, reply) => {
      const component = queryText(request.query, 'component');
      const req = seriesRequest(request.params.name, component, request.query);
      return deviceAnswer(reply, series, request.params.id, req, maxRows);
    },
  );
  app.get<SeriesRoute<{ id: string; component: string; name: string }>>(
    '/api/devices/:id/components/:component/telemetry/:name/series',
    {
      schema: doc(tag, 'Get a component telemetry field as a series of aggregated time buckets', {
        params: { id: DEVICE_ID, component: COMPONENT, name: TELEMETRY_NAME },
        query: { ...SERIES_QUERY, component: 'Not used here: the component is in the path.' },
        description: DEVICE_ANSWER,
        responses: { 200: DEVICE_SERIES },
      }),
    },
    async (request, reply) => {
      const req = seriesRequest(request.params.name, request.params.component, request.query);
      return deviceAnswer(reply, series, request.params.id, req, maxRows);
    },
  );
  // A device group and a template answer alike: one series per device of the fleet.
  const fleets = [
    { path: 'deviceGroups', of: 'a group', id: DEVICE_GROUP_ID, read: series.group.bind(series) },
    { path: 'deviceTemplates', of: 'a template', id: TEMPLATE_ID, read: series.template.bind(series) },
  ];
  for (const fleet of fleets) {
    app.get<SeriesRoute<{ id: string; name: string }>>(
      `/api/${fleet.path}/:id/telemetry/:name/series`,
      {
        schema: doc(
          tag,
          `Get a telemetry field of the devices of ${fleet.of} as series (first 100 devices)`,
          {
            params: { id: fleet.id, name: TELEMETRY_NAME },
            query: SERIES_QUERY,
            description: FLEET_ANSWER,
            responses: { 200: FLEET_SERIES },
          },
        ),
      },
      async (request, reply) => {
        const req = seriesRequest(request.params.name, queryText(request.query, 'component'), request.query);
        const answer = await fleet.read(request.params.id, req);
        return fleetAnswer(reply, request.params.id, req, answer, maxRows);
      },
    );
  }
}

function seriesRequest(
  name: string,
  component: string | undefined,
  query: Record<string, unknown>,
): SeriesRequest {
  const text: SeriesQueryText = {};
  for (const key of ['from', 'to', 'interval', 'aggregation', 'format'] as const) {
    const value = queryText(query, key);
    if (value !== undefined) text[key] = value;
  }
  return { name, ...(component !== undefined ? { component: checkComponent(component) } : {}), query: text };
}

async function deviceAnswer(
  reply: FastifyReply,
  series: TelemetrySeries,
  deviceId: string,
  request: SeriesRequest,
  maxRows: number,
): Promise<DeviceSeries | FastifyReply> {
  const answer = await series.device(deviceId, request);
  if (request.query.format !== 'csv') return answer;
  const name = csvFileName([deviceId, answer.name], answer.from, answer.to);
  const rows = answer.value.map((b) => `${b.time},${b.value},${b.count}`);
  return sendCsv(reply, name, 'time,value,count', rows, maxRows);
}

function fleetAnswer(
  reply: FastifyReply,
  id: string,
  request: SeriesRequest,
  answer: FleetSeries,
  maxRows: number,
): FleetSeries | FastifyReply {
  if (request.query.format !== 'csv') return answer;
  const name = csvFileName([id, request.name], answer.from, answer.to);
  function* rows(): Generator<string> {
    for (const device of answer.value) {
      for (const b of device.value) yield `${csvCell(device.deviceId)},${b.time},${b.value},${b.count}`;
    }
  }
  return sendCsv(reply, name, 'deviceId,time,value,count', rows(), maxRows);
}
