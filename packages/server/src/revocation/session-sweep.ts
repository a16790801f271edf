/**
 * Closing the live sessions a revocation covers (HARDENING.md §8 R1–R2): after a device, group,
 * certificate or CRL change, every node checks the credentials of each hub session it holds
 * again — exactly as a new CONNECT would be checked — and closes those that no longer pass.
 * Checking the sessions themselves (rather than a list of affected device IDs) is what makes a
 * revoked or removed CA cascade to devices provisioned long before: their chain no longer
 * reaches a verified CA of an enabled group, or contains a revoked certificate.
 *
 * In a cluster the request travels on the bus (`gh:revoke`), to every node at once; the bus
 * is at-most-once, so a node that misses it still refuses the device's next CONNECT.
 */
import type { Logger } from 'pino';

import type { Bus, Unsubscribe } from '../events/bus.js';
import type { HubRefusal } from '../hub/hub-service.js';
import type { HubSession } from '../hub/hub-session.js';

/** Every node listens here; the braces keep it apart from device channels (events/bus.ts). */
export const REVOCATION_CHANNEL = 'gh:{revoke}';

/** Sessions checked at once: bounded so a fleet-wide sweep does not flood the store. */
const CONCURRENCY = 64;

export interface SweptHub {
  readonly registry: { all(): IterableIterator<HubSession> };
  recheck(session: HubSession): Promise<HubRefusal | undefined>;
}

export interface SessionSweepOptions {
  hub: SweptHub;
  logger: Logger;
  bus?: Bus;
  nodeId?: string;
  /** Told of each session closed, to keep the reason with the refusal records. */
  onClosed?: (session: HubSession, refusal: HubRefusal) => void;
}

export class SessionSweep {
  private running: Promise<void> | undefined;
  private pending: string | undefined;
  private unsubscribe: Unsubscribe | undefined;

  constructor(private readonly o: SessionSweepOptions) {}

  /** Listens for sweeps asked by other nodes (resolves once subscribed). */
  async start(): Promise<void> {
    if (!this.o.bus) return;
    this.unsubscribe = await this.o.bus.subscribe(REVOCATION_CHANNEL, (message) => {
      try {
        const { from, reason } = JSON.parse(message.toString('utf8')) as { from?: string; reason?: string };
        if (from !== this.o.nodeId) void this.local(reason ?? 'revocation on another node');
      } catch (err) {
        this.o.logger.warn({ err }, 'revocation: unreadable sweep request on the bus');
      }
    });
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Checks the sessions of this node now and asks every other node to do the same. */
  sweep(reason: string): void {
    void this.local(reason);
    if (this.o.bus) {
      this.o.bus
        .publish(REVOCATION_CHANNEL, JSON.stringify({ from: this.o.nodeId, reason }))
        .catch((err: unknown) =>
          this.o.logger.warn({ err, reason }, 'revocation: sweep not sent to other nodes'),
        );
    }
  }

  /**
   * Checks this node's sessions; resolves when done. A sweep asked while one runs is run once
   * more afterwards (a change made during the first may have been read before it was committed).
   */
  local(reason: string): Promise<void> {
    if (this.running) {
      this.pending = reason;
      return this.running;
    }
    this.running = this.run(reason).finally(() => {
      this.running = undefined;
      const next = this.pending;
      this.pending = undefined;
      if (next !== undefined) void this.local(next);
    });
    return this.running;
  }

  private async run(reason: string): Promise<void> {
    const sessions = [...this.o.hub.registry.all()];
    let closed = 0;
    for (let i = 0; i < sessions.length; i += CONCURRENCY) {
      await Promise.all(
        sessions.slice(i, i + CONCURRENCY).map(async (session) => {
          let refusal: HubRefusal | undefined;
          try {
            refusal = await this.o.hub.recheck(session);
          } catch (err) {
            this.o.logger.warn({ err, deviceId: session.deviceId }, 'revocation: session not checked');
            return;
          }
          if (!refusal) return;
          closed++;
          session.close(`revoked: ${refusal.reason}`, 'forbidden');
          this.o.onClosed?.(session, refusal);
        }),
      );
    }
    this.o.logger.info({ reason, checked: sessions.length, closed }, 'revocation: live sessions checked');
  }
}
