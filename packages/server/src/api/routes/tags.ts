import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { OPERATOR_ACTION } from './params.js';
import { DEVICE_ID, doc } from './schema.js';
import { DEVICE_TAGS } from '../responses/tags.js';

type DeviceParams = { Params: { id: string } };

/**
 * `/api/devices/{id}/tags` (Gatehouse extension; IoT Hub's twin tags, which IoT Central has no
 * REST call for): JSON kept about a device for the solution, never sent to the device.
 */
export function tagRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'hub'>): void {
  const { hub } = deps;
  const tag = 'Device tags';
  const device = { params: { id: DEVICE_ID } };
  const url = '/api/devices/:id/tags';
  const rules =
    'A JSON object of tag names to values, nested at most 10 levels, at most 8 KB, no name starting with `$` (400 ERR_TAGS_INVALID otherwise).';

  app.get<DeviceParams>(
    url,
    {
      schema: doc(tag, "The device's twin tags ({} when it has none)", {
        ...device,
        responses: { 200: DEVICE_TAGS },
      }),
    },
    async (request) => hub.getTags(request.params.id),
  );
  app.put<DeviceParams>(
    url,
    {
      config: OPERATOR_ACTION,
      schema: doc(tag, 'Replace the twin tags (Gatehouse extension)', {
        ...device,
        description: rules,
        responses: { 200: DEVICE_TAGS },
      }),
    },
    async (request) => hub.putTags(request.params.id, request.body),
  );
  app.patch<DeviceParams>(
    url,
    {
      config: OPERATOR_ACTION,
      schema: doc(tag, 'Merge a patch into the twin tags; null removes a tag (Gatehouse extension)', {
        ...device,
        description: rules,
        responses: { 200: DEVICE_TAGS },
      }),
    },
    async (request) => hub.patchTags(request.params.id, request.body),
  );
}
