/** Response schemas of the scheduled job operations (jobs/scheduled-jobs.ts `ScheduledJob`). */
import { arr, bool, dateTime, int, obj, page, str, strEnum } from './common.js';
import { JOB, JOB_BATCH, JOB_CANCELLATION_THRESHOLD, JOB_DATA } from './jobs.js';

/** `schedule` (`JobSchedule`): `start` is written back as an ISO time; no `recurrence`: run once. */
export const JOB_SCHEDULE = obj(
  { start: dateTime },
  {
    recurrence: strEnum('daily', 'weekly', 'monthly'),
    end: {
      oneOf: [
        obj({ type: strEnum('date'), date: { type: 'string', format: 'date' } }),
        obj({ type: strEnum('occurrences'), occurrences: int }),
      ],
    },
  },
);

/** A scheduled job; `nextRun` (our extension) is absent when no run is left. */
export const SCHEDULED_JOB = obj(
  {
    id: str,
    etag: str,
    group: str,
    data: arr(JOB_DATA),
    schedule: JOB_SCHEDULE,
    enabled: bool,
    completed: bool,
  },
  {
    displayName: str,
    description: str,
    batch: JOB_BATCH,
    cancellationThreshold: JOB_CANCELLATION_THRESHOLD,
    nextRun: dateTime,
  },
);

/** Every scheduled job in one answer (no `nextLink`). */
export const SCHEDULED_JOB_PAGE = page(SCHEDULED_JOB);

/** The runs of a scheduled job: jobs with its `scheduledJobId`, in one answer. */
export const SCHEDULED_JOB_RUNS = page(JOB);
