/**
 * Keep-alive for every connection on one timer [MQTT-3.1.2-24]: a connection that sends
 * nothing for 1.5 × its keep-alive is closed. A timer per connection costs a Timeout object
 * and a closure per idle device; one interval that scans them costs a comparison each per
 * tick. A connection closes up to one tick (`resolutionMs`) after its deadline, never before.
 */

/** What the wheel needs of a connection. */
export interface KeepAliveMember {
  /** When the last packet arrived (ms since the epoch). */
  readonly lastPacketAt: number;
  /** 1.5 × the CONNECT keep-alive, in ms. */
  readonly keepAliveMs: number;
  /** Called once the connection was quiet for `idleMs` ≥ `keepAliveMs`. */
  keepAliveExpired(idleMs: number): void;
  /** Called on every tick with how long the connection has been quiet (to let idle state go). */
  idle?(idleMs: number): void;
}

export const KEEPALIVE_RESOLUTION_MS = 250;

export class KeepAliveWheel {
  private readonly members = new Set<KeepAliveMember>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly resolutionMs = KEEPALIVE_RESOLUTION_MS) {}

  add(member: KeepAliveMember): void {
    this.members.add(member);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.resolutionMs);
      this.timer.unref();
    }
  }

  delete(member: KeepAliveMember): void {
    this.members.delete(member);
    if (this.members.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  get size(): number {
    return this.members.size;
  }

  private tick(): void {
    const now = Date.now();
    for (const m of this.members) {
      const idle = now - m.lastPacketAt;
      if (idle >= m.keepAliveMs) {
        this.delete(m);
        m.keepAliveExpired(idle);
      } else {
        m.idle?.(idle);
      }
    }
  }
}

/** The process's wheel, shared by every listener. */
export const keepAliveWheel = new KeepAliveWheel();
