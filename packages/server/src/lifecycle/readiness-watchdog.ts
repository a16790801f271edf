/**
 * Fail closed: a node whose readiness checks have failed continuously for `failAfterMs`
 * (default 10 s, CLUSTER.md §6.5) closes its device connections, so the devices reconnect
 * through the load balancer to a healthy node instead of staying on one that cannot store
 * their telemetry or route their commands. Like VerneMQ's netsplit default, the node stops
 * serving rather than serving wrongly. One close per failure episode: devices that come back
 * while it still fails are the balancer's to route elsewhere (it sees `/readyz` 503).
 */
import type { Logger } from 'pino';

import type { Readiness } from './readiness.js';

export interface ReadinessWatchdogOptions {
  readiness: Readiness;
  /** The composition root's hook: close every device session (MQTT, WSS, HTTPS). */
  closeDeviceSessions: (reason: string) => void | Promise<void>;
  logger: Logger;
  /** How long checks must fail without a pass before the hook runs; default 10 s. */
  failAfterMs?: number;
  /** How often the checks run; default 1 s. */
  intervalMs?: number;
}

export interface ReadinessWatchdog {
  stop(): void;
}

/**
 * Starts evaluating the checks every `intervalMs`.
 *
 * @example
 * const dog = watchReadiness({ readiness, logger, closeDeviceSessions: (r) => hub.registry.closeAll(r) });
 */
export function watchReadiness(options: ReadinessWatchdogOptions): ReadinessWatchdog {
  const failAfterMs = options.failAfterMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 1_000;
  let failingSince: number | undefined;
  let closedThisEpisode = false;
  let busy = false;

  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const report = await options.readiness.evaluate();
      if (report.status !== 'unready') {
        if (failingSince !== undefined && report.status === 'ready')
          options.logger.info('readiness checks pass again');
        failingSince = undefined;
        closedThisEpisode = false;
        return;
      }
      const now = Date.now();
      if (failingSince === undefined) {
        failingSince = now;
        options.logger.warn({ failing: report.failing, checks: report.checks }, 'readiness checks failing');
      }
      if (!closedThisEpisode && now - failingSince >= failAfterMs) {
        closedThisEpisode = true;
        const reason = `not ready for ${Math.round((now - failingSince) / 1000)} s: ${report.failing.join(', ')} failing`;
        options.logger.error({ failing: report.failing }, `${reason}; closing device connections`);
        await options.closeDeviceSessions(reason);
      }
    } catch (err) {
      options.logger.error({ err }, 'readiness watchdog failed');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
