import type { FastifyInstance } from 'fastify';
import type { Device } from '../../hub/hub-api.js';
import type { ApiDeps } from '../deps.js';
import { listAnswer, listQueryDoc } from '../list-query.js';
import type { FieldTable } from '../odata-filter.js';
import { DEVICE_FIELDS } from './devices.js';
import { DEVICE_GROUP_ID, doc } from './schema.js';
import type { DeviceGroup } from '../../app/device-groups.js';
import { DEVICE_PAGE } from '../responses/devices.js';
import { DEVICE_GROUP, DEVICE_GROUP_PAGE } from '../responses/device-groups.js';

type GroupParams = { Params: { id: string } };

const GROUP_FIELDS: FieldTable<DeviceGroup> = {
  id: { type: 'string', get: (g) => g.id },
  displayName: { type: 'string', get: (g) => g.displayName },
  filter: { type: 'string', get: (g) => g.filter },
};

const FILTER_DOC =
  'The filter is IoT Central\'s device query: `SELECT * FROM devices WHERE $template = "dtmi:…" AND $provisioned = true`; fields $id, $displayName, $template, $simulated, $provisioned, $enabled and property names (`name` or `component.name`), = != <> < <= > >=, IN [..], CONTAINS/STARTS_WITH/ENDS_WITH(field, "text"), AND, OR, NOT, parentheses. A filter that does not parse answers 400 ERR_DEVICE_QUERY_INVALID with the position of the bad token.';

/**
 * `/api/deviceGroups` (EXPORT_RULES.md §5.1): named device queries, evaluated each time they are
 * used. Reading needs `read`; creating, changing and deleting them `write` (Builder, Administrator).
 */
export function deviceGroupRoutes(
  app: FastifyInstance,
  deps: Pick<ApiDeps, 'deviceGroups' | 'hub' | 'application'>,
): void {
  const { deviceGroups } = deps;
  const tag = 'Device groups';
  const group = { params: { id: DEVICE_GROUP_ID } };

  app.get(
    '/api/deviceGroups',
    {
      schema: doc(tag, 'List the device groups', {
        query: listQueryDoc(GROUP_FIELDS),
        responses: { 200: DEVICE_GROUP_PAGE },
      }),
    },
    async (request) => listAnswer(request, await deviceGroups.list(), GROUP_FIELDS, deps.application),
  );
  app.get<GroupParams>(
    '/api/deviceGroups/:id',
    { schema: doc(tag, 'Get a device group', { ...group, responses: { 200: DEVICE_GROUP } }) },
    async (request) => deviceGroups.get(request.params.id),
  );
  app.put<GroupParams>(
    '/api/deviceGroups/:id',
    {
      schema: doc(tag, 'Create or replace a device group; 200', {
        ...group,
        description: `Body \`{ displayName, filter, description? }\`. ${FILTER_DOC}`,
        responses: { 200: DEVICE_GROUP },
      }),
    },
    async (request) => deviceGroups.put(request.params.id, request.body),
  );
  app.patch<GroupParams>(
    '/api/deviceGroups/:id',
    {
      schema: doc(tag, 'Update a device group (merge patch: displayName, filter, description)', {
        ...group,
        description: 'Takes `application/json` or `application/merge-patch+json`.',
        responses: { 200: DEVICE_GROUP },
      }),
    },
    async (request) => deviceGroups.patch(request.params.id, request.body),
  );
  app.delete<GroupParams>(
    '/api/deviceGroups/:id',
    {
      schema: doc(tag, 'Delete a device group (its devices are not touched); 204', {
        ...group,
        responses: { 204: null },
      }),
    },
    async (request, reply) => {
      await deviceGroups.delete(request.params.id);
      return reply.code(204).send();
    },
  );
  app.get<GroupParams>(
    '/api/deviceGroups/:id/devices',
    {
      schema: doc(tag, 'List the devices the group selects now, with their live status', {
        ...group,
        query: listQueryDoc(DEVICE_FIELDS),
        responses: { 200: DEVICE_PAGE },
      }),
    },
    async (request) => {
      const ids = new Set(await deviceGroups.deviceIds(request.params.id));
      const devices: Device[] = (await deps.hub.listDevices()).filter((d) => ids.has(d.id));
      return listAnswer(request, devices, DEVICE_FIELDS, deps.application);
    },
  );
}
