import type { FastifyInstance, FastifyRequest } from 'fastify';

import { exportError } from '../../export/errors.js';
import type { ApiDeps } from '../deps.js';
import { doc } from './schema.js';
import {
  DESTINATION,
  DESTINATION_PAGE,
  DESTINATION_TEST,
  EXPORT,
  EXPORT_PAGE,
} from '../responses/data-export.js';

type IdParams = { Params: { id: string } };

/** EXPORT_RULES.md §1.1: data export exists only in the preview API versions. */
export const DATA_EXPORT_API_VERSIONS = ['2022-10-31-preview', '2022-06-30-preview'];

function checkVersion(request: FastifyRequest): void {
  const v = (request.query as Record<string, unknown> | undefined)?.['api-version'];
  if (v === undefined || (typeof v === 'string' && DATA_EXPORT_API_VERSIONS.includes(v))) return;
  throw exportError(
    'ERR_EXPORT_API_VERSION',
    `api-version '${String(v).slice(0, 40)}' does not serve data export; use ${DATA_EXPORT_API_VERSIONS.join(' or ')}.`,
  );
}

const DESTINATION_BODY =
  'Body `{ displayName, type: "webhook@v1", url, queryCustomizations?, headerCustomizations?: { name: { value, secret } }, authorization?: { type: "header", value } | { type: "oauth", tokenUrl, clientId, clientSecret, audience?, scope?, requestType? }, signature?: { secret, header? }, batching?: { enabled, maxMessages } }` (mqtt@v1 and amqp@v1 where installed). Azure types are refused with 400 ERR_DESTINATION_TYPE_UNSUPPORTED. Secrets are answered as `*****`; sending `*****` back keeps the stored value.';
const EXPORT_BODY =
  'Body `{ displayName, enabled, source: telemetry|properties|deviceConnectivity|deviceLifecycle|deviceTemplateLifecycle|audit, destinations: [{ id, transform? }], filter?: "SELECT * FROM devices WHERE …", enrichments?: { key: { value } | { path } | { target, path } } }`. A new or re-enabled export starts with the messages stored from then on.';

/**
 * `/api/dataExport/…` (EXPORT_RULES.md §1.2): destinations and exports with IoT Central's routes,
 * fields, status values and errors, plus Gatehouse's status counters (`backlog`, `delivered`,
 * `dropped`) and `POST …/destinations/{id}/test`. Reading needs `read`, changing `write`.
 */
export function dataExportRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'dataExport'>): void {
  const service = deps.dataExport;
  if (!service) return;
  const tag = 'Data export';
  const destination = { params: { id: 'The destination ID.' } };
  const exp = { params: { id: 'The export ID.' } };
  app.addHook('onRequest', async (request) => {
    if (request.url.startsWith('/api/dataExport/')) checkVersion(request);
  });

  app.get(
    '/api/dataExport/destinations',
    { schema: doc(tag, 'List the destinations with their status', { responses: { 200: DESTINATION_PAGE } }) },
    async () => ({
      value: await service.listDestinations(),
    }),
  );
  app.get<IdParams>(
    '/api/dataExport/destinations/:id',
    {
      schema: doc(tag, 'Get a destination (secrets masked) with its status', {
        ...destination,
        responses: { 200: DESTINATION },
      }),
    },
    async (request) => service.getDestination(request.params.id),
  );
  app.put<IdParams>(
    '/api/dataExport/destinations/:id',
    {
      schema: doc(tag, 'Create or replace a destination; 200', {
        ...destination,
        description: DESTINATION_BODY,
        responses: { 200: DESTINATION },
      }),
    },
    async (request) => service.putDestination(request.params.id, request.body),
  );
  app.patch<IdParams>(
    '/api/dataExport/destinations/:id',
    {
      schema: doc(tag, 'Update a destination (merge patch)', {
        ...destination,
        description: 'Takes `application/json` or `application/merge-patch+json`.',
        responses: { 200: DESTINATION },
      }),
    },
    async (request) => service.patchDestination(request.params.id, request.body),
  );
  app.delete<IdParams>(
    '/api/dataExport/destinations/:id',
    {
      schema: doc(tag, 'Delete a destination no export uses; 204', {
        ...destination,
        responses: { 204: null },
      }),
    },
    async (request, reply) => {
      await service.deleteDestination(request.params.id);
      return reply.code(204).send();
    },
  );
  app.get<IdParams>(
    '/api/dataExport/destinations/:id/exports',
    {
      schema: doc(tag, 'List the exports that send to a destination', {
        ...destination,
        responses: { 200: EXPORT_PAGE },
      }),
    },
    async (request) => ({ value: await service.destinationExports(request.params.id) }),
  );
  app.post<IdParams>(
    '/api/dataExport/destinations/:id/test',
    {
      schema: doc(tag, 'Send a test message to a destination (Gatehouse extension)', {
        ...destination,
        description:
          "Sends one telemetry message in IoT Central's format from the device `gatehouse-test-device`; 200 `{ delivered: true, message }`, or 502 ERR_DESTINATION_TEST_FAILED saying why.",
        responses: { 200: DESTINATION_TEST },
      }),
    },
    async (request) => service.testDestination(request.params.id),
  );

  app.get(
    '/api/dataExport/exports',
    { schema: doc(tag, 'List the exports with their status', { responses: { 200: EXPORT_PAGE } }) },
    async () => ({
      value: await service.listExports(),
    }),
  );
  app.get<IdParams>(
    '/api/dataExport/exports/:id',
    {
      schema: doc(tag, 'Get an export with its status per destination', {
        ...exp,
        responses: { 200: EXPORT },
      }),
    },
    async (request) => service.getExport(request.params.id),
  );
  app.put<IdParams>(
    '/api/dataExport/exports/:id',
    {
      schema: doc(tag, 'Create or replace an export (also connects and disconnects destinations); 200', {
        ...exp,
        description: EXPORT_BODY,
        responses: { 200: EXPORT },
      }),
    },
    async (request) => service.putExport(request.params.id, request.body),
  );
  app.patch<IdParams>(
    '/api/dataExport/exports/:id',
    {
      schema: doc(tag, 'Update an export (merge patch)', {
        ...exp,
        description: 'Takes `application/json` or `application/merge-patch+json`.',
        responses: { 200: EXPORT },
      }),
    },
    async (request) => service.patchExport(request.params.id, request.body),
  );
  app.delete<IdParams>(
    '/api/dataExport/exports/:id',
    { schema: doc(tag, 'Delete an export; 204', { ...exp, responses: { 204: null } }) },
    async (request, reply) => {
      await service.deleteExport(request.params.id);
      return reply.code(204).send();
    },
  );
  app.get<IdParams>(
    '/api/dataExport/exports/:id/destinations',
    {
      schema: doc(tag, 'List the destinations of an export', {
        ...exp,
        responses: { 200: DESTINATION_PAGE },
      }),
    },
    async (request) => ({ value: await service.exportDestinations(request.params.id) }),
  );
}
