import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { checkComponent, OPERATOR_ACTION } from './params.js';
import { COMPONENT, DEVICE_ID, doc } from './schema.js';

type DeviceParams = { Params: { id: string } };
type ComponentParams = { Params: { id: string; component: string } };

/**
 * `/api/devices/{id}/properties` (CENTRAL_API.md §1.2 Properties, §5.3): GET answers the
 * reported values with `$metadata`; PUT and PATCH become desired patches and answer 202 with
 * the values and `$metadata.<name>.desiredValue`. The device acknowledges later (`ac`, `av`).
 */
export function propertyRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'hub'>): void {
  const { hub } = deps;
  const tag = 'Properties';
  const device = { params: { id: DEVICE_ID } };
  const url = '/api/devices/:id/properties';

  app.get<DeviceParams>(
    url,
    {
      schema: doc(tag, 'Get the device properties, with $metadata (desired value, ack code and version)', {
        ...device,
        description: 'Properties nobody has ever set are omitted.',
      }),
    },
    async (request) => hub.getProperties(request.params.id),
  );
  app.put<DeviceParams>(
    url,
    {
      config: OPERATOR_ACTION,
      schema: doc(tag, 'Replace the writable properties (sent to the device as a desired patch); 202', {
        ...device,
        description:
          'Body: an object of property names to values; desired properties absent from it are removed. `$metadata` is ignored.',
      }),
    },
    async (request, reply) => reply.code(202).send(await hub.putProperties(request.params.id, request.body)),
  );
  app.patch<DeviceParams>(
    url,
    {
      config: OPERATOR_ACTION,
      schema: doc(tag, 'Update writable properties (merge; sent to the device as a desired patch); 202', {
        ...device,
        description:
          'Body: an object of property names to values (`null` removes one). Takes `application/json` or `application/merge-patch+json`.',
      }),
    },
    async (request, reply) =>
      reply.code(202).send(await hub.patchProperties(request.params.id, request.body)),
  );

  // One component's properties: the same calls, on the twin's `{ "<component>": { "__t": "c", … } }`.
  const componentUrl = '/api/devices/:id/components/:component/properties';
  const inComponent = { params: { id: DEVICE_ID, component: COMPONENT } };
  app.get<ComponentParams>(
    componentUrl,
    {
      schema: doc(tag, "Get a component's properties, with $metadata", {
        ...inComponent,
        description: 'The values are those inside the component (its `__t` marker is left out).',
      }),
    },
    async (request) =>
      hub.getComponentProperties(request.params.id, checkComponent(request.params.component)),
  );
  app.put<ComponentParams>(
    componentUrl,
    {
      config: OPERATOR_ACTION,
      schema: doc(tag, "Replace a component's writable properties (a desired patch marked `__t: c`); 202", {
        ...inComponent,
        description:
          "Desired values of the component absent from the body are removed; other components' are kept.",
      }),
    },
    async (request, reply) =>
      reply
        .code(202)
        .send(
          await hub.putComponentProperties(
            request.params.id,
            checkComponent(request.params.component),
            request.body,
          ),
        ),
  );
  app.patch<ComponentParams>(
    componentUrl,
    {
      config: OPERATOR_ACTION,
      schema: doc(
        tag,
        "Update a component's writable properties (merge; a desired patch marked `__t: c`); 202",
        {
          ...inComponent,
          description: 'Checked against the properties of that component in the device template.',
        },
      ),
    },
    async (request, reply) =>
      reply
        .code(202)
        .send(
          await hub.patchComponentProperties(
            request.params.id,
            checkComponent(request.params.component),
            request.body,
          ),
        ),
  );
}
