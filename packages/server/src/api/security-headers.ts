import type { FastifyInstance } from 'fastify';
import { isHttps } from './web-session.js';

/** One year (ASVS 3.4.1: HSTS of at least a year). */
const HSTS = 'max-age=31536000';

/**
 * Headers on every answer of the REST/web listener (OWASP ASVS 5.0 3.4.1, 3.4.4, 3.4.6): no
 * MIME sniffing, no framing, no Referer, and for the API's own answers (JSON, event streams) a
 * policy that allows nothing, since none of them is a page; the web app's files replace it
 * with theirs (web-app.ts). HSTS only when the client came over HTTPS: on a plain-HTTP
 * listener the header means nothing to a browser, and on localhost it would pin every other
 * local port to HTTPS. No `Access-Control-Allow-*` header is ever sent (ASVS 3.4.2): the API
 * serves only its own origin, so browsers keep other sites from reading its answers.
 */
export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.headers({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    });
    if (isHttps(request)) reply.header('strict-transport-security', HSTS);
  });
}
