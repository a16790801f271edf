import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { OPERATOR_ACTION } from './params.js';
import { DEVICE_ID, doc } from './schema.js';
import { CLOUD_TO_DEVICE_MESSAGE_PAGE, QUEUED_MESSAGE } from '../responses/messages.js';

type DeviceParams = { Params: { id: string } };

/**
 * `/api/devices/{id}/messages` (Gatehouse extension; IoT Central has no REST call for it):
 * cloud-to-device messages, queued (at most 50 per device) until the device receives them.
 */
export function messageRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'hub'>): void {
  const { hub } = deps;
  const tag = 'Cloud-to-device messages';
  const device = { params: { id: DEVICE_ID } };
  const url = '/api/devices/:id/messages';

  app.post<DeviceParams>(
    url,
    {
      config: OPERATOR_ACTION,
      schema: doc(tag, 'Queue a cloud-to-device message (Gatehouse extension); 201', {
        ...device,
        description:
          'Body `{ body: text | JSON, properties?: { name: "string" }, ttl? (1–172800 s, default 3600), messageId?, correlationId? }`. Delivered in order over MQTT when the device is connected with the devicebound subscription. A device with 50 undelivered messages answers 403 ERR_C2D_QUEUE_FULL.',
        responses: { 201: QUEUED_MESSAGE },
      }),
    },
    async (request, reply) => reply.code(201).send(await hub.sendMessage(request.params.id, request.body)),
  );
  app.get<DeviceParams>(
    url,
    {
      schema: doc(tag, 'List the last 200 cloud-to-device messages, newest first, with their state', {
        ...device,
        responses: { 200: CLOUD_TO_DEVICE_MESSAGE_PAGE },
      }),
    },
    async (request) => ({ value: await hub.listMessages(request.params.id) }),
  );
}
