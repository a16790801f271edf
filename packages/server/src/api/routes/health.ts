import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { doc } from './schema.js';
import { HEALTH_OK, HEALTH_UNAVAILABLE, METRICS_TEXT, NOT_READY, READY } from '../responses/health.js';

/**
 * `GET /healthz` (liveness), `GET /readyz` (readiness, lifecycle/readiness.ts) and `GET /metrics`:
 * open, for load balancers and Prometheus.
 */
export function healthRoutes(
  app: FastifyInstance,
  deps: Pick<ApiDeps, 'metrics' | 'health' | 'readiness'>,
): void {
  const config = { public: true };
  app.get(
    '/healthz',
    {
      config,
      schema: doc('Operations', 'Liveness and readiness', {
        responses: { 200: HEALTH_OK, 503: HEALTH_UNAVAILABLE },
      }),
    },
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
    '/readyz',
    {
      config,
      schema: doc('Operations', 'Readiness: may this node take device connections?', {
        description:
          "200 `{status:'ready'}` when every registered check passes; 503 `{status:'unready', failing:[…]}` naming the failing checks, or 503 `{status:'draining'}` while the node shuts down. Poll it from the load balancer (HAProxy `option httpchk GET /readyz`).",
        responses: { 200: READY, 503: NOT_READY },
      }),
    },
    async (request, reply) => {
      if (!deps.readiness) return { status: 'ready', checks: {} };
      const report = await deps.readiness.evaluate();
      if (report.status === 'ready') return { status: 'ready', checks: report.checks };
      if (report.status === 'unready')
        request.log.warn({ failing: report.failing, checks: report.checks }, 'not ready');
      return reply.code(503).send(report.status === 'draining' ? { status: 'draining' } : report);
    },
  );
  app.get(
    '/metrics',
    {
      config,
      schema: doc('Operations', 'Prometheus metrics (text exposition format 0.0.4)', {
        responses: { 200: METRICS_TEXT },
      }),
    },
    async (_request, reply) =>
      reply.type('text/plain; version=0.0.4; charset=utf-8').send(deps.metrics.render()),
  );
}
