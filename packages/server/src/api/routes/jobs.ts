import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { OPERATOR_ACTION } from './params.js';
import { doc, JOB_ID } from './schema.js';
import { JOB, JOB_DEVICE_PAGE, JOB_PAGE } from '../responses/jobs.js';

type JobParams = { Params: { id: string } };
type RerunParams = { Params: { id: string; rerunId: string } };

const CREATE_DOC =
  'Body `{ group, data: [{ type: "property" | "cloudProperty" | "command", target: <template ID>, path: "name" | "component.name", value }], displayName?, description?, batch?: { type: "number" | "percentage", value }, cancellationThreshold?: { type, value, batch: boolean } }`; command data may add `connectionTimeout` (0–30 s, default 0: an offline device fails) and `responseTimeout` (5–30 s). Creates and starts the job over the devices the group selects now; answers 200 with `status` pending or running. 400 ERR_JOB_INVALID names the bad field (`group`, `data[0].path`, `data[0].value`, …); 409 ERR_JOB_LIMIT when 5 jobs are pending or running; 409 ERR_JOB_EXISTS for a used ID.';

/**
 * `/api/jobs` (EXPORT_RULES.md §5.2): create and run, read with progress and per-device status,
 * stop, resume, rerun on the failed devices. Running jobs is what an Operator may do (`operate`,
 * like commands and property writes, which a job does in bulk); reading needs `read`.
 */
export function jobRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'jobs'>): void {
  const { jobs } = deps;
  const tag = 'Jobs';
  const job = { params: { id: JOB_ID } };

  app.get(
    '/api/jobs',
    { schema: doc(tag, 'List the jobs of the last 30 days, newest first', { responses: { 200: JOB_PAGE } }) },
    async () => ({
      value: await jobs.list(),
    }),
  );
  app.get<JobParams>(
    '/api/jobs/:id',
    { schema: doc(tag, 'Get a job with its progress', { ...job, responses: { 200: JOB } }) },
    async (request) => jobs.get(request.params.id),
  );
  app.put<JobParams>(
    '/api/jobs/:id',
    {
      config: OPERATOR_ACTION,
      schema: doc(tag, 'Create a job and run it at once; 200', {
        ...job,
        description: CREATE_DOC,
        responses: { 200: JOB },
      }),
    },
    async (request) => jobs.create(request.params.id, request.body),
  );
  app.get<JobParams>(
    '/api/jobs/:id/devices',
    {
      schema: doc(tag, "The job's devices and their status (completed, failed, pending)", {
        ...job,
        description:
          '`{ value: [{ id, status, message? }] }`; `message` (our extension) says why a device failed.',
        responses: { 200: JOB_DEVICE_PAGE },
      }),
    },
    async (request) => ({ value: await jobs.devices(request.params.id) }),
  );
  app.post<JobParams>(
    '/api/jobs/:id/stop',
    {
      config: OPERATOR_ACTION,
      schema: doc(tag, 'Stop a pending or running job; 204', { ...job, responses: { 204: null } }),
    },
    async (request, reply) => {
      await jobs.stop(request.params.id);
      return reply.code(204).send();
    },
  );
  app.post<JobParams>(
    '/api/jobs/:id/resume',
    {
      config: OPERATOR_ACTION,
      schema: doc(tag, 'Resume a stopped job where it stopped; 204', { ...job, responses: { 204: null } }),
    },
    async (request, reply) => {
      await jobs.resume(request.params.id);
      return reply.code(204).send();
    },
  );
  app.put<RerunParams>(
    '/api/jobs/:id/rerun/:rerunId',
    {
      config: OPERATOR_ACTION,
      schema: doc(tag, 'Rerun an ended job on its failed devices, as a new job with ID rerunId; 200', {
        params: { id: JOB_ID, rerunId: JOB_ID },
        responses: { 200: JOB },
      }),
    },
    async (request) => jobs.rerun(request.params.id, request.params.rerunId),
  );
}
