import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { DEVICE_ID, doc } from './schema.js';

type DeviceParams = { Params: { id: string } };

/** `/api/devices`: the device list, individual enrollments (`attestation`) and credentials (CENTRAL_API.md §3). */
export function deviceRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'devices' | 'individual'>): void {
  const { devices, individual } = deps;
  const tag = 'Devices';
  const device = { params: { id: DEVICE_ID } };

  app.get('/api/devices', { schema: doc(tag, 'List the devices') }, async () => ({
    value: await devices.list(),
  }));
  app.get<DeviceParams>('/api/devices/:id', { schema: doc(tag, 'Get a device', device) }, async (request) =>
    devices.get(request.params.id),
  );
  app.get<DeviceParams>(
    '/api/devices/:id/attestation',
    { schema: doc(tag, "Get the device's individual enrollment", device) },
    async (request) => individual.get(request.params.id),
  );
  app.put<DeviceParams>(
    '/api/devices/:id/attestation',
    {
      schema: doc(tag, 'Create or replace the individual enrollment (creates the device if needed)', {
        ...device,
        description:
          "Body `{ type: 'x509', x509: { clientCertificates: { primary: { certificate }, secondary?: { certificate } } } }`; the primary certificate's CN must be the device ID.",
      }),
    },
    async (request) => individual.put(request.params.id, request.body),
  );
  app.delete<DeviceParams>(
    '/api/devices/:id/attestation',
    { schema: doc(tag, 'Remove the individual enrollment (the device falls back to the groups)', device) },
    async (request, reply) => {
      await individual.delete(request.params.id);
      return reply.code(204).send();
    },
  );
  app.get<DeviceParams>(
    '/api/devices/:id/credentials',
    { schema: doc(tag, 'Get the ID scope and the credentials of a device', device) },
    async (request) => individual.credentials(request.params.id),
  );
}
