/**
 * The message bus between nodes (CLUSTER.md §4, §6.1): at-most-once publish/subscribe on named
 * channels, with Redis PUBLISH's answer (how many subscribers received the message). It carries
 * only what may be lost: wake-ups, direct-method RPC, kicks and live events; everything
 * acknowledged is in the store first. Two implementations: memory-bus.ts (one process, the
 * default) and redis-bus.ts (a cluster).
 */

import { hostname } from 'node:os';

/** Receives one message; `channel` is the channel it came on. Must not throw (it is logged). */
export type BusHandler = (message: Buffer, channel: string) => void;

/** Stops this handler; the channel is unsubscribed when its last handler leaves. */
export type Unsubscribe = () => Promise<void>;

/** `up`: publishes go out; `down`: they fail with ERR_BUS_UNAVAILABLE; `closed`: for good. */
export type BusState = 'up' | 'down' | 'closed';

export interface BusHealth {
  ok: boolean;
  state: BusState;
  /** One line for a readiness probe or a log. */
  detail: string;
}

export interface Bus {
  /** `memory` reaches this process only; `redis` reaches every node of the cluster. */
  readonly kind: 'memory' | 'redis';
  /**
   * Sends `message` to every current subscriber of `channel`; resolves with their number (0:
   * nobody listens — for a device channel, the device is connected nowhere). Rejects at once
   * with ERR_BUS_UNAVAILABLE while the bus is down, ERR_BUS_CLOSED after close().
   */
  publish(channel: string, message: string | Buffer): Promise<number>;
  /**
   * Adds `handler` to `channel`; resolves once the subscription is active, so a publish issued
   * after it reaches the handler. While the bus is down it resolves at once and the channel is
   * subscribed when the connection comes back (every channel is, after a reconnect).
   */
  subscribe(channel: string, handler: BusHandler): Promise<Unsubscribe>;
  /** Like subscribe, for every channel matching a Redis glob `pattern` (`*`, `?`, `[…]`). */
  psubscribe(pattern: string, handler: BusHandler): Promise<Unsubscribe>;
  /** Whether publishes go out now (cheap; no round trip). */
  isHealthy(): boolean;
  /** A round trip to the bus (Redis PING) within `timeoutMs`, for a readiness probe. */
  check(timeoutMs?: number): Promise<BusHealth>;
  /** Channels plus patterns this node listens to (tests, metrics). */
  readonly subscriptionCount: number;
  /** Called on every state change (the bus also logs them). */
  onStateChange(listener: (state: BusState) => void): () => void;
  /** Closes the connections; later publishes fail with ERR_BUS_CLOSED. */
  close(): Promise<void>;
}

/**
 * Channel names (CLUSTER.md §6.1). The braces are literal: a Redis Cluster hash tag, so a
 * device's channels share one slot (ready for sharded SSUBSCRIBE), and no device ID (letters,
 * digits and `- . _ :` only) can make a device channel equal `gh:ev:fleet`.
 */
export const channels = {
  /** Device-directed requests (method, C2D wake, desired push, kick): the owning node listens. */
  device: (deviceId: string) => `gh:dev:{${deviceId}}`,
  /** Replies and node-directed control. */
  node: (nodeId: string) => `gh:node:{${nodeId}}`,
  /** Live events of one device (SSE, dashboards). */
  deviceEvents: (deviceId: string) => `gh:ev:{${deviceId}}`,
  /** Every device's live events, as a pattern (see event-bus.ts for why not one fleet channel). */
  allDeviceEvents: 'gh:ev:{*}',
  /** Coarse fleet-wide events. */
  fleet: 'gh:ev:fleet',
  /** "Someone started watching device X (or `*`, every device)": emitters stop skipping it. */
  watch: 'gh:ev:watch',
} as const;

/** A node's default name on the bus: host name and process ID, unique among live processes. */
export function defaultNodeId(): string {
  return `${hostname()}-${process.pid}`;
}
