/**
 * Devices as the REST API manages them: list, read, create or update (a disabled device is
 * disconnected), delete (with all the hub keeps of the device) and twin tags; every change is
 * announced as `deviceChanged`.
 */
import type { Logger } from 'pino';

import type { EventBus } from '../events/event-bus.js';
import type { CloudToDevice } from './cloud-to-device.js';
import type { DeviceConnections } from './device-connections.js';
import type { DeviceListQuery } from './device-list-query.js';
import type { DeviceSessions } from './device-sessions.js';
import type { DeviceTags } from './device-tags.js';
import type { DeviceRegistry } from './devices.js';
import type { DirectMethods } from './direct-methods.js';
import type { Device, DevicePage } from './hub-api.js';
import type { SessionStore } from './sessions.js';
import type { TelemetryStore } from './telemetry-store.js';
import type { TwinService } from './twins.js';

export interface DeviceManagementOptions {
  devices: DeviceRegistry;
  tags: DeviceTags;
  connections: DeviceConnections;
  twins: TwinService;
  sessions: SessionStore;
  deviceSessions: DeviceSessions;
  c2d: CloudToDevice;
  methods: DirectMethods;
  telemetry: TelemetryStore;
  events: EventBus;
  logger: Logger;
  now: () => Date;
}

export class DeviceManagement {
  constructor(private readonly o: DeviceManagementOptions) {}

  list(query?: DeviceListQuery): Promise<DevicePage> {
    return query === undefined ? this.o.devices.list() : this.o.devices.page(query);
  }

  get(id: string): Promise<Device> {
    return this.o.devices.get(id);
  }

  async getTags(id: string): Promise<Record<string, unknown>> {
    await this.o.devices.row(id);
    return this.o.tags.get(id);
  }

  async putTags(id: string, body: unknown): Promise<Record<string, unknown>> {
    await this.o.devices.row(id);
    return this.o.tags.replace(id, body);
  }

  async patchTags(id: string, body: unknown): Promise<Record<string, unknown>> {
    await this.o.devices.row(id);
    return this.o.tags.patch(id, body);
  }

  async put(id: string, body: unknown): Promise<Device> {
    const { device, created } = await this.o.devices.put(id, body);
    this.afterDeviceChange(device, created ? 'created' : 'updated');
    return device;
  }

  async patch(id: string, body: unknown): Promise<Device> {
    const device = await this.o.devices.patch(id, body);
    this.afterDeviceChange(device, 'updated');
    return device;
  }

  async delete(id: string): Promise<void> {
    await this.o.devices.delete(id);
    this.o.connections.disconnectEverywhere(id, 'device deleted');
    await Promise.all([
      this.o.twins.delete(id),
      this.o.sessions.drop(id),
      this.o.deviceSessions.forget(id),
      this.o.tags.forget(id),
      this.o.c2d.deleteDevice(id),
      this.o.methods.deleteDevice(id),
      this.o.telemetry.deleteDevice(id),
    ]);
    this.o.events.emit({
      type: 'deviceChanged',
      deviceId: id,
      time: this.o.now().toISOString(),
      change: 'deleted',
    });
  }

  private afterDeviceChange(device: Device, change: 'created' | 'updated'): void {
    if (!device.enabled && this.o.connections.disconnectEverywhere(device.id, 'device disabled')) {
      this.o.logger.info({ deviceId: device.id }, 'disabled device disconnected');
    }
    this.o.events.emit({
      type: 'deviceChanged',
      deviceId: device.id,
      time: this.o.now().toISOString(),
      change,
    });
  }
}
