/**
 * One live connection per device (PROTOCOL.md §3.7: "only one connection per device id, a new
 * one kicks the old one"). The registry is the hub's answer to "is this device connected, and
 * on which connection": direct methods, twin notifications and C2D delivery look devices up
 * here; disabling or deleting a device closes its connection through it.
 */

/** What the registry needs of a live device connection (hub-session.ts implements it). */
export interface LiveDevice {
  readonly deviceId: string;
  readonly connectedAt: Date;
  readonly lastActivity: Date;
  /** Whether the device's current session holds this exact subscription filter. */
  isSubscribed(filter: string): boolean;
  /** Publishes to the device; QoS 1 resolves on PUBACK, rejects if the connection closes. */
  publish(topic: string, payload: Buffer | string, qos: 0 | 1): Promise<void>;
  /** Closes the connection; `reason` is logged. */
  close(reason: string): void;
  /**
   * The session's fencing token (CLUSTER.md §6.2), when the store hands one out: a kick from
   * another node carrying a lower epoch is older than this connection and leaves it open.
   */
  readonly epoch?: number;
}

/**
 * Told when this node starts or stops holding a device's connection (the device router
 * subscribes the device's bus channel meanwhile, so other nodes reach the device).
 */
export interface OwnershipListener {
  /** Resolves once other nodes can reach the device here. */
  owned(deviceId: string): Promise<void>;
  released(deviceId: string): void;
}

type Waiter = { ready: (live: LiveDevice) => boolean; resolve: (live: LiveDevice | undefined) => void };

export class ConnectionRegistry<T extends LiveDevice = LiveDevice> {
  private readonly live = new Map<string, T>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly announced = new Map<string, Promise<void>>();

  constructor(private readonly ownership?: OwnershipListener) {}

  /** Registers `device` as its device's connection; returns (after closing it) the one it replaces. */
  add(device: T): T | undefined {
    const previous = this.live.get(device.deviceId);
    this.live.set(device.deviceId, device);
    if (previous && previous !== device) previous.close('replaced by a new connection of the same device');
    else if (!previous && this.ownership) {
      this.announced.set(device.deviceId, this.ownership.owned(device.deviceId));
    }
    this.changed(device.deviceId);
    return previous;
  }

  /**
   * Resolves once other nodes can reach the device's connection here (its bus channel is
   * subscribed); at once without a cluster. CONNACK waits for it (CLUSTER.md §6.2 step 3).
   */
  reachable(deviceId: string): Promise<void> {
    return this.announced.get(deviceId) ?? Promise.resolve();
  }

  /** Forgets `device` if it is still the current connection of its device; true if it was. */
  remove(device: T): boolean {
    if (this.live.get(device.deviceId) !== device) return false;
    this.live.delete(device.deviceId);
    this.release(device.deviceId);
    return true;
  }

  private release(deviceId: string): void {
    if (!this.ownership) return;
    this.announced.delete(deviceId);
    this.ownership.released(deviceId);
  }

  get(deviceId: string): T | undefined {
    return this.live.get(deviceId);
  }

  isConnected(deviceId: string): boolean {
    return this.live.has(deviceId);
  }

  get size(): number {
    return this.live.size;
  }

  all(): IterableIterator<T> {
    return this.live.values();
  }

  /** Closes the device's live connection (disabled or deleted device); true if there was one. */
  disconnect(deviceId: string, reason: string): boolean {
    const device = this.live.get(deviceId);
    if (!device) return false;
    this.live.delete(deviceId);
    this.release(deviceId);
    device.close(reason);
    return true;
  }

  /**
   * Resolves with the device's connection once `ready` holds for it (now, or when it connects
   * or its session changes within `timeoutMs`), else `undefined`.
   */
  waitFor(deviceId: string, timeoutMs: number, ready: (live: T) => boolean): Promise<T | undefined> {
    const current = this.live.get(deviceId);
    if (current && ready(current)) return Promise.resolve(current);
    if (timeoutMs <= 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      let set = this.waiters.get(deviceId);
      if (!set) {
        set = new Set();
        this.waiters.set(deviceId, set);
      }
      const waiter: Waiter = {
        ready: ready as (live: LiveDevice) => boolean,
        resolve: (live) => {
          clearTimeout(timer);
          set.delete(waiter);
          if (set.size === 0) this.waiters.delete(deviceId);
          resolve(live as T | undefined);
        },
      };
      const timer = setTimeout(() => waiter.resolve(undefined), timeoutMs);
      timer.unref();
      set.add(waiter);
    });
  }

  /** Tells waiters that the device's connection or its subscriptions changed. */
  changed(deviceId: string): void {
    const set = this.waiters.get(deviceId);
    const current = this.live.get(deviceId);
    if (!set || !current) return;
    for (const waiter of [...set]) if (waiter.ready(current)) waiter.resolve(current);
  }

  /** Closes every connection (server shutdown). */
  closeAll(reason: string): void {
    const all = [...this.live.values()];
    this.live.clear();
    for (const device of all) {
      this.release(device.deviceId);
      device.close(reason);
    }
  }
}
