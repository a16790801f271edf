import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../app/authenticator.js';
import type { SessionEnds } from '../app/session-ends.js';
import { describePrincipal, type ApiPrincipal } from '../app/principal.js';
import { rolesAllow, type Permission } from '../app/roles.js';
import { commonError } from '../validation.js';
import { checkCsrf, clearSessionCookie, sessionCookieOf } from './web-session.js';

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
    /** The credentials came from the session cookie (web-session.ts), not a header or the query. */
    viaCookie: boolean;
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
export function registerAuth(app: FastifyInstance, tokens: Authenticator, sessionEnds?: SessionEnds): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('reauthenticate', null);
  app.decorateRequest('viaCookie', false);
  const streams = new OpenResponses();
  if (sessionEnds) {
    const off = sessionEnds.on((userId) => streams.recheck(userId));
    app.addHook('onClose', async () => off());
  }
  // A cookie that no longer authenticates is dropped, so the browser stops sending it.
  app.addHook('onSend', async (request, reply) => {
    if (reply.statusCode === 401 && request.viaCookie) clearSessionCookie(request, reply);
  });
  app.addHook('onRequest', async (request, reply) => {
    const matched = request.routeOptions.url !== undefined;
    if (matched && request.routeOptions.config.public === true) return;
    // An unknown URL under /api still asks for credentials, so the 404/405 answers do not map the API for strangers.
    if (!matched && !isApiPath(request)) return;
    let credentials = credentialsOf(request, matched);
    if (credentials === undefined) {
      const cookie = sessionCookieOf(request);
      if (cookie !== undefined) {
        credentials = `Bearer ${cookie}`;
        request.viaCookie = true;
        // ASVS 3.5.1–3.5.3: a browser attaches the cookie to whatever a page asks for, so a
        // change needs proof that this app's own page asked. Reads change nothing.
        if (!isRead(request.method)) checkCsrf(request);
      }
    }
    const viaCookie = request.viaCookie;
    const permission = matched
      ? (request.routeOptions.config.permission ?? (isRead(request.method) ? 'read' : 'write'))
      : undefined;
    const check = async (): Promise<ApiPrincipal> => {
      const principal = await tokens.authenticate(credentials);
      // The cookie is a sign-in session's; an API token secret in it is not accepted.
      if (viaCookie && principal.kind !== 'user')
        throw commonError(
          'ERR_UNAUTHENTICATED',
          'The session cookie holds no sign-in session: sign in again.',
        );
      if (permission !== undefined && !rolesAllow(principal.roles, permission)) {
        throw commonError('ERR_FORBIDDEN', forbidden(describePrincipal(principal), permission));
      }
      return principal;
    };
    request.reauthenticate = check;
    request.principal = await check();
    if (request.principal.kind === 'user') streams.add(request.principal.userId, request, reply);
  });
}

/**
 * The responses of signed-in users still being sent (event streams, downloads), by user: when
 * a user's sessions may have ended (session-ends.ts) each is checked again at once, and one
 * whose credentials no longer pass is cut (ASVS 7.4.2: within a second, not at the stream's
 * next heartbeat). Requests still in their handler are left alone: they answer by themselves,
 * and the sign-out request itself must get its answer.
 */
class OpenResponses {
  private readonly byUser = new Map<string, Set<{ request: FastifyRequest; reply: FastifyReply }>>();

  add(userId: string, request: FastifyRequest, reply: FastifyReply): void {
    let set = this.byUser.get(userId);
    if (!set) this.byUser.set(userId, (set = new Set()));
    const entry = { request, reply };
    set.add(entry);
    reply.raw.once('close', () => {
      set.delete(entry);
      if (set.size === 0 && this.byUser.get(userId) === set) this.byUser.delete(userId);
    });
  }

  recheck(userId: string): void {
    for (const { request, reply } of this.byUser.get(userId) ?? []) {
      if (!reply.raw.headersSent || reply.raw.writableEnded) continue;
      void (request.reauthenticate?.() ?? Promise.resolve()).catch((err: unknown) => {
        request.log.info(
          { code: (err as { code?: unknown }).code },
          'credentials no longer valid (session ended); response closed',
        );
        reply.raw.destroy();
      });
    }
  }
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
