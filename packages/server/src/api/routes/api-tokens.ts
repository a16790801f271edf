import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { doc, TOKEN_ID } from './schema.js';
import { API_TOKEN, API_TOKEN_PAGE, CREATED_API_TOKEN } from '../responses/api-tokens.js';

/**
 * `/api/apiTokens`: Administrator only, reads included. The singular
 * `/api/apiToken/{id}` of the 2021 how-to is an alias (CENTRAL_API.md §7.2).
 */
export function apiTokenRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'tokens'>): void {
  const config = { permission: 'manageApiTokens' as const };
  const params = { params: { tokenId: TOKEN_ID } };
  app.get(
    '/api/apiTokens',
    {
      config,
      schema: doc('API tokens', 'List the API tokens (never their secrets)', {
        responses: { 200: API_TOKEN_PAGE },
      }),
    },
    async () => ({
      value: await deps.tokens.list(),
    }),
  );
  for (const base of ['/api/apiTokens', '/api/apiToken']) {
    const alias = base === '/api/apiToken' ? ' (alias of /api/apiTokens/{tokenId})' : '';
    app.get<{ Params: { tokenId: string } }>(
      `${base}/:tokenId`,
      {
        config,
        schema: doc('API tokens', `Get an API token${alias}`, { ...params, responses: { 200: API_TOKEN } }),
      },
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
          responses: { 200: CREATED_API_TOKEN },
        }),
      },
      async (request) => deps.tokens.create(request.params.tokenId, request.body),
    );
    app.delete<{ Params: { tokenId: string } }>(
      `${base}/:tokenId`,
      {
        config,
        schema: doc('API tokens', `Revoke an API token${alias}`, { ...params, responses: { 204: null } }),
      },
      async (request, reply) => {
        await deps.tokens.delete(request.params.tokenId);
        return reply.code(204).send();
      },
    );
  }
}
