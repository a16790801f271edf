/**
 * A per-user-name limit on failed sign-ins, so a password cannot be guessed at
 * the speed of the network: after `maxFailures` failures within `windowMs`,
 * every attempt for that name is refused until the oldest failure ages out.
 * In memory: a restart forgets it, which costs an attacker a restart per window.
 */
export class SignInThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly options: { maxFailures: number; windowMs: number; now: () => Date; maxKeys?: number },
  ) {}

  /** Milliseconds until `key` may try again; 0 when it may now. */
  retryAfterMs(key: string): number {
    const recent = this.recent(key);
    if (recent.length < this.options.maxFailures) return 0;
    const oldest = recent[recent.length - this.options.maxFailures] ?? 0;
    return Math.max(1, oldest + this.options.windowMs - this.now());
  }

  fail(key: string): void {
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

  succeed(key: string): void {
    this.failures.delete(key);
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
