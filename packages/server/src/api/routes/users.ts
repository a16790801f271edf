import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { doc, USER_ID } from './schema.js';
import { USER, USER_PAGE } from '../responses/users.js';

/** `/api/users` (CENTRAL_API.md §1.2 Users, `email` users with a password): Administrator only, reads included. */
export function userRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'users'>): void {
  const config = { permission: 'manageUsers' as const };
  const params = { params: { userId: USER_ID } };
  app.get(
    '/api/users',
    {
      config,
      schema: doc('Users', 'List the users (never their passwords)', { responses: { 200: USER_PAGE } }),
    },
    async () => ({
      value: await deps.users.list(),
    }),
  );
  app.get<{ Params: { userId: string } }>(
    '/api/users/:userId',
    { config, schema: doc('Users', 'Get a user', { ...params, responses: { 200: USER } }) },
    async (request) => deps.users.get(request.params.userId),
  );
  app.put<{ Params: { userId: string } }>(
    '/api/users/:userId',
    {
      config,
      schema: doc('Users', 'Create or replace a user', {
        ...params,
        description:
          'Body `{ type: "email", email, roles: [{ role }], username?, password?, disabled? }`; `username` (what the user signs in with) defaults to `email`. Without `password` an existing user keeps theirs, without `disabled` their state. A new password signs the user out everywhere, and so does `disabled: true` (their open event streams close within a second; they cannot sign in until enabled again).',
        responses: { 200: USER },
      }),
    },
    async (request) => deps.users.put(request.params.userId, request.body, request.principal ?? undefined),
  );
  app.patch<{ Params: { userId: string } }>(
    '/api/users/:userId',
    {
      config,
      schema: doc('Users', 'Update a user', {
        ...params,
        description:
          'Merge `email`, `username`, `roles`, `password`, `disabled` (true: every session of the user ends within a second, open event streams included, and sign-in answers 403 ERR_USER_DISABLED; a user shows `disabled: true` only while disabled). Nobody may take the Administrator role from, or disable, the last administrator (409 ERR_LAST_ADMIN), nor disable themselves (409 ERR_USER_DISABLE_SELF).',
        responses: { 200: USER },
      }),
    },
    async (request) => deps.users.patch(request.params.userId, request.body, request.principal ?? undefined),
  );
  app.delete<{ Params: { userId: string } }>(
    '/api/users/:userId',
    {
      config,
      schema: doc('Users', 'Delete a user', {
        ...params,
        description:
          "Not yourself (409 ERR_USER_DELETE_SELF) and not the last administrator (409 ERR_LAST_ADMIN). The user's sessions end within a second, open event streams included.",
        responses: { 204: null },
      }),
    },
    async (request, reply) => {
      await deps.users.delete(request.params.userId, request.principal ?? undefined);
      return reply.code(204).send();
    },
  );
}
