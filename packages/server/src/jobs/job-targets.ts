/**
 * What the job runner does to one device, behind a small interface: the runner never touches
 * the hub's internals, so a cluster-wide implementation (commands routed to the node that holds
 * the device's connection) can replace {@link LocalJobTargets} without changing the runner.
 */
import type { CloudPropertyStore } from '../app/cloud-properties.js';
import type { HubService } from '../hub/hub-service.js';

/** The outcome of a command as the runner records it. */
export interface CommandOutcome {
  /** The device's response status (2xx: the job counts the device as completed). */
  responseCode: number;
}

export interface JobTargets {
  /** A checked desired-property PATCH; resolves with the desired `$version` the device must acknowledge. */
  writeProperties(
    deviceId: string,
    component: string | undefined,
    values: Record<string, unknown>,
  ): Promise<number>;
  /** A cloud property value (kept by the application; never sent to the device). */
  writeCloudProperty(
    deviceId: string,
    component: string | undefined,
    name: string,
    value: unknown,
  ): Promise<void>;
  /**
   * Runs a direct method (`component*name` for a component command). Rejects with the hub's
   * ERR_DEVICE_OFFLINE (404) or ERR_COMMAND_TIMEOUT (504) GatehouseError.
   */
  runCommand(
    deviceId: string,
    method: string,
    body: { request?: unknown; connectionTimeout?: number; responseTimeout?: number },
  ): Promise<CommandOutcome>;
  /** The device's reported properties (writable-property acks are read from them). */
  reported(deviceId: string): Promise<Record<string, unknown>>;
  /** Calls `listener` whenever a device reports properties; returns the unsubscribe function. */
  onReported(listener: (deviceId: string) => void): () => void;
  /** The device's template: null without one, undefined when the device no longer exists. */
  deviceTemplate(deviceId: string): Promise<string | null | undefined>;
}

/** The targets of a single-process Gatehouse: the hub service and the cloud-property table. */
export class LocalJobTargets implements JobTargets {
  constructor(
    private readonly hub: HubService,
    private readonly cloud: CloudPropertyStore,
  ) {}

  writeProperties(
    deviceId: string,
    component: string | undefined,
    values: Record<string, unknown>,
  ): Promise<number> {
    return this.hub.writeProperties(deviceId, values, component);
  }

  writeCloudProperty(
    deviceId: string,
    component: string | undefined,
    name: string,
    value: unknown,
  ): Promise<void> {
    return this.cloud.set(deviceId, component, name, value);
  }

  async runCommand(
    deviceId: string,
    method: string,
    body: { request?: unknown; connectionTimeout?: number; responseTimeout?: number },
  ): Promise<CommandOutcome> {
    const command = await this.hub.runCommand(deviceId, method, body);
    return { responseCode: command.responseCode ?? 200 };
  }

  async reported(deviceId: string): Promise<Record<string, unknown>> {
    return (await this.hub.twins.read(deviceId)).reported;
  }

  onReported(listener: (deviceId: string) => void): () => void {
    return this.hub.events.subscribe((event) => {
      if (event.type === 'reportedProperties') listener(event.deviceId);
    });
  }

  async deviceTemplate(deviceId: string): Promise<string | null | undefined> {
    try {
      return (await this.hub.devices.row(deviceId)).template;
    } catch {
      return undefined;
    }
  }
}
