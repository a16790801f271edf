/**
 * Graceful drain (SIGTERM): the node leaves the cluster without a reconnect storm. It fails
 * `/readyz` (503 `draining`) so the load balancer stops choosing it, stops accepting new
 * connections, then disconnects its devices at a bounded rate, like EMQX's node evacuation
 * `conn-evict-rate` (CLUSTER.md §1, §6.5): each disconnected device reconnects through the
 * balancer to another node, and the healthy nodes see at most `ratePerSecond` new TLS
 * handshakes per second from this one.
 */
import type { Logger } from 'pino';

import type { Readiness } from './readiness.js';

/** What the drain needs of a connected device. */
export interface DrainableDevice {
  close(reason: string): void;
}

export interface DrainOptions {
  readiness: Readiness;
  /** Stops the listeners from accepting; live connections stay. */
  stopAccepting: () => void;
  /** The devices still connected (re-read every tick). */
  devices: () => Iterable<DrainableDevice>;
  /** Disconnections per second, ≥ 1. */
  ratePerSecond: number;
  logger: Logger;
  /** Granularity of the rate; default 100 ms. */
  tickMs?: number;
}

export interface DrainResult {
  disconnected: number;
  ms: number;
}

/** Default `--drain-rate`: disconnections per second. */
export const DEFAULT_DRAIN_RATE = 500;

/**
 * Runs the drain; resolves once every device has been told to go.
 *
 * @example
 * await drainDevices({ readiness, stopAccepting, devices: () => hub.registry.all(), ratePerSecond: 500, logger });
 */
export async function drainDevices(options: DrainOptions): Promise<DrainResult> {
  const started = Date.now();
  const tickMs = options.tickMs ?? 100;
  const rate = Math.max(1, options.ratePerSecond);
  options.readiness.setDraining();
  options.stopAccepting();
  // A closed device leaves the registry when its socket has closed, a moment later.
  const told = new WeakSet<DrainableDevice>();
  let disconnected = 0;
  let credit = 0;
  const remaining = () => [...options.devices()].filter((d) => !told.has(d));
  options.logger.info(
    { devices: remaining().length, ratePerSecond: rate },
    'draining: disconnecting devices',
  );
  for (;;) {
    const left = remaining();
    if (left.length === 0) break;
    // Whole devices per tick; a fractional budget (rate < 10/s) carries over.
    credit = Math.min(credit + (rate * tickMs) / 1000, Math.max(1, (rate * tickMs) / 1000));
    const batch = left.slice(0, Math.floor(credit));
    credit -= batch.length;
    for (const device of batch) {
      told.add(device);
      device.close('server draining');
      disconnected++;
    }
    if (remaining().length === 0) break;
    await new Promise((resolve) => setTimeout(resolve, tickMs));
  }
  const result = { disconnected, ms: Date.now() - started };
  options.logger.info(result, 'draining: devices disconnected');
  return result;
}
