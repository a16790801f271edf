import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { doc, TOKEN_ID } from './schema.js';

/**
 * `/api/apiTokens`: Administrator only, reads included. The singular
 * `/api/apiToken/{id}` of the 2021 how-to is an alias (CENTRAL_API.md §7.2).
 */
export function apiTokenRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'tokens'>): void {
  const config = { permission: 'manageApiTokens' as const };
  const params = { params: { tokenId: TOKEN_ID } };
  app.get(
    '/api/apiTokens',
    { config, schema: doc('API tokens', 'List the API tokens (never their secrets)') },
    async () => ({
      value: await deps.tokens.list(),
    }),
  );
  for (const base of ['/api/apiTokens', '/api/apiToken']) {
    const alias = base === '/api/apiToken' ? ' (alias of /api/apiTokens/{tokenId})' : '';
    app.get<{ Params: { tokenId: string } }>(
      `${base}/:tokenId`,
      { config, schema: doc('API tokens', `Get an API token${alias}`, params) },
      async (request) => deps.tokens.get(request.params.tokenId),
    );
    app.put<{ Params: { tokenId: string } }>(
      `${base}/:tokenId`,
      {
        config,
        schema: doc('API tokens', `Create or replace an API token${alias}`, {
          ...params,
          description:
            'Body `{ roles: [{ role }], expiry? }`. The answer holds `token`, the only time the secret is shown; send it as the Authorization header.',
        }),
      },
      async (request) => deps.tokens.create(request.params.tokenId, request.body),
    );
    app.delete<{ Params: { tokenId: string } }>(
      `${base}/:tokenId`,
      { config, schema: doc('API tokens', `Revoke an API token${alias}`, params) },
      async (request, reply) => {
        await deps.tokens.delete(request.params.tokenId);
        return reply.code(204).send();
      },
    );
  }
}
