import { errorFactory, type ErrorSpec } from '../errors.js';

/** Error codes of jobs and scheduled jobs (EXPORT_RULES.md §5.2, §5.3). */
export const JOB_ERRORS = {
  ERR_JOB_NOT_FOUND: { status: 404, summary: 'No job has this ID (jobs are kept 30 days after they end).' },
  ERR_JOB_INVALID: {
    status: 400,
    summary:
      "The job body fails validation; the message starts with the field: `group` (no such device group), `data[0].path` (not a property or command of the template `data[0].target`, or not writable), `data[0].value` (of the wrong type for the template's schema), `batch`, `cancellationThreshold`, `displayName`.",
    fix: 'Check the field named: the group ID (`GET /api/deviceGroups`), the template (`GET /api/deviceTemplates/{target}` → `summary`), the value against the schema.',
  },
  ERR_JOB_EXISTS: {
    status: 409,
    summary:
      'A job with this ID exists already: a job cannot be replaced (IoT Central has no job DELETE either).',
    fix: 'Use a new job ID; to run the same job again on its failed devices, PUT /api/jobs/{id}/rerun/{rerunId}.',
  },
  ERR_JOB_LIMIT: {
    status: 409,
    summary: 'Five jobs are already pending or running (the IoT Central limit of 5 concurrent jobs).',
    fix: 'Wait for one to end, or stop one (POST /api/jobs/{id}/stop).',
  },
  ERR_JOB_STATE: {
    status: 409,
    summary:
      'The job is not in a state that allows this: stop needs a pending or running job, resume a stopped one, rerun an ended job with failed devices.',
    fix: 'Read the job (`GET /api/jobs/{id}`) and its devices for its status.',
  },
  ERR_SCHEDULED_JOB_NOT_FOUND: { status: 404, summary: 'No scheduled job has this ID.' },
  ERR_SCHEDULED_JOB_INVALID: {
    status: 400,
    summary:
      'The scheduled job body fails validation; the message names the field (`schedule.start`, `schedule.recurrence`, `schedule.end`, and the job fields).',
    fix: 'Send `schedule: { start: <date-time>, recurrence?: "daily"|"weekly"|"monthly", end?: { type: "date", date } | { type: "occurrences", occurrences: 1–999 } }`.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type JobErrorCode = keyof typeof JOB_ERRORS;
export const jobError = errorFactory(JOB_ERRORS);
