import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import type { EnrollmentGroup } from '../../provisioning/enrollment-groups.js';
import { crlRoutes } from './crl.js';
import { doc, ENTRY, GROUP_ID } from './schema.js';
import {
  ENROLLMENT_GROUP,
  ENROLLMENT_GROUP_PAGE,
  SIGNING_CERTIFICATE,
  VERIFICATION_CODE,
} from '../responses/enrollment-groups.js';

type GroupParams = { Params: { id: string } };
type CertParams = { Params: { id: string; entry: string } };

/** `/api/enrollmentGroups`: groups, their CA certificates and proof of possession (CENTRAL_API.md §1.2, §2). */
export function enrollmentGroupRoutes(
  app: FastifyInstance,
  deps: Pick<ApiDeps, 'groups'> & Partial<Pick<ApiDeps, 'revocation'>>,
): void {
  const { groups, revocation } = deps;
  // X.509 groups carry the serials their CRLs revoke (revocation/revocation-service.ts).
  const withRevoked = async (g: EnrollmentGroup) =>
    revocation && g.attestation.type === 'x509'
      ? { ...g, revokedCertificates: await revocation.revokedCertificates(g.id) }
      : g;
  const tag = 'Enrollment groups';
  const group = { params: { id: GROUP_ID } };
  const cert = { params: { id: GROUP_ID, entry: ENTRY } };

  app.get(
    '/api/enrollmentGroups',
    { schema: doc(tag, 'List the enrollment groups', { responses: { 200: ENROLLMENT_GROUP_PAGE } }) },
    async () => ({
      value: await Promise.all((await groups.list()).map(withRevoked)),
    }),
  );
  app.get<GroupParams>(
    '/api/enrollmentGroups/:id',
    { schema: doc(tag, 'Get an enrollment group', { ...group, responses: { 200: ENROLLMENT_GROUP } }) },
    async (request) => withRevoked(await groups.get(request.params.id)),
  );
  app.put<GroupParams>(
    '/api/enrollmentGroups/:id',
    {
      schema: doc(tag, 'Create or replace an enrollment group', {
        ...group,
        description:
          'Body `{ displayName, type: iot|iotEdge, attestation: { type: x509 }, enabled?, etag? }`.',
        responses: { 200: ENROLLMENT_GROUP },
      }),
    },
    async (request) => withRevoked(await groups.put(request.params.id, request.body)),
  );
  app.patch<GroupParams>(
    '/api/enrollmentGroups/:id',
    {
      schema: doc(tag, 'Update an enrollment group (merge patch: displayName, enabled, type, etag)', {
        ...group,
        responses: { 200: ENROLLMENT_GROUP },
      }),
    },
    async (request) => withRevoked(await groups.patch(request.params.id, request.body)),
  );
  app.delete<GroupParams>(
    '/api/enrollmentGroups/:id',
    {
      schema: doc(tag, 'Delete an enrollment group and its certificates', {
        ...group,
        responses: { 204: null },
      }),
    },
    async (request, reply) => {
      await groups.delete(request.params.id);
      return reply.code(204).send();
    },
  );

  const certs = '/api/enrollmentGroups/:id/certificates/:entry';
  app.get<CertParams>(
    certs,
    {
      schema: doc(tag, 'Get a signing certificate entry (never the certificate text)', {
        ...cert,
        responses: { 200: SIGNING_CERTIFICATE },
      }),
    },
    async (request) => groups.getCertificate(request.params.id, request.params.entry),
  );
  app.put<CertParams>(
    certs,
    {
      schema: doc(tag, 'Upload or replace a signing CA certificate', {
        ...cert,
        description: 'Body `{ certificate: PEM | base64 of PEM | base64 DER, verified?, etag? }`.',
        responses: { 200: SIGNING_CERTIFICATE },
      }),
    },
    async (request) => groups.putCertificate(request.params.id, request.params.entry, request.body),
  );
  app.delete<CertParams>(
    certs,
    { schema: doc(tag, 'Remove a signing certificate', { ...cert, responses: { 204: null } }) },
    async (request, reply) => {
      await groups.deleteCertificate(request.params.id, request.params.entry);
      return reply.code(204).send();
    },
  );
  app.post<CertParams>(
    `${certs}/generateVerificationCode`,
    {
      schema: doc(tag, 'Generate a verification code (proof of possession, valid one hour)', {
        ...cert,
        responses: { 200: VERIFICATION_CODE },
      }),
    },
    async (request) => groups.generateVerificationCode(request.params.id, request.params.entry),
  );
  app.post<CertParams>(
    `${certs}/verify`,
    {
      schema: doc(
        tag,
        'Verify a signing certificate with a certificate whose CN is the code, signed by the CA key',
        {
          ...cert,
          description: 'Body `{ certificate }`. Answers 204.',
          responses: { 204: null },
        },
      ),
    },
    async (request, reply) => {
      await groups.verify(request.params.id, request.params.entry, request.body);
      return reply.code(204).send();
    },
  );
  if (revocation) crlRoutes(app, revocation, tag, group);
}
