import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { doc } from './schema.js';

/** `GET /healthz` and `GET /metrics`: open, for load balancers and Prometheus. */
export function healthRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'metrics' | 'health'>): void {
  const config = { public: true };
  app.get(
    '/healthz',
    { config, schema: doc('Operations', 'Liveness and readiness') },
    async (request, reply) => {
      try {
        const extra = deps.health ? await deps.health() : {};
        return { status: 'ok', ...extra };
      } catch (err) {
        request.log.warn({ err }, 'health check failed');
        return reply.code(503).send({ status: 'unavailable' });
      }
    },
  );
  app.get(
    '/metrics',
    { config, schema: doc('Operations', 'Prometheus metrics (text exposition format 0.0.4)') },
    async (_request, reply) =>
      reply.type('text/plain; version=0.0.4; charset=utf-8').send(deps.metrics.render()),
  );
}
