import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { OPERATOR_ACTION } from './params.js';
import { doc, SCHEDULED_JOB_ID } from './schema.js';
import { SCHEDULED_JOB, SCHEDULED_JOB_PAGE, SCHEDULED_JOB_RUNS } from '../responses/scheduled-jobs.js';

type Params = { Params: { id: string } };

const BODY_DOC =
  'Body: the fields of a job (`group`, `data`, `displayName`, `description`, `batch`, `cancellationThreshold`) plus `schedule: { start: <date-time>, recurrence?: "daily" | "weekly" | "monthly", end?: { type: "date", date: "YYYY-MM-DD" } | { type: "occurrences", occurrences: 1–999 } }` and `enabled` (default true). Each run is a job named "<displayName> - <n>" with `scheduledJobId`, over the devices the group selects at that time.';

/**
 * `/api/scheduledJobs` (EXPORT_RULES.md §5.3): jobs that run at a time, once or recurring. Like
 * jobs, writing them is what an Operator may do (`operate`); reading needs `read`.
 */
export function scheduledJobRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'scheduledJobs'>): void {
  const { scheduledJobs } = deps;
  const tag = 'Scheduled jobs';
  const one = { params: { id: SCHEDULED_JOB_ID } };

  app.get(
    '/api/scheduledJobs',
    { schema: doc(tag, 'List the scheduled jobs', { responses: { 200: SCHEDULED_JOB_PAGE } }) },
    async () => ({
      value: await scheduledJobs.list(),
    }),
  );
  app.get<Params>(
    '/api/scheduledJobs/:id',
    { schema: doc(tag, 'Get a scheduled job', { ...one, responses: { 200: SCHEDULED_JOB } }) },
    async (request) => scheduledJobs.get(request.params.id),
  );
  app.put<Params>(
    '/api/scheduledJobs/:id',
    {
      config: OPERATOR_ACTION,
      schema: doc(tag, 'Create or replace a scheduled job; 200', {
        ...one,
        description: BODY_DOC,
        responses: { 200: SCHEDULED_JOB },
      }),
    },
    async (request) => scheduledJobs.put(request.params.id, request.body),
  );
  app.patch<Params>(
    '/api/scheduledJobs/:id',
    {
      config: OPERATOR_ACTION,
      schema: doc(tag, 'Update a scheduled job (merge patch)', {
        ...one,
        description:
          'Takes `application/merge-patch+json` (plain `application/json` too). A changed schedule starts over.',
        responses: { 200: SCHEDULED_JOB },
      }),
    },
    async (request) => scheduledJobs.patch(request.params.id, request.body),
  );
  app.delete<Params>(
    '/api/scheduledJobs/:id',
    {
      config: OPERATOR_ACTION,
      schema: doc(tag, 'Delete a scheduled job (its past runs stay); 204', {
        ...one,
        responses: { 204: null },
      }),
    },
    async (request, reply) => {
      await scheduledJobs.delete(request.params.id);
      return reply.code(204).send();
    },
  );
  app.get<Params>(
    '/api/scheduledJobs/:id/jobs',
    {
      schema: doc(tag, 'The runs of a scheduled job (jobs with its scheduledJobId)', {
        ...one,
        responses: { 200: SCHEDULED_JOB_RUNS },
      }),
    },
    async (request) => ({ value: await scheduledJobs.runs(request.params.id) }),
  );
}
