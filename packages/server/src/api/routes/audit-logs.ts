import type { FastifyInstance } from 'fastify';

import { AUDIT_QUERY_DOC, parseAuditQuery, skipToken } from '../../audit/audit-query.js';
import type { ApiDeps } from '../deps.js';
import { nextLink } from '../list-query.js';
import { doc } from './schema.js';
import { AUDIT_ENTRY_PAGE } from '../responses/audit-logs.js';

/**
 * `GET /api/auditLogs`: who changed what and when, newest first (docs/audit.md). Reading it
 * is the Administrator's, as in IoT Central, where access to the audit log is an
 * administrator permission.
 */
export function auditLogRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'audit' | 'application'>): void {
  const audit = deps.audit;
  if (audit === undefined) return;
  app.get(
    '/api/auditLogs',
    {
      config: { permission: 'manageUsers' },
      schema: doc('Audit log', 'List the changes made through the REST API and the web UI, newest first', {
        description:
          'Each entry: `{ id, time, actor: { type: user|apiToken, id, name }, action: created|updated|deleted|invoked|signedIn|signedOut, resource: { type, id, displayName }, method, path, status, requestId, before?, after? }`. `before` and `after` are the object as the caller could read it, with every secret replaced by `[redacted]`. Administrator only. A bad filter is a 400 ERR_QUERY_INVALID naming the parameter.',
        query: AUDIT_QUERY_DOC,
        responses: { 200: AUDIT_ENTRY_PAGE },
      }),
    },
    async (request) => {
      const query = parseAuditQuery((request.query ?? {}) as Record<string, unknown>);
      const page = await audit.list(query);
      const last = page.value[page.value.length - 1];
      return {
        value: page.value,
        ...(page.more && last !== undefined
          ? { nextLink: nextLink(request, deps.application, skipToken(last.id)) }
          : {}),
      };
    },
  );
}
