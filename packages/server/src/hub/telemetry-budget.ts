/**
 * The server-wide bound on telemetry read from devices but not yet committed. Each hub session
 * already stops reading at 512 of its own (hub-session.ts), but 512 × every connected device is
 * no bound at all: with a store that falls behind (an overloaded machine, a slow or locked
 * database), 3,000 devices held 1.16 GB of read, uncommitted messages in a soak run. Past `max`
 * in all, a session that receives telemetry stops reading too, until commits have brought the
 * total back to half; devices then wait in TCP, as they do for their own limit.
 */
import type { Metrics } from '../metrics.js';

type Gauge = ReturnType<Metrics['gauge']>;

/** Default bound: about 50 MiB of messages at 1 KiB each, far above a healthy store's backlog. */
export const DEFAULT_MAX_UNCOMMITTED_TELEMETRY = 50_000;

export class TelemetryBudget {
  private used = 0;
  private readonly waiting = new Set<() => void>();

  constructor(
    readonly max: number = DEFAULT_MAX_UNCOMMITTED_TELEMETRY,
    private readonly gauge?: Gauge,
  ) {}

  /** Messages read and not yet committed, across every session. */
  get uncommitted(): number {
    return this.used;
  }

  /** Counts one message in; true when the caller must stop reading until {@link wait}'s callback. */
  take(): boolean {
    this.used++;
    this.gauge?.set({}, this.used);
    return this.used > this.max;
  }

  /** Counts one message out (committed or failed); at half the bound every waiting session resumes. */
  release(): void {
    this.used--;
    this.gauge?.set({}, this.used);
    if (this.waiting.size > 0 && this.used <= this.max / 2) {
      const resumes = [...this.waiting];
      this.waiting.clear();
      for (const resume of resumes) resume();
    }
  }

  /** `resume` runs once the total is back to half the bound. */
  wait(resume: () => void): void {
    this.waiting.add(resume);
  }

  /** A closed session stops waiting. */
  forget(resume: () => void): void {
    this.waiting.delete(resume);
  }
}
