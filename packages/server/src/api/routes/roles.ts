import type { FastifyInstance } from 'fastify';
import { appError } from '../../app/errors.js';
import { ROLES } from '../../app/roles.js';
import { doc } from './schema.js';
import { ROLE, ROLE_PAGE } from '../responses/roles.js';

/** `GET /api/roles[/{roleId}]`: the built-in roles and their fixed IDs (CENTRAL_API.md §1.2). */
export function roleRoutes(app: FastifyInstance): void {
  app.get(
    '/api/roles',
    { schema: doc('Roles', 'List the roles', { responses: { 200: ROLE_PAGE } }) },
    async () => ({ value: ROLES }),
  );
  app.get<{ Params: { roleId: string } }>(
    '/api/roles/:roleId',
    {
      schema: doc('Roles', 'Get a role', {
        params: { roleId: 'Role ID (a GUID).' },
        responses: { 200: ROLE },
      }),
    },
    async (request) => {
      const role = ROLES.find((r) => r.id === request.params.roleId);
      if (!role)
        throw appError(
          'ERR_ROLE_NOT_FOUND',
          `Role '${request.params.roleId}' does not exist; see GET /api/roles.`,
        );
      return role;
    },
  );
}
