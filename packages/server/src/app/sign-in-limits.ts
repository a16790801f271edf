import { isIPv6 } from 'node:net';
import { SignInThrottle } from './sign-in-throttle.js';

/** The limits on failed sign-ins (HARDENING.md W2, OWASP ASVS 5.0 6.1.1 / 6.3.1). */
export interface SignInLimitOptions {
  /** Failed sign-ins per client address within `ipWindowMs` (default 5 a minute). */
  ipFailures?: number;
  ipWindowMs?: number;
  /** Failed sign-ins per user name within `accountWindowMs` (default 20 an hour). */
  accountFailures?: number;
  accountWindowMs?: number;
  /** The short per-user-name burst (default 10 a minute). */
  burstFailures?: number;
  burstWindowMs?: number;
}

export const SIGN_IN_LIMIT_DEFAULTS = {
  ipFailures: 5,
  ipWindowMs: 60_000,
  accountFailures: 20,
  accountWindowMs: 3_600_000,
  burstFailures: 10,
  burstWindowMs: 60_000,
} as const;

/** Which limit refused an attempt: the client's address, or the user name. */
export type SignInLimitScope = 'ip' | 'account';

/** One attempt's reservation: the keys it holds a slot of, per limit. */
export interface SignInAttempt {
  readonly held: ReadonlyArray<{ throttle: SignInThrottle; key: string }>;
}

/**
 * Failed sign-ins limited per user name (a burst a minute and a budget an hour) and per client
 * address: one address cannot spray passwords over many user names, and many addresses cannot
 * grind one user name. Built on {@link SignInThrottle}, which counts attempts still being
 * checked. A success forgives the user name's failures, never the address's (one valid account
 * must not reset an attacker's count).
 */
export class SignInLimits {
  private readonly ip: SignInThrottle;
  private readonly burst: SignInThrottle;
  private readonly account: SignInThrottle;

  constructor(options: SignInLimitOptions & { now: () => Date }) {
    const o = { ...SIGN_IN_LIMIT_DEFAULTS, ...definedOnly(options) };
    this.ip = new SignInThrottle({ maxFailures: o.ipFailures, windowMs: o.ipWindowMs, now: options.now });
    this.burst = new SignInThrottle({
      maxFailures: o.burstFailures,
      windowMs: o.burstWindowMs,
      now: options.now,
    });
    this.account = new SignInThrottle({
      maxFailures: o.accountFailures,
      windowMs: o.accountWindowMs,
      now: options.now,
    });
  }

  /**
   * Takes a slot of every limit for user name `account` from address `ip` (none when the caller
   * has no address, as an in-process call), or answers which limit refuses and for how long.
   */
  reserve(
    account: string,
    ip: string | undefined,
  ): SignInAttempt | { scope: SignInLimitScope; waitMs: number } {
    const wanted: Array<{ throttle: SignInThrottle; key: string; scope: SignInLimitScope }> = [];
    if (ip !== undefined) wanted.push({ throttle: this.ip, key: addressKey(ip), scope: 'ip' });
    wanted.push({ throttle: this.burst, key: account, scope: 'account' });
    wanted.push({ throttle: this.account, key: account, scope: 'account' });
    const held: Array<{ throttle: SignInThrottle; key: string }> = [];
    for (const w of wanted) {
      const waitMs = w.throttle.reserve(w.key);
      if (waitMs > 0) {
        for (const h of held) h.throttle.release(h.key);
        return { scope: w.scope, waitMs };
      }
      held.push({ throttle: w.throttle, key: w.key });
    }
    return { held };
  }

  /** The attempt failed: a failure in every window it holds a slot of. */
  fail(attempt: SignInAttempt): void {
    for (const h of attempt.held) h.throttle.fail(h.key);
  }

  /** The attempt succeeded: the slots are free and the user name's failures forgiven. */
  succeed(attempt: SignInAttempt): void {
    for (const h of attempt.held) {
      h.throttle.release(h.key);
      if (h.throttle !== this.ip) h.throttle.forgive(h.key);
    }
  }
}

/**
 * The key of a client address: an IPv6 client usually holds a whole /64, so it is counted per
 * /64; an IPv4-mapped address as the IPv4 address it is.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1] ?? ip;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
