import type { FastifyInstance } from 'fastify';
import { importError } from '../../import/errors.js';
import { ImportService } from '../../import/import-service.js';
import type { ApiDeps } from '../deps.js';
import { doc } from './schema.js';
import { IMPORT_PLAN } from '../responses/imports.js';

/** Exports of a whole fleet are larger than other bodies: 32 MiB (about 50,000 hub identities). */
export const IMPORT_BODY_LIMIT = 32 * 1024 * 1024;

/**
 * `POST /api/imports[?dryRun=true]`: import an Azure export (docs/migrate-from-azure.md). The
 * answer is the plan (created / updated / unchanged / refused, each with file and line). A
 * refused record rolls back everything: 422 ERR_IMPORT_REFUSED with the plan in
 * `details.plan`; a dry run answers 200 with the plan and changes nothing.
 */
export function importRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'imports'>): void {
  const { imports } = deps;
  if (!imports) return;
  app.post<{ Querystring: { dryRun?: string } }>(
    '/api/imports',
    {
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: doc('Imports', 'Import device identities, enrollments and templates exported from Azure', {
        query: { dryRun: '`true`: answer the plan and change nothing.' },
        description:
          'Body `{ format: hub|dps|central, files: [{ name, content }], idScope?, verified? }`. All or nothing: one refused record and nothing is imported (422 ERR_IMPORT_REFUSED, the plan in `details.plan`).',
        responses: { 200: IMPORT_PLAN },
      }),
    },
    async (request) => {
      const plan = await imports.run(ImportService.parseRequest(request.body, request.query));
      if (!plan.dryRun && !plan.applied) {
        const refused = plan.items.filter((i) => i.action === 'refused');
        const first = refused[0];
        throw importError(
          'ERR_IMPORT_REFUSED',
          `${refused.length} record${refused.length === 1 ? ' was' : 's were'} refused, so nothing was imported` +
            (first ? `; the first: ${first.file}:${first.line}: ${first.code}: ${first.reason}` : '.'),
          { detail: { plan } },
        );
      }
      return plan;
    },
  );
}
