import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import type { DeviceTemplate } from '../../app/device-templates.js';
import { listAnswer, listQueryDoc } from '../list-query.js';
import type { FieldTable } from '../odata-filter.js';
import { doc, TEMPLATE_ID } from './schema.js';
import { DEVICE_TEMPLATE, DEVICE_TEMPLATE_PAGE } from '../responses/device-templates.js';

type TemplateParams = { Params: { id: string } };

/** What `$filter` and `$orderby` on the template list see. */
export const TEMPLATE_FIELDS: FieldTable<DeviceTemplate> = {
  id: { type: 'string', get: (t) => t['@id'] },
  displayName: { type: 'string', get: (t) => t.displayName },
  description: { type: 'string', get: (t) => t.description ?? null },
  builtIn: { type: 'boolean', get: (t) => t.builtIn },
  devices: { type: 'number', get: (t) => t.devices },
};

/**
 * `/api/deviceTemplates`: device templates, DTDL v2 validated (CENTRAL_API.md §1.2, §6). Each
 * answer adds our read-only `builtIn`, `devices` (how many use it) and `summary` (the flattened
 * telemetry, properties and commands).
 */
export function deviceTemplateRoutes(
  app: FastifyInstance,
  deps: Pick<ApiDeps, 'templates' | 'application'>,
): void {
  const { templates } = deps;
  const tag = 'Device templates';
  const template = { params: { id: TEMPLATE_ID } };

  app.get(
    '/api/deviceTemplates',
    {
      schema: doc(tag, 'List the device templates (built-ins included)', {
        query: listQueryDoc(TEMPLATE_FIELDS),
        responses: { 200: DEVICE_TEMPLATE_PAGE },
      }),
    },
    async (request) => listAnswer(request, await templates.list(), TEMPLATE_FIELDS, deps.application),
  );
  app.get<TemplateParams>(
    '/api/deviceTemplates/:id',
    {
      schema: doc(tag, 'Get a device template with its summary and device count', {
        ...template,
        responses: { 200: DEVICE_TEMPLATE },
      }),
    },
    async (request) => templates.get(request.params.id),
  );
  app.put<TemplateParams>(
    '/api/deviceTemplates/:id',
    {
      schema: doc(tag, 'Create or replace a device template', {
        ...template,
        description:
          "Body: the template `{ '@id'?, '@type': ['ModelDefinition','DeviceModel'], displayName, description?, capabilityModel, etag? }`, a bare DTDL v2 Interface, an array of interfaces whose first is the root (components and extends by DTMI are inlined), or a 2020 capability model (converted). Invalid DTDL answers 400 ERR_DTDL_INVALID naming the element by JSON path. Replacing a model under the same capabilityModel @id may only add contents or change display metadata (409 ERR_TEMPLATE_INCOMPATIBLE otherwise). Answers 200.",
        responses: { 200: DEVICE_TEMPLATE },
      }),
    },
    async (request) => templates.put(request.params.id, request.body),
  );
  app.patch<TemplateParams>(
    '/api/deviceTemplates/:id',
    {
      schema: doc(tag, 'Update a device template (merge patch: displayName, description, etag)', {
        ...template,
        description: 'The capability model changes only by PUT.',
        responses: { 200: DEVICE_TEMPLATE },
      }),
    },
    async (request) => templates.patch(request.params.id, request.body),
  );
  app.delete<TemplateParams>(
    '/api/deviceTemplates/:id',
    {
      schema: doc(tag, 'Delete a device template (409 ERR_TEMPLATE_IN_USE while devices use it)', {
        ...template,
        responses: { 204: null },
      }),
    },
    async (request, reply) => {
      await templates.delete(request.params.id);
      return reply.code(204).send();
    },
  );
}
