import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../../errors.js';
import type { ApiDeps } from '../deps.js';
import { isObject } from '../../validation.js';
import { checkCsrf, clearSessionCookie, setSessionCookie } from '../web-session.js';
import { doc } from './schema.js';
import { CREATED_SESSION, SESSION_INFO } from '../responses/session.js';

/**
 * `/api/session`: signing in to the web UI. POST is public (it is how one gets
 * credentials); the rest is about the caller's own session, which any role may do.
 */
export function sessionRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'sessions'>): void {
  const own = { permission: 'session' as const };
  app.post(
    '/api/session',
    {
      config: { public: true },
      schema: doc('Session', 'Sign in', {
        description:
          'Body `{ username, password, cookie? }`. Answers `{ token, expiresAt, user: { id, username, roles } }`; send the token as `Authorization: Bearer <token>` (or `access_token` on the event streams). With `cookie: true` (the web UI; needs the header `X-Gatehouse-Request: 1`) the token is set as an HttpOnly, SameSite=Strict session cookie instead (`__Host-gatehouse_session`, Secure, over HTTPS) and left out of the answer; changes made with the cookie need that header too. It expires 12 hours after sign-in, or sooner after 30 minutes without a request (`--session-idle-timeout`). An unknown user and a wrong password get the same 401 ERR_SIGNIN_FAILED (a disabled user with the right password 403 ERR_USER_DISABLED); 10 failures a minute or 20 an hour for one user name give 429 ERR_SIGNIN_THROTTLED, 5 a minute from one client address 429 ERR_SIGNIN_IP_THROTTLED, both with retry-after.',
        responses: { 200: CREATED_SESSION },
      }),
    },
    async (request, reply) => {
      try {
        const cookie = isObject(request.body) && request.body['cookie'] === true;
        // A sign-in that sets the cookie is a change by a browser: login CSRF is refused as any other.
        if (cookie) checkCsrf(request);
        const session = await deps.sessions.signIn(request.body, request.ip);
        if (!cookie) return session;
        setSessionCookie(request, reply, session.token, session.expiresAt);
        return { expiresAt: session.expiresAt, user: session.user };
      } catch (err) {
        const seconds = err instanceof GatehouseError ? err.detail?.['retryAfterSeconds'] : undefined;
        if (typeof seconds === 'number') reply.header('retry-after', String(seconds));
        throw err;
      }
    },
  );
  app.get(
    '/api/session',
    {
      config: own,
      schema: doc('Session', 'The signed-in user and when the session expires', {
        description:
          'Answers `{ user: { id, username, roles }, expiresAt, idleTimeoutSeconds }`: the session ends at `expiresAt`, or after `idleTimeoutSeconds` without a request. Needs a session token, not an API token.',
        responses: { 200: SESSION_INFO },
      }),
    },
    async (request) => deps.sessions.get(request.principal),
  );
  app.delete(
    '/api/session',
    {
      config: own,
      schema: doc('Session', 'Sign out: the session token stops working', {
        description:
          'Ends the session on the server at once (its event streams close within a second) and clears the session cookie.',
        responses: { 204: null },
      }),
    },
    async (request, reply) => {
      await deps.sessions.signOut(request.principal);
      if (request.viaCookie) clearSessionCookie(request, reply);
      return reply.code(204).send();
    },
  );
  app.post(
    '/api/session/password',
    {
      config: own,
      schema: doc('Session', 'Change your own password', {
        description:
          'Body `{ currentPassword, newPassword }` (at least 8 characters). 204; your other sessions end, this one goes on.',
        responses: { 204: null },
      }),
    },
    async (request, reply) => {
      await deps.sessions.changePassword(request.principal, request.body);
      return reply.code(204).send();
    },
  );
}
