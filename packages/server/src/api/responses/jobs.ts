/** Response schemas of the job operations (jobs/job-body.ts `Job`; job-runner.ts `devices`). */
import { anyJson, arr, bool, dateTime, int, obj, page, str, strEnum } from './common.js';

/** `batch` (jobs/job-body.ts `JobBatch`). */
export const JOB_BATCH = obj({ type: strEnum('number', 'percentage'), value: int });

/** `cancellationThreshold` (`JobCancellationThreshold`): `batch` true counts per batch. */
export const JOB_CANCELLATION_THRESHOLD = obj({
  type: strEnum('number', 'percentage'),
  value: int,
  batch: bool,
});

/**
 * One entry of `data` (`JobData`): `value` is the property value or the command's request
 * (absent for a command sent without one); the timeouts are for commands only.
 */
export const JOB_DATA = obj(
  { type: strEnum('property', 'cloudProperty', 'command'), target: str, path: str },
  { value: anyJson, connectionTimeout: int, responseTimeout: int },
);

export const JOB_PROGRESS = obj({ total: int, pending: int, completed: int, failed: int });

/** A job with its progress; `start` and `end` appear once it has started or ended. */
export const JOB = obj(
  {
    id: str,
    group: str,
    data: arr(JOB_DATA),
    progress: JOB_PROGRESS,
    status: strEnum('pending', 'running', 'complete', 'failed', 'stopped', 'cancelled'),
  },
  {
    scheduledJobId: str,
    displayName: str,
    description: str,
    batch: JOB_BATCH,
    cancellationThreshold: JOB_CANCELLATION_THRESHOLD,
    start: dateTime,
    end: dateTime,
    rerunOf: str,
  },
);

/** The job list: every job of the last 30 days in one answer (no `nextLink`). */
export const JOB_PAGE = page(JOB);

/** One device of a job; `message` says why it failed or what it waits for. */
export const JOB_DEVICE = obj(
  { id: str, status: strEnum('pending', 'completed', 'failed') },
  { message: str },
);

export const JOB_DEVICE_PAGE = page(JOB_DEVICE);
