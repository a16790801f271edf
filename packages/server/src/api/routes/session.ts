import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../../errors.js';
import type { ApiDeps } from '../deps.js';
import { doc } from './schema.js';

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
          'Body `{ username, password }`. Answers `{ token, expiresAt, user: { id, username, roles } }`; send the token as `Authorization: Bearer <token>` (or `access_token` on the event streams). It expires 12 hours after sign-in. An unknown user and a wrong password get the same 401 ERR_SIGNIN_FAILED; 10 failures a minute for one user name give 429 ERR_SIGNIN_THROTTLED with retry-after.',
      }),
    },
    async (request, reply) => {
      try {
        return await deps.sessions.signIn(request.body);
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
          'Answers `{ user: { id, username, roles }, expiresAt }`. Needs a session token, not an API token.',
      }),
    },
    async (request) => deps.sessions.get(request.principal),
  );
  app.delete(
    '/api/session',
    { config: own, schema: doc('Session', 'Sign out: the session token stops working') },
    async (request, reply) => {
      await deps.sessions.signOut(request.principal);
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
      }),
    },
    async (request, reply) => {
      await deps.sessions.changePassword(request.principal, request.body);
      return reply.code(204).send();
    },
  );
}
