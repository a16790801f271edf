import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { doc } from './schema.js';
import { STATS } from '../responses/stats.js';

/** `GET /api/stats` (our extension): the numbers of the dashboard's KPI tiles. */
export function statsRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'stats'>): void {
  app.get(
    '/api/stats',
    {
      schema: doc('Stats', 'Application counts', {
        description:
          '`{ devicesTotal, devicesConnected, messagesPerMinute, messagesLastHour }`; messagesPerMinute counts the telemetry messages stored in the last 60 seconds.',
        responses: { 200: STATS },
      }),
    },
    async () => deps.stats.get(),
  );
}
