/**
 * Reconnect timing for the hub client: exponential back-off with jitter, the policy the Azure
 * SDK calls `ExponentialBackOffWithJitter` (PROTOCOL.md §3.8). Jitter spreads the reconnects
 * of a fleet that lost its server at the same moment.
 *
 * @example
 * ```ts
 * import type { BackoffOptions } from '@gatehouse/device';
 * const reconnect: BackoffOptions = { initialDelayMs: 500, maxDelayMs: 30_000 };
 * ```
 */
export interface BackoffOptions {
  /** Delay ceiling of the first retry; default 1 000 ms. */
  initialDelayMs?: number;
  /** Upper bound of any delay; default 60 000 ms. */
  maxDelayMs?: number;
  /** Growth per attempt; default 2. */
  factor?: number;
}

/** Defaults of {@link BackoffOptions}. */
const DEFAULTS = { initialDelayMs: 1000, maxDelayMs: 60_000, factor: 2 } as const;

/**
 * Delay before retry number `attempt` (0-based): the ceiling grows as
 * `initialDelayMs × factor^attempt` up to `maxDelayMs`, and the delay is drawn uniformly from
 * the upper half of it ("equal jitter"), so it never collapses to zero.
 *
 * @example
 * ```ts
 * import { backoffDelay } from '@gatehouse/device';
 * backoffDelay(0); // between 500 and 1000 ms
 * backoffDelay(3, { initialDelayMs: 100 }); // between 400 and 800 ms
 * ```
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random = Math.random): number {
  const initial = options.initialDelayMs ?? DEFAULTS.initialDelayMs;
  const max = options.maxDelayMs ?? DEFAULTS.maxDelayMs;
  const factor = options.factor ?? DEFAULTS.factor;
  const ceiling = Math.min(max, initial * Math.pow(factor, Math.max(0, attempt)));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
