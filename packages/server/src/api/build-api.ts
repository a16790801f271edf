import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { ApiAuthenticator } from '../app/authenticator.js';
import { isAccessTokenName, registerAuth } from './auth.js';
import type { ApiDeps } from './deps.js';
import { errorHandler, sendError } from './errors.js';
import { RouteTable } from './route-table.js';
import { forOpenApi, registerResponseCheck } from './response-check.js';
import { registerAuditHook } from '../audit/audit-hook.js';
import { apiTokenRoutes } from './routes/api-tokens.js';
import { auditLogRoutes } from './routes/audit-logs.js';
import { applicationRoutes } from './routes/application.js';
import { certificateRoutes } from './routes/certificates.js';
import { commandRoutes } from './routes/commands.js';
import { dashboardRoutes } from './routes/dashboards.js';
import { deviceRoutes } from './routes/devices.js';
import { deviceTemplateRoutes } from './routes/device-templates.js';
import { deviceGroupRoutes } from './routes/device-groups.js';
import { dataExportRoutes } from './routes/data-export.js';
import { ruleRoutes } from './routes/rules.js';
import { jobRoutes } from './routes/jobs.js';
import { scheduledJobRoutes } from './routes/scheduled-jobs.js';
import { enrollmentGroupRoutes } from './routes/enrollment-groups.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { importRoutes } from './routes/imports.js';
import { messageRoutes } from './routes/messages.js';
import { tagRoutes } from './routes/tags.js';
import { openApiRoutes } from './routes/openapi.js';
import { propertyRoutes } from './routes/properties.js';
import { provisioningAttemptRoutes } from './routes/provisioning-attempts.js';
import { roleRoutes } from './routes/roles.js';
import { sessionRoutes } from './routes/session.js';
import { statsRoutes } from './routes/stats.js';
import { telemetryRoutes } from './routes/telemetry.js';
import { telemetrySeriesRoutes } from './routes/telemetry-series.js';
import { userRoutes } from './routes/users.js';
import { registerWebApp } from './web-app.js';
import { registerSecurityHeaders } from './security-headers.js';
import { commonError } from '../validation.js';

/** 1 MiB: a certificate upload is a few kB; nothing the API takes comes close. */
export const API_BODY_LIMIT = 1024 * 1024;

/** Time a client has to send a request's headers. */
export const API_HEADERS_TIMEOUT_MS = 20_000;
/** Time a client has to send a whole request, body included (response time not counted). */
export const API_REQUEST_TIMEOUT_MS = 120_000;

const JSON_TYPES = ['application/json', 'application/merge-patch+json'];

/**
 * The REST API (CENTRAL_API.md §1): one fastify instance, routes per resource,
 * authentication on every route that is not marked public, one error envelope,
 * an OpenAPI document at `/api/openapi.json`. The `api-version` query parameter
 * IoT Central clients send is accepted and ignored. Not listening: the caller
 * decides (`listen` in the server, `inject` in tests).
 */
