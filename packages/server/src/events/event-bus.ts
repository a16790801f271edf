/**
 * The in-process event bus (DESIGN.md `events/`): the hub publishes telemetry, connection and
 * twin changes; live views (server-sent events, dashboards) subscribe, to the whole application
 * or to one device. A listener that throws is logged and does not stop the others. In a
 * cluster the same interface rides on Redis.
 */
import type { Logger } from 'pino';

import type { HubEvent } from '../hub/hub-api.js';

export type HubEventListener = (event: HubEvent) => void;

export class EventBus {
  private readonly all = new Set<HubEventListener>();
  private readonly perDevice = new Map<string, Set<HubEventListener>>();

  constructor(private readonly logger?: Logger) {}

  /** Listens to every event, or only `deviceId`'s; returns the unsubscribe function. */
  subscribe(listener: HubEventListener, deviceId?: string): () => void {
    if (deviceId === undefined) {
      this.all.add(listener);
      return () => void this.all.delete(listener);
    }
    let set = this.perDevice.get(deviceId);
    if (!set) {
      set = new Set();
      this.perDevice.set(deviceId, set);
    }
    set.add(listener);
    return () => {
      const current = this.perDevice.get(deviceId);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.perDevice.delete(deviceId);
    };
  }

  /** Number of listeners, for tests and metrics. */
  get listenerCount(): number {
    let n = this.all.size;
    for (const set of this.perDevice.values()) n += set.size;
    return n;
  }

  /** True when someone would receive an event of `deviceId` (lets publishers skip work). */
  hasListeners(deviceId: string): boolean {
    return this.all.size > 0 || this.perDevice.has(deviceId);
  }

  emit(event: HubEvent): void {
    for (const listener of this.all) this.call(listener, event);
    const set = this.perDevice.get(event.deviceId);
    if (set) for (const listener of set) this.call(listener, event);
  }

  private call(listener: HubEventListener, event: HubEvent): void {
    try {
      listener(event);
    } catch (err) {
      this.logger?.error({ err, type: event.type }, 'event listener failed');
    }
  }
}
