import type { FastifyInstance } from 'fastify';

import type { RevocationService } from '../../revocation/revocation-service.js';
import { doc } from './schema.js';
import { GROUP_REVOCATION } from '../responses/enrollment-groups.js';

type GroupParams = { Params: { id: string } };

/** Content types a CRL may come as: the DER type of RFC 2585 §4.2, PEM text, or plain bytes. */
const CRL_TYPES = [
  'application/pkix-crl',
  'application/x-pem-file',
  'application/octet-stream',
  'text/plain',
];

/**
 * `/api/enrollmentGroups/{id}/crl`: import the CRL of a group CA, read the group's revoked
 * certificates. Registered in its own scope so the raw body parsers stay on this route.
 */
export function crlRoutes(
  app: FastifyInstance,
  revocation: RevocationService,
  tag: string,
  group: { params: Record<string, string> },
): void {
  void app.register(async (scope) => {
    scope.addContentTypeParser(CRL_TYPES, { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    scope.get<GroupParams>(
      '/api/enrollmentGroups/:id/crl',
      {
        schema: doc(tag, "The group's imported CRLs and revoked certificates", {
          ...group,
          responses: { 200: GROUP_REVOCATION },
        }),
      },
      async (request) => revocation.get(request.params.id),
    );
    scope.post<GroupParams>(
      '/api/enrollmentGroups/:id/crl',
      {
        schema: doc(tag, 'Import a certificate revocation list of the group CA', {
          ...group,
          description:
            'Body: the CRL as PEM or DER (`application/pkix-crl`, `application/x-pem-file`, `application/octet-stream`), or JSON `{ crl: PEM | base64 DER }`. The CRL must be signed by the primary or secondary CA certificate of the group and be current (thisUpdate ≤ now ≤ nextUpdate). Live sessions of revoked certificates are closed; answers the group revocation state.',
          responses: { 200: GROUP_REVOCATION },
        }),
      },
      async (request) => revocation.importCrl(request.params.id, crlBody(request.body)),
    );
  });
}

/** The raw bytes, or the `crl` field of a JSON body (PEM text, else base64 of DER). */
function crlBody(body: unknown): Buffer | string | undefined {
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'object' && body !== null && typeof (body as { crl?: unknown }).crl === 'string') {
    const crl = (body as { crl: string }).crl;
    return crl.includes('-----BEGIN') ? crl : Buffer.from(crl, 'base64');
  }
  return undefined;
}
