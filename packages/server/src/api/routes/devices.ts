import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import type { Device } from '../../hub/hub-api.js';
import { listOptions, listQueryDoc, nextLink } from '../list-query.js';
import type { FieldTable } from '../odata-filter.js';
import { queryText } from './params.js';
import { DEVICE_ID, doc } from './schema.js';
import { ATTESTATION, DEVICE, DEVICE_CREDENTIALS, DEVICE_PAGE } from '../responses/devices.js';

type DeviceParams = { Params: { id: string } };

/**
 * What `$filter` and `$orderby` on the device list see (CENTRAL_API.md §1.2), plus `connected`
 * and `lastActivity`. The list itself filters in SQL (hub/device-list.ts, the same fields); the
 * readers here serve the lists that filter in memory (a device group's devices).
 */
export const DEVICE_FIELDS: FieldTable<Device> = {
  id: { type: 'string', get: (d) => d.id },
  displayName: { type: 'string', get: (d) => d.displayName },
  template: { type: 'string', get: (d) => d.template ?? null },
  enabled: { type: 'boolean', get: (d) => d.enabled },
  provisioned: { type: 'boolean', get: (d) => d.provisioned },
  simulated: { type: 'boolean', get: (d) => d.simulated },
  connected: { type: 'boolean', get: (d) => d.status.connected },
  lastActivity: { type: 'string', get: (d) => d.status.lastActivity },
};

/**
 * `/api/devices`: the devices themselves (served by the hub, with their live status),
 * individual enrollments (`attestation`) and credentials (CENTRAL_API.md §1.2 Devices, §3).
 */
export function deviceRoutes(
  app: FastifyInstance,
  deps: Pick<ApiDeps, 'hub' | 'individual' | 'application' | 'deviceGroups'>,
): void {
  const { hub, individual } = deps;
  const tag = 'Devices';
  const device = { params: { id: DEVICE_ID } };

  app.get(
    '/api/devices',
    {
      schema: doc(tag, 'List the devices, with their live status', {
        query: {
          ...listQueryDoc(DEVICE_FIELDS),
          deviceGroup:
            'Only the devices this device group selects now (our extension; 404 ERR_DEVICE_GROUP_NOT_FOUND).',
        },
        responses: { 200: DEVICE_PAGE },
      }),
    },
    async (request) => {
      // Filtered, sorted and paged in the database (hub/device-list.ts): a fleet of 100,000
      // answers its first page from an index.
      const options = listOptions(request, DEVICE_FIELDS);
      const group = queryText(request.query as Record<string, unknown>, 'deviceGroup');
      const ids = group === undefined ? undefined : await deps.deviceGroups.deviceIds(group);
      const page = await hub.listDevices({ ...options, ...(ids !== undefined ? { ids } : {}) });
      return {
        value: [...page],
        ...(page.nextToken !== undefined
          ? { nextLink: nextLink(request, deps.application, page.nextToken) }
          : {}),
      };
    },
  );
  app.get<DeviceParams>(
    '/api/devices/:id',
    { schema: doc(tag, 'Get a device', { ...device, responses: { 200: DEVICE } }) },
    async (request) => hub.getDevice(request.params.id),
  );
  app.put<DeviceParams>(
    '/api/devices/:id',
    {
      schema: doc(tag, 'Create or replace a device', {
        ...device,
        description:
          'Body `{ displayName?, template?, enabled?, simulated?, etag? }`; omitted fields take their defaults. Answers 200 (never 201); a new device has `provisioned: false`. Disabling a device closes its connection.',
        responses: { 200: DEVICE },
      }),
    },
    async (request) => hub.putDevice(request.params.id, request.body),
  );
  app.patch<DeviceParams>(
    '/api/devices/:id',
    {
      schema: doc(tag, 'Update a device (merge patch: displayName, template, enabled, simulated, etag)', {
        ...device,
        description:
          'Takes `application/json` or `application/merge-patch+json`. Disabling a device closes its connection.',
        responses: { 200: DEVICE },
      }),
    },
    async (request) => hub.patchDevice(request.params.id, request.body),
  );
  app.delete<DeviceParams>(
    '/api/devices/:id',
    {
      schema: doc(tag, 'Delete a device with its twin, telemetry, commands and queued messages', {
        ...device,
        responses: { 204: null },
      }),
    },
    async (request, reply) => {
      await hub.deleteDevice(request.params.id);
      return reply.code(204).send();
    },
  );
  app.get<DeviceParams>(
    '/api/devices/:id/attestation',
    {
      schema: doc(tag, "Get the device's individual enrollment", {
        ...device,
        responses: { 200: ATTESTATION },
      }),
    },
    async (request) => individual.get(request.params.id),
  );
  app.put<DeviceParams>(
    '/api/devices/:id/attestation',
    {
      schema: doc(tag, 'Create or replace the individual enrollment (creates the device if needed)', {
        ...device,
        description:
          "Body `{ type: 'x509', x509: { clientCertificates: { primary: { certificate }, secondary?: { certificate } } } }`; the primary certificate's CN must be the device ID.",
        responses: { 200: ATTESTATION },
      }),
    },
    async (request) => individual.put(request.params.id, request.body),
  );
  app.delete<DeviceParams>(
    '/api/devices/:id/attestation',
    {
      schema: doc(tag, 'Remove the individual enrollment (the device falls back to the groups)', {
        ...device,
        responses: { 204: null },
      }),
    },
    async (request, reply) => {
      await individual.delete(request.params.id);
      return reply.code(204).send();
    },
  );
  app.get<DeviceParams>(
    '/api/devices/:id/credentials',
    {
      schema: doc(tag, 'Get the ID scope and the credentials of a device', {
        ...device,
        responses: { 200: DEVICE_CREDENTIALS },
      }),
    },
    async (request) => individual.credentials(request.params.id),
  );
}
