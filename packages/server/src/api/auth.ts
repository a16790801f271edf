import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator } from '../app/authenticator.js';
import { describePrincipal, type ApiPrincipal } from '../app/principal.js';
import { rolesAllow, type Permission } from '../app/roles.js';
import { commonError } from '../validation.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; null on public routes. */
    principal: ApiPrincipal | null;
    /**
     * Authenticates and authorizes the request's credentials again, as at its start; throws
     * the same errors. Null on public routes. For responses that outlive the check at the
     * start (the event streams): a signed-out session or a revoked token must stop them.
     */
    reauthenticate: (() => Promise<ApiPrincipal>) | null;
  }
  interface FastifyContextConfig {
    /** Open without credentials (`/healthz`, `/metrics`, the OpenAPI document). */
    public?: boolean;
    /** What the route needs; by default `read` for GET/HEAD and `write` for the rest. */
    permission?: Permission;
    /**
     * Also accept the credentials as the `access_token` query parameter when there is no
     * Authorization header. Only for the server-sent event streams: a browser's EventSource
     * cannot set headers. Never for anything else (URLs end up in logs and histories).
     */
    queryToken?: boolean;
  }
}

/**
 * Authentication and authorization of the REST API (DESIGN.md: the API requires
 * authentication). Every route needs credentials unless its config says
 * `public: true`, so a new route is closed by default. Decided on the matched
 * route, never on the raw URL text, which has more than one spelling.
 */
export function registerAuth(app: FastifyInstance, tokens: Authenticator): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('reauthenticate', null);
  app.addHook('onRequest', async (request) => {
    const matched = request.routeOptions.url !== undefined;
    if (matched && request.routeOptions.config.public === true) return;
    // An unknown URL under /api still asks for credentials, so the 404/405 answers do not map the API for strangers.
    if (!matched && !isApiPath(request)) return;
    const credentials = credentialsOf(request, matched);
    const permission = matched
      ? (request.routeOptions.config.permission ?? (isRead(request.method) ? 'read' : 'write'))
      : undefined;
    const check = async (): Promise<ApiPrincipal> => {
      const principal = await tokens.authenticate(credentials);
      if (permission !== undefined && !rolesAllow(principal.roles, permission)) {
        throw commonError('ERR_FORBIDDEN', forbidden(describePrincipal(principal), permission));
      }
      return principal;
    };
    request.reauthenticate = check;
    request.principal = await check();
  });
}

function forbidden(who: string, permission: Permission): string {
  switch (permission) {
    case 'manageApiTokens':
      return `${who} may not manage API tokens: that needs the Administrator role.`;
    case 'manageUsers':
      return `${who} may not manage users: that needs the Administrator role.`;
    case 'session':
      return `${who} has no role: ask an administrator to give it one.`;
    default:
      return `${who} may not ${permission === 'read' ? 'read' : 'change'} this resource: its roles allow ${permission === 'read' ? 'nothing here' : 'reading only'}.`;
  }
}

/** The Authorization header, or on `queryToken` routes the `access_token` query parameter as one. */
function credentialsOf(request: FastifyRequest, matched: boolean): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined || !matched || request.routeOptions.config.queryToken !== true) return header;
  const token = (request.query as Record<string, unknown> | undefined)?.[ACCESS_TOKEN];
  if (typeof token !== 'string' || token === '') return undefined;
  // The whole API token text (`SharedAccessSignature sr=…`) or a bare Bearer secret.
  return /^sharedaccesssignature\s/i.test(token) ? token : `Bearer ${token}`;
}

/** The query parameter of {@link credentialsOf}. */
export const ACCESS_TOKEN = 'access_token';

/**
 * Whether a query parameter name, as spelled in the raw URL, is {@link ACCESS_TOKEN}. fastify's
 * query parser decodes names (`access%5Ftoken` is `access_token`, `+` is a space; a malformed
 * escape leaves the name as it is), and {@link credentialsOf} reads the parsed query, so the log
 * redaction (build-api.ts) must decode the same way or a token spelled with escapes would
 * authenticate and be logged in clear. Any letter case matches too: redacting a parameter
 * that does not authenticate costs nothing.
 */
export function isAccessTokenName(raw: string): boolean {
  const spaced = raw.replace(/\+/g, ' ');
  let decoded = spaced;
  try {
    decoded = decodeURIComponent(spaced);
  } catch {
    // Malformed escape: the parser keeps the name undecoded, and so does this.
  }
  return decoded.toLowerCase() === ACCESS_TOKEN || raw.toLowerCase() === ACCESS_TOKEN;
}

function isRead(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

function isApiPath(request: FastifyRequest): boolean {
  const path = request.url.split('?')[0] ?? '';
  return /^\/api(?:\/|$)/i.test(path);
}
