/**
 * Closing the live sessions a revocation covers (HARDENING.md §8 R1–R2): after a group,
 * certificate or CRL change, every node checks the credentials of the hub sessions in the
 * change's scope (scope.ts) again — exactly as a new CONNECT would be checked — and closes those
 * that no longer pass. Checking the sessions themselves, by the chain each presented, is what
 * makes a revoked or removed CA cascade to devices provisioned long before. The scope keeps it
 * proportional to what the change touches: picking the sessions is an in-memory pass (plus one
 * query for a group's devices); only those are checked against the store.
 *
 * In a cluster the request travels on the bus (`gh:revoke`), to every node at once; the bus
 * is at-most-once, so a node that misses it still refuses the device's next CONNECT.
 */
import type { Logger } from 'pino';

import type { Bus, Unsubscribe } from '../events/bus.js';
import type { HubRefusal } from '../hub/hub-service.js';
import type { HubSession } from '../hub/hub-session.js';
import { normalizeSerial } from './crl.js';
import type { RevocationScope } from './scope.js';

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
  /** The IDs of the devices provisioned through a group (for a group scope). */
  devicesOfGroup: (groupId: string) => Promise<string[]>;
  logger: Logger;
  bus?: Bus;
  nodeId?: string;
  /** Told of each session closed, to keep the reason with the refusal records. */
  onClosed?: (session: HubSession, refusal: HubRefusal) => void;
}

interface Request {
  reason: string;
  scope: RevocationScope;
}

export class SessionSweep {
  private running: Promise<void> | undefined;
  private readonly queue: Request[] = [];
  private unsubscribe: Unsubscribe | undefined;

  constructor(private readonly o: SessionSweepOptions) {}

  /** Listens for sweeps asked by other nodes (resolves once subscribed). */
  async start(): Promise<void> {
    if (!this.o.bus) return;
    this.unsubscribe = await this.o.bus.subscribe(REVOCATION_CHANNEL, (message) => {
      try {
        const { from, reason, scope } = JSON.parse(message.toString('utf8')) as Request & { from?: string };
        if (from !== this.o.nodeId) void this.local(reason, scope);
      } catch (err) {
        this.o.logger.warn({ err }, 'revocation: unreadable sweep request on the bus');
      }
    });
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Checks the sessions of this node in `scope` now and asks every other node to do the same. */
  sweep(reason: string, scope: RevocationScope): void {
    void this.local(reason, scope);
    if (this.o.bus) {
      this.o.bus
        .publish(REVOCATION_CHANNEL, JSON.stringify({ from: this.o.nodeId, reason, scope }))
        .catch((err: unknown) =>
          this.o.logger.warn({ err, reason }, 'revocation: sweep not sent to other nodes'),
        );
    }
  }

  /** Checks this node's sessions in `scope`; resolves when every queued request is done. */
  local(reason: string, scope: RevocationScope): Promise<void> {
    this.queue.push({ reason, scope });
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async drain(): Promise<void> {
    for (let request = this.queue.shift(); request; request = this.queue.shift()) {
      try {
        await this.run(request);
      } catch (err) {
        this.o.logger.error({ err, reason: request.reason }, 'revocation: sweep failed');
      }
    }
  }

  /** The sessions of this node that `scope` can touch. */
  private async candidates(scope: RevocationScope): Promise<HubSession[]> {
    const all = [...this.o.hub.registry.all()];
    const chain = (s: HubSession) => s.identity?.peerCertificates ?? [];
    switch (scope.kind) {
      case 'device':
        return all.filter((s) => s.deviceId === scope.deviceId);
      case 'certificates': {
        const keys = new Set(scope.revoked.map((r) => `${r.issuer}\u0000${r.serial}`));
        return all.filter((s) =>
          chain(s).some((c) => keys.has(`${c.issuer}\u0000${normalizeSerial(c.serialNumber)}`)),
        );
      }
      case 'group': {
        const devices = new Set(await this.o.devicesOfGroup(scope.groupId));
        const names = new Set(scope.caSubjects);
        return all.filter(
          (s) => devices.has(s.deviceId) || chain(s).some((c) => names.has(c.issuer) || names.has(c.subject)),
        );
      }
    }
  }

  private async run({ reason, scope }: Request): Promise<void> {
    const sessions = await this.candidates(scope);
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
