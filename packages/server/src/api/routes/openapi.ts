import type { FastifyInstance } from 'fastify';
import { doc } from './schema.js';
import { OPENAPI_DOCUMENT } from '../responses/openapi.js';

/**
 * `GET /api/openapi.json`. Open without credentials: it describes the API's
 * shape (public in the source anyway), never its data.
 */
export function openApiRoutes(app: FastifyInstance): void {
  app.get(
    '/api/openapi.json',
    {
      config: { public: true },
      schema: doc('Operations', 'This OpenAPI document', { responses: { 200: OPENAPI_DOCUMENT } }),
    },
    async () => app.swagger(),
  );
}
