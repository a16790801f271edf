import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { doc } from './schema.js';
import { INVENTORY_CERTIFICATE_PAGE } from '../responses/certificates.js';

/** `GET /api/certificates` (our extension): every stored certificate, soonest expiry first. */
export function certificateRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'certificates'>): void {
  app.get(
    '/api/certificates',
    {
      schema: doc('Certificates', 'List the certificates of enrollment groups and individual enrollments', {
        description:
          '`{ value: [{ kind, owner, ownerDisplayName, entry, subject, issuer, sha1Thumbprint, notBefore, notAfter, daysLeft, status: valid|expiringSoon|expired, verified?, revoked? }] }`, sorted by notAfter; expiringSoon is within 30 days; `revoked: true` marks a certificate an imported CRL revokes.',
        responses: { 200: INVENTORY_CERTIFICATE_PAGE },
      }),
    },
    async () => ({ value: await deps.certificates.list() }),
  );
}
