import type { Bus, Unsubscribe } from '../events/bus.js';

/** Every node listens here; the braces keep it apart from device channels (events/bus.ts). */
export const SESSION_ENDS_CHANNEL = 'gh:{user-sessions}';

type Listener = (userId: string) => void;

/**
 * "Some sign-in sessions of this user may have ended": raised when a user signs out, is
 * disabled or deleted, or gets a new password. Whoever holds a long-lived response for that
 * user (an event stream) checks its credentials again at once instead of at its next
 * heartbeat (OWASP ASVS 5.0 7.4.2: disabling an account ends its sessions). In a cluster the
 * signal travels on the bus to every node; the database stays the truth, the signal only says
 * when to look.
 */
export class SessionEnds {
  private readonly listeners = new Set<Listener>();
  private bus: Bus | undefined;
  private unsubscribe: Unsubscribe | undefined;

  /** Listens to the other nodes' signals and sends this node's to them. */
  async attach(bus: Bus): Promise<void> {
    this.bus = bus;
    this.unsubscribe = await bus.subscribe(SESSION_ENDS_CHANNEL, (message) => {
      this.emitLocal(message.toString());
    });
  }

  async detach(): Promise<void> {
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = undefined;
    this.bus = undefined;
    await unsubscribe?.();
  }

  /** Adds `listener`; answers the function that removes it. */
  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Raised after the change is committed. Never throws: the heartbeat check is the fallback. */
  emit(userId: string): void {
    this.emitLocal(userId);
    // The bus is at-most-once; a missed signal leaves the stream to its next heartbeat.
    this.bus?.publish(SESSION_ENDS_CHANNEL, userId).catch(() => undefined);
  }

  private emitLocal(userId: string): void {
    for (const listener of this.listeners) {
      try {
        listener(userId);
      } catch {
        // A listener's failure is its own.
      }
    }
  }
}
