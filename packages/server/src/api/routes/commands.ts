import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { checkComponent, OPERATOR_ACTION } from './params.js';
import { COMMAND_NAME, COMPONENT, DEVICE_ID, doc } from './schema.js';
import { COMPLETED_COMMAND, DEVICE_COMMAND_PAGE } from '../responses/commands.js';

type CommandParams = { Params: { id: string; name: string; component?: string } };

const RUN_DESCRIPTION =
  'Body `{ request?, connectionTimeout? (0–30 s, default 0), responseTimeout? (5–30 s, default 30) }`. Answers 201 with the DeviceCommand (`response`, `responseCode`). A device not connected within `connectionTimeout` answers 404 ERR_DEVICE_OFFLINE, no answer within `responseTimeout` 504 ERR_COMMAND_TIMEOUT; both keep the attempt in the history and send it in the error body as `error.details.command`.';

/**
 * Commands (direct methods, CENTRAL_API.md §1.2 Commands): run one and wait for the device's
 * answer (201), or list the history of a command name. A component command reaches the
 * device under the method name `{component}*{command}`.
 */
export function commandRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'hub'>): void {
  const { hub } = deps;
  const tag = 'Commands';
  const methodName = (p: CommandParams['Params']) =>
    p.component === undefined ? p.name : `${checkComponent(p.component)}*${p.name}`;

  const variants: Array<{ url: string; params: Record<string, string>; of: string }> = [
    { url: '/api/devices/:id/commands/:name', params: { id: DEVICE_ID, name: COMMAND_NAME }, of: '' },
    {
      url: '/api/devices/:id/components/:component/commands/:name',
      params: { id: DEVICE_ID, component: COMPONENT, name: COMMAND_NAME },
      of: ' of a component (method name `{component}*{name}`)',
    },
  ];
  for (const { url, params, of } of variants) {
    app.post<CommandParams>(
      url,
      {
        config: OPERATOR_ACTION,
        schema: doc(tag, `Run a command${of} and wait for the answer; 201`, {
          params,
          description: RUN_DESCRIPTION,
          responses: { 201: COMPLETED_COMMAND },
        }),
      },
      async (request, reply) =>
        reply
          .code(201)
          .send(await hub.runCommand(request.params.id, methodName(request.params), request.body)),
    );
    app.get<CommandParams>(
      url,
      {
        schema: doc(tag, `List the last 100 runs of a command${of}, newest first`, {
          params,
          responses: { 200: DEVICE_COMMAND_PAGE },
        }),
      },
      async (request) => ({
        value: await hub.listCommands(request.params.id, methodName(request.params)),
      }),
    );
  }
}
