import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { doc } from './schema.js';
import { APPLICATION } from '../responses/application.js';

/** `GET /api/application`: what a device or client needs to connect to this Gatehouse. */
export function applicationRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'application'>): void {
  const a = deps.application;
  app.get(
    '/api/application',
    {
      schema: doc('Application', 'ID scope, host name, endpoints and the server CA of this application', {
        responses: { 200: APPLICATION },
      }),
    },
    async (request) => {
      const api =
        a.httpPort > 0
          ? `http://${a.hostName}:${a.httpPort}/api`
          : `${request.protocol}://${request.host}/api`;
      return {
        idScope: a.idScope,
        hostName: a.hostName,
        endpoints: {
          mqtt: `mqtts://${a.hostName}:${a.mqttPort}`,
          ...(a.httpsPort !== undefined ? { https: `https://${a.hostName}:${a.httpsPort}` } : {}),
          api,
        },
        serverCaPath: a.serverCaPath,
      };
    },
  );
}
