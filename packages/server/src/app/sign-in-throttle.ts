/**
 * A per-user-name limit on failed sign-ins, so a password cannot be guessed at
 * the speed of the network: after `maxFailures` failures within `windowMs`,
 * every attempt for that name is refused until the oldest failure ages out.
 * In memory: a restart forgets it, which costs an attacker a restart per window.
 *
 * Attempts still being checked count against the limit too: the password check
 * awaits scrypt, so counting only finished failures would let N parallel guesses
 * all pass the limit before the first one is recorded. {@link reserve} takes a
 * slot before the check; {@link fail} or {@link release} gives it back.
 */
export class SignInThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly options: { maxFailures: number; windowMs: number; now: () => Date; maxKeys?: number },
  ) {}

  /** Milliseconds until `key` may try again; 0 when it may now. */
  retryAfterMs(key: string): number {
    const recent = this.recent(key);
    const { maxFailures, windowMs } = this.options;
    if (recent.length >= maxFailures) {
      const oldest = recent[recent.length - maxFailures] ?? 0;
      return Math.max(1, oldest + windowMs - this.now());
    }
    // The rest of the allowance is taken by attempts being checked: they end within a second.
    if (recent.length + (this.inFlight.get(key) ?? 0) >= maxFailures) return IN_FLIGHT_RETRY_MS;
    return 0;
  }

  /**
   * Takes a slot for one attempt when `key` may try now (answers 0); otherwise answers
   * the wait in milliseconds and takes nothing. Check and take are one synchronous
   * step, so parallel attempts cannot all see the same free slot.
   */
  reserve(key: string): number {
    const waitMs = this.retryAfterMs(key);
    if (waitMs === 0) this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
    return waitMs;
  }

  /** The reserved attempt failed: it becomes a failure in the window. */
  fail(key: string): void {
    this.release(key);
    const recent = this.recent(key);
    recent.push(this.now());
    // Re-inserted so the map stays in order of last failure (the eviction below drops the oldest).
    this.failures.delete(key);
    this.failures.set(key, recent);
    // Bound the memory an attacker spraying user names can take: drop the stalest names.
    const maxKeys = this.options.maxKeys ?? 10_000;
    if (this.failures.size > maxKeys) {
      for (const k of this.failures.keys()) {
        if (this.failures.size <= maxKeys) break;
        this.failures.delete(k);
      }
    }
  }

  /** A successful sign-in: the name's failures are forgiven. */
  forgive(key: string): void {
    this.failures.delete(key);
  }

  /** The reserved attempt succeeded: the slot is free again. */
  release(key: string): void {
    const count = (this.inFlight.get(key) ?? 0) - 1;
    if (count > 0) this.inFlight.set(key, count);
    else this.inFlight.delete(key);
  }

  private recent(key: string): number[] {
    const since = this.now() - this.options.windowMs;
    const kept = (this.failures.get(key) ?? []).filter((t) => t > since);
    if (kept.length === 0) this.failures.delete(key);
    return kept;
  }

  private now(): number {
    return this.options.now().getTime();
  }
}

/** The wait given while the allowance is taken by attempts still being checked. */
const IN_FLIGHT_RETRY_MS = 1000;
