import type { FastifyInstance } from 'fastify';
import { doc } from './schema.js';

/**
 * `GET /api/openapi.json`. Open without credentials: it describes the API's
 * shape (public in the source anyway), never its data.
 */
export function openApiRoutes(app: FastifyInstance): void {
  app.get(
    '/api/openapi.json',
    { config: { public: true }, schema: doc('Operations', 'This OpenAPI document') },
    async () => app.swagger(),
  );
}
