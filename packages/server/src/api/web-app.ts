import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Where the built web app is: `packages/web/dist/app`, found through the workspace
 * link `@gatehouse/web`. Undefined when the package is not there.
 */
export function defaultWebRoot(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return join(dirname(require.resolve('@gatehouse/web/package.json')), 'dist', 'app');
  } catch {
    return undefined;
  }
}

/**
 * Headers on every response of the web app (its files and the index.html fallback). The
 * policy allows only the app's own origin: its scripts (Vite emits no inline script), its
 * API calls and event streams, `data:` images. Inline styles are allowed because the chart
 * library (uPlot) sets style attributes. No plugins and no `<base>` (ASVS 3.4.3), no framing
 * (clickjacking), no MIME sniffing, and no Referer, which could carry an app URL to another site.
 */
export const WEB_SECURITY_HEADERS = {
  'content-security-policy': [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
} as const;

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Gatehouse</title>
<p>The Gatehouse web app is not built: run <code>npm run build</code> (or <code>npm ci</code>, which builds it), then reload. The REST API is at <a href="/api/openapi.json">/api/openapi.json</a>.</p>`;

/**
 * Serves the single-page web app on the API's port (DESIGN.md: web UI and REST API
 * on the application port). Files under `/assets/` are content-hashed by Vite, so
 * they are cached for a year; every other GET that is not an API path and not a
 * file answers `index.html`, so the app's own routes (`/devices/x`) survive a reload.
 * Returns the handler for such paths, which the API's not-found handler calls.
 */
export async function registerWebApp(
  app: FastifyInstance,
  root: string | undefined,
): Promise<(request: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined> {
  const built = root !== undefined && existsSync(join(root, 'index.html'));
  if (built) {
    // The files are the sign-in page and its code: open to everyone, like the API's public routes.
    await app.register(async (scope) => {
      scope.addHook('onRoute', (route) => {
        route.config = { ...(route.config ?? {}), public: true };
      });
      // After the API's own headers (security-headers.ts): a file of the app is a page.
      scope.addHook('onRequest', async (_request, reply) => {
        reply.headers(WEB_SECURITY_HEADERS);
      });
      await scope.register(fastifyStatic, {
        root,
        wildcard: false,
        cacheControl: false,
        index: false,
        setHeaders: (res, path) => {
          for (const [name, value] of Object.entries(WEB_SECURITY_HEADERS)) res.setHeader(name, value);
          res.setHeader(
            'cache-control',
            path.includes(`${'/'}assets${'/'}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
          );
        },
        // Each file of the build gets its route; the rest falls through to the SPA fallback below.
      });
    });
  }
  let indexHtml: Buffer | undefined;
  return (request, reply) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
    const path = request.url.split('?')[0] ?? '/';
    if (/^\/api(?:\/|$)/i.test(path) || path === '/healthz' || path === '/metrics') return undefined;
    // A missing asset is a 404, not the app (a stale tab asking for an old bundle).
    if (/^\/assets\//.test(path)) return undefined;
    reply.headers(WEB_SECURITY_HEADERS);
    if (!built) return reply.code(200).type('text/html; charset=utf-8').send(NOT_BUILT);
    indexHtml ??= readFileSync(join(root, 'index.html'));
    return reply
      .code(200)
      .header('cache-control', 'no-cache')
      .type('text/html; charset=utf-8')
      .send(indexHtml);
  };
}
