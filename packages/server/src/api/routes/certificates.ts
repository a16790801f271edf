import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { doc } from './schema.js';

/** `GET /api/certificates` (our extension): every stored certificate, soonest expiry first. */
export function certificateRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'certificates'>): void {
  app.get(
    '/api/certificates',
    {
      schema: doc('Certificates', 'List the certificates of enrollment groups and individual enrollments', {
        description:
          '`{ value: [{ kind, owner, ownerDisplayName, entry, subject, issuer, sha1Thumbprint, notBefore, notAfter, daysLeft, status: valid|expiringSoon|expired, verified? }] }`, sorted by notAfter; expiringSoon is within 30 days.',
      }),
    },
    async () => ({ value: await deps.certificates.list() }),
  );
}
