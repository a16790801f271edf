/**
 * What this node does, as the holder of a device's connection, for requests routed from other
 * nodes (device-requests.ts, CLUSTER.md §6.3): run a direct method, deliver queued
 * cloud-to-device messages, push a desired-property patch, close the connection. The same
 * services run these as for a request made on this node.
 */
import { desiredPatchTopic } from '@gatehouse/protocol';

import type { CloudToDevice } from './cloud-to-device.js';
import type { ConnectionRegistry } from './connection-registry.js';
import type { DeviceOwner, DeviceRequests, KickOutcome, MethodOutcome } from './device-requests.js';
import type { DirectMethods } from './direct-methods.js';

export interface HubDeviceOwnerServices {
  registry: ConnectionRegistry;
  methods: DirectMethods;
  c2d: CloudToDevice;
}

export class HubDeviceOwner implements DeviceOwner {
  /** `services` is read per request: the hub builds them after the router that calls this. */
  constructor(private readonly services: () => HubDeviceOwnerServices) {}

  method(deviceId: string, request: DeviceRequests['method']['request']): Promise<MethodOutcome> {
    const { name, payload, connectWaitMs, responseTimeoutMs } = request;
    return this.services().methods.callHere(deviceId, name, payload, connectWaitMs, responseTimeoutMs);
  }

  c2dWake(deviceId: string): Promise<{ delivered: boolean }> {
    const { registry, c2d } = this.services();
    c2d.deliver(deviceId);
    return Promise.resolve({ delivered: registry.isConnected(deviceId) });
  }

  async desired(deviceId: string, request: DeviceRequests['desired']['request']): Promise<{ sent: boolean }> {
    // As for a local write (desired-properties.ts): QoS 0, even without the subscription (§3.9).
    const live = this.services().registry.get(deviceId);
    if (!live) return { sent: false };
    try {
      await live.publish(desiredPatchTopic(request.version), request.body, 0);
      return { sent: true };
    } catch {
      return { sent: false };
    }
  }

  kick(deviceId: string, request: DeviceRequests['kick']['request']): Promise<KickOutcome> {
    const { registry } = this.services();
    const live = registry.get(deviceId);
    if (!live) return Promise.resolve({ outcome: 'gone' });
    // Fencing (CLUSTER.md §6.2): a kick closes the connections older than the epoch it
    // carries; the connection that sent it (the same epoch) and newer ones stay.
    if (live.epoch !== undefined && live.epoch >= request.epoch) return Promise.resolve({ outcome: 'newer' });
    registry.disconnect(deviceId, request.reason);
    return Promise.resolve({ outcome: 'closed' });
  }
}
