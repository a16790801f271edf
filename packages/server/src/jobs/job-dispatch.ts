/**
 * The per-device work of a job (job-runner.ts): runs the command, stores the cloud properties
 * or writes the desired patch on one device through {@link JobTargets}, and records the
 * device's outcome in the store.
 */
import type { Logger } from 'pino';

import { GatehouseError } from '../errors.js';
import { failureText } from './job-acks.js';
import { splitPath, type JobData } from './job-body.js';
import type { JobDeviceRow, JobStore } from './job-store.js';
import type { JobTargets } from './job-targets.js';

/** What the per-device work needs from its job service. */
export interface DispatchContext {
  store: JobStore;
  targets: JobTargets;
  logger: Logger;
  now: () => Date;
  /** Reads the device's acknowledgements (it may have acknowledged already). */
  checkAcks: (deviceId: string) => Promise<void>;
}

export async function dispatchDevice(
  ctx: DispatchContext,
  id: string,
  data: JobData[],
  device: JobDeviceRow,
): Promise<void> {
  const time = () => ctx.now().toISOString();
  try {
    const kind = data[0]!.type;
    if (kind === 'command') {
      for (const d of data) {
        const { component, name } = splitPath(d.path);
        const outcome = await ctx.targets.runCommand(
          device.deviceId,
          component ? `${component}*${name}` : name,
          {
            ...(d.value !== undefined ? { request: d.value } : {}),
            ...(d.connectionTimeout !== undefined ? { connectionTimeout: d.connectionTimeout } : {}),
            ...(d.responseTimeout !== undefined ? { responseTimeout: d.responseTimeout } : {}),
          },
        );
        if (outcome.responseCode < 200 || outcome.responseCode > 299) {
          await ctx.store.updateDevice(
            id,
            device.deviceId,
            {
              status: 'failed',
              dispatched: true,
              message: `The device answered '${d.path}' with status ${outcome.responseCode}.`,
            },
            time(),
          );
          return;
        }
      }
      await ctx.store.updateDevice(
        id,
        device.deviceId,
        { status: 'completed', dispatched: true, message: null },
        time(),
      );
    } else if (kind === 'cloudProperty') {
      for (const d of data) {
        const { component, name } = splitPath(d.path);
        await ctx.targets.writeCloudProperty(device.deviceId, component, name, d.value);
      }
      await ctx.store.updateDevice(
        id,
        device.deviceId,
        { status: 'completed', dispatched: true, message: null },
        time(),
      );
    } else {
      // One desired patch per component; the device must acknowledge from the first version on.
      const byComponent = new Map<string | undefined, Record<string, unknown>>();
      for (const d of data) {
        const { component, name } = splitPath(d.path);
        const values = byComponent.get(component) ?? {};
        values[name] = d.value;
        byComponent.set(component, values);
      }
      let version: number | undefined;
      for (const [component, values] of byComponent) {
        const v = await ctx.targets.writeProperties(device.deviceId, component, values);
        version = version === undefined ? v : Math.min(version, v);
      }
      // Removing a value (null) asks for no acknowledgement.
      const waits = data.some((d) => d.value !== null);
      await ctx.store.updateDevice(
        id,
        device.deviceId,
        waits
          ? { status: 'pending', dispatched: true, desiredVersion: version ?? null, message: null }
          : { status: 'completed', dispatched: true, message: null },
        time(),
      );
      // The device may have acknowledged already (it was connected and quick).
      if (waits) await ctx.checkAcks(device.deviceId);
    }
  } catch (err) {
    if (!(err instanceof GatehouseError))
      ctx.logger.error({ err, jobId: id, deviceId: device.deviceId }, 'job device failed');
    await ctx.store.updateDevice(
      id,
      device.deviceId,
      { status: 'failed', dispatched: true, message: failureText(err) },
      time(),
    );
  }
}