export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // The event streams take `?access_token=`: request URLs are logged with its value redacted.
    loggerInstance: deps.logger.child({}, { serializers: { req: requestForLog } }),
    genReqId: () => randomUUID(),
    // --http-trust-proxy: X-Forwarded-For/-Proto/-Host believed from these addresses only.
    ...(deps.trustProxy?.length ? { trustProxy: deps.trustProxy } : {}),
    bodyLimit: deps.httpLimits?.apiBodyLimitBytes ?? API_BODY_LIMIT,
    // Slow clients (docs/security.md#limits): headers within 20 s, the whole request (a 32 MiB
    // import body included) within 120 s; fastify's own default is no request timeout at all.
    // Node checks these deadlines every connectionsCheckingInterval (default 30 s): every second,
    // and requires headersTimeout ≤ requestTimeout.
    http: {
      headersTimeout: Math.min(
        deps.httpLimits?.headersTimeoutMs ?? API_HEADERS_TIMEOUT_MS,
        deps.httpLimits?.apiRequestTimeoutMs ?? API_REQUEST_TIMEOUT_MS,
      ),
      connectionsCheckingInterval: 1_000,
    },
    requestTimeout: deps.httpLimits?.apiRequestTimeoutMs ?? API_REQUEST_TIMEOUT_MS,
    // Long enough that an over-long ID reaches the service and gets ERR_INVALID_ID, not a bare 414.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1024 },
  }) as unknown as FastifyInstance;

  // Only JSON bodies (CENTRAL_API.md §1.1); merge-patch is plain JSON to the parser. An empty
  // body is "no body" (clients send `content-type: application/json` on bodiless POSTs).
  app.removeAllContentTypeParsers();
  const json = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    json(request, text, done);
  });

  app.setErrorHandler(errorHandler);
  registerSecurityHeaders(app);

  const requests = deps.metrics.counter(
    'gatehouse_http_requests_total',
    'REST API requests by method, route and status.',
  );
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-ms-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    requests.inc({
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    });
  });

  const routes = new RouteTable();
  app.addHook('onRoute', (route) => routes.add(route.url, route.method));
  const webApp = await registerWebApp(app, deps.webRoot);
  app.setNotFoundHandler((request, reply) => {
    const page = webApp(request, reply);
    if (page !== undefined) return page;
    const allowed = routes.allowed(request.url.split('?')[0] ?? '');
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendError(
        request,
        reply,
        commonError(
          'ERR_METHOD_NOT_ALLOWED',
          `${request.method} is not supported here; use ${allowed.join(', ')}.`,
        ),
      );
    }
    return sendError(
      request,
      reply,
      commonError('ERR_NOT_FOUND', `There is no ${request.method} ${request.url.split('?')[0] ?? ''}.`),
    );
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Gatehouse REST API',
        version: '2022-07-31',
        description:
          'The IoT Central data-plane REST API shape (api-version accepted and ignored), plus Gatehouse additions: application info, provisioning diagnostics, health and metrics.',
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description:
              'An API token secret or a sign-in session token (POST /api/session): `Authorization: Bearer <secret>`.',
          },
          apiToken: {
            type: 'apiKey',
            in: 'header',
            name: 'Authorization',
            description: 'The API token text: `SharedAccessSignature sr=…&sig=…&skn=<id>&se=<ms>`.',
          },
          sessionCookie: {
            type: 'apiKey',
            in: 'cookie',
            name: 'gatehouse_session',
            description:
              "The web UI's session (`POST /api/session` with `cookie: true`; `__Host-gatehouse_session` over HTTPS). Changes made with it need the header `X-Gatehouse-Request: 1` and a same-origin request (403 ERR_CSRF_REFUSED).",
          },
        },
      },
      security: [{ bearer: [] }, { apiToken: [] }, { sessionCookie: [] }],
    },
    // Response schemas stay out of fastify's serializer (api/routes/schema.ts `doc`).
    transform: ({ schema, url }) => ({
      schema: schema ? (forOpenApi(schema as Record<string, unknown>) as typeof schema) : schema,
      url,
    }),
  });
  if (process.env['GATEHOUSE_CHECK_RESPONSES'] === '1') registerResponseCheck(app);

  registerAuth(app, new ApiAuthenticator(deps.tokens, deps.sessions), deps.users.sessionEnds);
  if (deps.audit) registerAuditHook(app, deps.audit);

  applicationRoutes(app, deps);
  roleRoutes(app);
  apiTokenRoutes(app, deps);
  enrollmentGroupRoutes(app, deps);
  deviceRoutes(app, deps);
  deviceTemplateRoutes(app, deps);
  telemetryRoutes(app, deps);
  telemetrySeriesRoutes(app, deps);
  propertyRoutes(app, deps);
  commandRoutes(app, deps);
  messageRoutes(app, deps);
  tagRoutes(app, deps);
  eventRoutes(app, deps);
  provisioningAttemptRoutes(app, deps);
  healthRoutes(app, deps);
  sessionRoutes(app, deps);
  userRoutes(app, deps);
  dashboardRoutes(app, deps);
  certificateRoutes(app, deps);
  importRoutes(app, deps);
  statsRoutes(app, deps);
  deviceGroupRoutes(app, deps);
  jobRoutes(app, deps);
  scheduledJobRoutes(app, deps);
  auditLogRoutes(app, deps);
  dataExportRoutes(app, deps);
  ruleRoutes(app, deps);
  openApiRoutes(app);
  return app;
}

/**
 * One `name=value` pair of a query string. `?` and `;` count as separators too, although the
 * query parser splits only on `&`: a secret after a stray `?` is redacted rather than logged.
 */
const QUERY_PAIR = /([?&;])([^?&;=]*)=([^?&;]*)/g;

/**
 * A URL as logged: the value of every `access_token` parameter replaced, however its name is
 * spelled ({@link isAccessTokenName}: `access%5Ftoken` authenticates too), so a secret never
 * reaches the log.
 */
export function redactUrl(url: string): string {
  const query = url.indexOf('?');
  if (query === -1) return url;
  return (
    url.slice(0, query) +
    url
      .slice(query)
      .replace(QUERY_PAIR, (pair, separator: string, name: string) =>
        isAccessTokenName(name) ? `${separator}${name}=[redacted]` : pair,
      )
  );
}

/** fastify's own `req` log serializer, with {@link redactUrl}. */
function requestForLog(request: {
  method: string;
  url: string;
  host?: string;
  ip?: string;
  headers?: Record<string, unknown>;
  socket?: { remotePort?: number };
}): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrl(request.url),
    version: request.headers?.['accept-version'],
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}
