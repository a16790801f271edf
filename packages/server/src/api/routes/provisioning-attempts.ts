import type { FastifyInstance } from 'fastify';
import { commonError } from '../../validation.js';
import type { ApiDeps } from '../deps.js';
import { doc } from './schema.js';
import { PROVISIONING_ATTEMPT_PAGE } from '../responses/provisioning-attempts.js';

type AttemptsQuery = { Querystring: { registrationId?: string; limit?: string; before?: string } };

/**
 * `GET /api/provisioning/attempts`: refused provisioning attempts, newest first,
 * with the reason the device itself never sees (it gets an opaque 401002).
 */
export function provisioningAttemptRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'attempts'>): void {
  app.get<AttemptsQuery>(
    '/api/provisioning/attempts',
    {
      schema: doc('Provisioning', 'List refused provisioning attempts, newest first', {
        query: {
          registrationId: 'Only attempts with this registration ID.',
          limit: 'At most this many (1–1000, default 100).',
          before: 'Only attempts with an id below this one (the next page).',
        },
        responses: { 200: PROVISIONING_ATTEMPT_PAGE },
      }),
    },
    async (request) => {
      const { registrationId } = request.query;
      const limit = integerParam('limit', request.query.limit, 1, 1000);
      const before = integerParam('before', request.query.before, 1, Number.MAX_SAFE_INTEGER);
      const value = await deps.attempts.list({
        ...(registrationId !== undefined && registrationId !== '' ? { registrationId } : {}),
        ...(limit !== undefined ? { limit } : {}),
        ...(before !== undefined ? { before } : {}),
      });
      return { value };
    },
  );
}

function integerParam(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = /^[0-9]{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw commonError(
      'ERR_BAD_REQUEST',
      `The query parameter '${name}' must be an integer from ${min} to ${max}.`,
    );
  }
  return n;
}
