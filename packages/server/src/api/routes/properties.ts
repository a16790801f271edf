import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { checkComponent, OPERATOR_ACTION } from './params.js';
import { COMPONENT, DEVICE_ID, doc } from './schema.js';
import { PROPERTIES, PROPERTIES_ECHO } from '../responses/properties.js';

type Params = { id: string; component?: string };
type Handler = (request: FastifyRequest<{ Params: Params }>) => Promise<Record<string, unknown>>;

/** One properties resource: what its routes document, and the hub calls behind GET, PUT and PATCH. */
interface PropertiesResource {
  url: string;
  params: Record<string, string>;
  /** "the device" or "a component": how the summaries name what the properties belong to. */
  of: string;
  get: { description: string; run: Handler };
  put: { description: string; run: Handler };
  patch: { description: string; run: Handler };
}

/**
 * `/api/devices/{id}/properties` and `/api/devices/{id}/components/{c}/properties`
 * (CENTRAL_API.md §1.2 Properties, §5.3): GET answers the reported values with `$metadata`;
 * PUT and PATCH become desired patches and answer 202 with the values and
 * `$metadata.<name>.desiredValue`. The device acknowledges later (`ac`, `av`). A component's
 * properties are the twin's `{ "<component>": { "__t": "c", … } }`.
 */
export function propertyRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'hub'>): void {
  const { hub } = deps;
  const component = (request: FastifyRequest<{ Params: Params }>) =>
    checkComponent(request.params.component ?? '');

  register(app, {
    url: '/api/devices/:id/properties',
    params: { id: DEVICE_ID },
    of: 'the device',
    get: {
      description: 'Properties nobody has ever set are omitted.',
      run: (request) => hub.getProperties(request.params.id),
    },
    put: {
      description:
        "Body: an object of property names to values; desired properties absent from it are removed, components' included. `$metadata` is ignored.",
      run: (request) => hub.putProperties(request.params.id, request.body),
    },
    patch: {
      description:
        'Body: an object of property names to values (`null` removes one). Takes `application/json` or `application/merge-patch+json`.',
      run: (request) => hub.patchProperties(request.params.id, request.body),
    },
  });

  register(app, {
    url: '/api/devices/:id/components/:component/properties',
    params: { id: DEVICE_ID, component: COMPONENT },
    of: 'a component',
    get: {
      description: 'The values are those inside the component (its `__t` marker is left out).',
      run: (request) => hub.getComponentProperties(request.params.id, component(request)),
    },
    put: {
      description:
        "Desired values of the component absent from the body are removed; other components' are kept. 404 ERR_COMPONENT_NOT_FOUND when the device's template declares no such component.",
      run: (request) => hub.putComponentProperties(request.params.id, component(request), request.body),
    },
    patch: {
      description:
        "Checked against the properties of that component in the device template; 404 ERR_COMPONENT_NOT_FOUND when the template declares no such component. `__t` is the server's marker, not a property.",
      run: (request) => hub.patchComponentProperties(request.params.id, component(request), request.body),
    },
  });
}

function register(app: FastifyInstance, r: PropertiesResource): void {
  const tag = 'Properties';
  app.get<{ Params: Params }>(
    r.url,
    {
      schema: doc(
        tag,
        `Get the properties of ${r.of}, with $metadata (desired value, ack code and version)`,
        {
          params: r.params,
          description: r.get.description,
          responses: { 200: PROPERTIES },
        },
      ),
    },
    r.get.run,
  );
  app.put<{ Params: Params }>(
    r.url,
    {
      config: OPERATOR_ACTION,
      schema: doc(
        tag,
        `Replace the writable properties of ${r.of} (sent to the device as a desired patch); 202`,
        {
          params: r.params,
          description: r.put.description,
          responses: { 202: PROPERTIES_ECHO },
        },
      ),
    },
    async (request, reply) => reply.code(202).send(await r.put.run(request)),
  );
  app.patch<{ Params: Params }>(
    r.url,
    {
      config: OPERATOR_ACTION,
      schema: doc(
        tag,
        `Update writable properties of ${r.of} (merge; sent to the device as a desired patch); 202`,
        {
          params: r.params,
          description: r.patch.description,
          responses: { 202: PROPERTIES_ECHO },
        },
      ),
    },
    async (request, reply) => reply.code(202).send(await r.patch.run(request)),
  );
}
