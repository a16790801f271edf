/**
 * Device groups and jobs as the REST API answers them (EXPORT_RULES.md §5): the server's own
 * types, plus the per-device row of `GET /api/jobs/{id}/devices` and the helpers the pages share.
 */
import type { Job, JobStatus } from '@gatehouse/server/rest-types';

export type { DeviceGroup, Job, JobData, JobDeviceStatus, JobStatus } from '@gatehouse/server/rest-types';

export interface JobDevice {
  id: string;
  status: 'pending' | 'completed' | 'failed';
  /** Why the device failed (our extension). */
  message?: string;
}

export const groupPath = (id: string): string => `/api/deviceGroups/${encodeURIComponent(id)}`;
export const jobPath = (id: string): string => `/api/jobs/${encodeURIComponent(id)}`;

/** Whether the job may still change by itself (the pages poll while it does). */
export function isActive(job: Pick<Job, 'status'>): boolean {
  return job.status === 'pending' || job.status === 'running';
}

/** The badge of a job status (IoT Central's UI says Completed and Canceled). */
export function jobTone(status: JobStatus): {
  tone: 'ok' | 'warn' | 'bad' | 'info' | 'muted';
  label: string;
} {
  switch (status) {
    case 'complete':
      return { tone: 'ok', label: 'Completed' };
    case 'running':
      return { tone: 'info', label: 'Running' };
    case 'pending':
      return { tone: 'info', label: 'Pending' };
    case 'stopped':
      return { tone: 'warn', label: 'Stopped' };
    case 'cancelled':
      return { tone: 'bad', label: 'Canceled' };
    default:
      return { tone: 'bad', label: 'Failed' };
  }
}

/** An ID from a display name: what IoT Central's UI does when it creates a group or a job. */
export function idFrom(name: string): string {
  const base = name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return `${base || 'item'}-${Math.random().toString(36).slice(2, 8)}`;
}
