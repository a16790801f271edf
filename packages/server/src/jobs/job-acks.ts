/**
 * The small pure pieces of the job runner (job-runner.ts): a property job's acknowledgement
 * outcome per device, the job ID check and how a device's failure reads.
 */
import { GatehouseError } from '../errors.js';
import { isPlainObject } from '../hub/message-body.js';
import { readAck } from '../hub/properties.js';
import { commonError } from '../validation.js';
import { JOB_ID, splitPath, type JobData, type JobDeviceStatus } from './job-body.js';

export function checkJobId(id: string, what = 'jobId'): void {
  if (!JOB_ID.test(id)) {
    throw commonError(
      'ERR_INVALID_ID',
      `${what} '${id.slice(0, 64)}' is invalid: use letters, digits, - and _, 1–255 characters.`,
    );
  }
}

/** A device's failure as the job shows it: the error's code and message, or a generic line. */
export function failureText(err: unknown): string {
  if (err instanceof GatehouseError) return `${err.code}: ${err.message}`;
  return 'ERR_INTERNAL: the operation failed unexpectedly (see the server log).';
}

/** Whether the reported properties acknowledge every value of a property job at `version` or later. */
export function ackOutcome(
  reported: Record<string, unknown>,
  data: JobData[],
  version: number,
): { status: JobDeviceStatus; message?: string } {
  for (const d of data) {
    if (d.value === null) continue;
    const { component, name } = splitPath(d.path);
    const holder = component === undefined ? reported : reported[component];
    const ack = isPlainObject(holder) && Object.hasOwn(holder, name) ? readAck(holder[name]) : undefined;
    if (!ack || ack.ackVersion === undefined || ack.ackVersion < version) return { status: 'pending' };
    const code = ack.ackCode ?? 200;
    if (code >= 201 && code <= 203) return { status: 'pending' };
    if (code < 200 || code > 299) {
      return {
        status: 'failed',
        message: `The device refused '${d.path}' (ac ${code}${ack.ackDescription !== undefined ? `: ${ack.ackDescription.slice(0, 200)}` : ''}).`,
      };
    }
  }
  return { status: 'completed' };
}
