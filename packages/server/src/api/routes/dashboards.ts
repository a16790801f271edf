import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { DASHBOARD_ID, doc } from './schema.js';
import { DASHBOARD, DASHBOARD_PAGE } from '../responses/dashboards.js';

/** `/api/dashboards`: the web UI's dashboards (the IoT Central preview shape, simplified). */
export function dashboardRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'dashboards'>): void {
  const params = { params: { dashboardId: DASHBOARD_ID } };
  app.get(
    '/api/dashboards',
    { schema: doc('Dashboards', 'List the dashboards', { responses: { 200: DASHBOARD_PAGE } }) },
    async () => ({ value: await deps.dashboards.list() }),
  );
  app.get<{ Params: { dashboardId: string } }>(
    '/api/dashboards/:dashboardId',
    {
      schema: doc('Dashboards', 'Get a dashboard (`default` always exists)', {
        ...params,
        responses: { 200: DASHBOARD },
      }),
    },
    async (request) => deps.dashboards.get(request.params.dashboardId),
  );
  app.put<{ Params: { dashboardId: string } }>(
    '/api/dashboards/:dashboardId',
    {
      schema: doc('Dashboards', 'Create or replace a dashboard', {
        ...params,
        description:
          'Body `{ displayName, tiles: [{ id, title, type: lineChart|kpi|lastKnownValue, x, y, width, height, configuration: { devices?, template?, telemetry?, kpi?: devicesConnected|messagesPerMinute|devicesTotal|telemetry, window?: PT5M|PT30M|PT1H|PT24H|PT12H|P7D|P30D, aggregation?: avg|min|max|sum|count|first|last } }], etag? }`. The grid has 12 columns; tiles may not overlap; at most 100 tiles. A stale `etag` (or If-Match) is 412.',
        responses: { 200: DASHBOARD },
      }),
    },
    async (request) => {
      const ifMatch = request.headers['if-match'];
      return deps.dashboards.put(
        request.params.dashboardId,
        request.body,
        typeof ifMatch === 'string' ? ifMatch : undefined,
      );
    },
  );
}
