/**
 * Readiness (`GET /readyz`): is this node fit to take device connections? The composition root
 * registers one check per dependency the node cannot work without (the store, the bus); the
 * load balancer polls `/readyz` (HAProxy `option httpchk GET /readyz`, CLUSTER.md §2a) and
 * stops sending devices to a node that answers 503. Liveness (`/healthz`) stays 200 as long
 * as the process runs: a node that is unready is not dead, and must not be restarted for it.
 */

/** A check: resolves true when the dependency is usable; false or a throw means not ready. */
export type ReadinessCheck = () => boolean | Promise<boolean>;

export interface CheckResult {
  ok: boolean;
  /** Why it failed: the thrown message, `returned false` or `timed out after N ms`. */
  error?: string;
}

export interface ReadinessReport {
  status: 'ready' | 'unready' | 'draining';
  /** Every registered check and its result (empty while draining: nothing is run). */
  checks: Record<string, CheckResult>;
  /** Names of the failing checks, in registration order. */
  failing: string[];
}

export interface ReadinessOptions {
  /** A check that takes longer fails; default 2 s (below HAProxy's default check timeout). */
  checkTimeoutMs?: number;
}

export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  private readonly timeoutMs: number;
  private isDraining = false;
  private running: Promise<ReadinessReport> | undefined;

  constructor(options: ReadinessOptions = {}) {
    this.timeoutMs = options.checkTimeoutMs ?? 2_000;
  }

  /**
   * Adds a check under a unique name (it appears in the `/readyz` answer).
   *
   * @example
   * readiness.register('postgresql', async () => (await pool.query('select 1')).rowCount === 1);
   */
  register(name: string, check: ReadinessCheck): void {
    if (this.checks.has(name)) throw new Error(`readiness check '${name}' is already registered`);
    this.checks.set(name, check);
  }

  /** From now on `/readyz` answers 503 `draining` (SIGTERM): the node is leaving. */
  setDraining(): void {
    this.isDraining = true;
  }

  get draining(): boolean {
    return this.isDraining;
  }

  /** Runs every check at once (concurrent callers share one run). */
  evaluate(): Promise<ReadinessReport> {
    if (this.isDraining) return Promise.resolve({ status: 'draining', checks: {}, failing: [] });
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<ReadinessReport> {
    const entries = [...this.checks.entries()];
    const results = await Promise.all(entries.map(([, check]) => this.runOne(check)));
    const checks: Record<string, CheckResult> = {};
    const failing: string[] = [];
    entries.forEach(([name], i) => {
      const result = results[i]!;
      checks[name] = result;
      if (!result.ok) failing.push(name);
    });
    if (this.isDraining) return { status: 'draining', checks: {}, failing: [] };
    return { status: failing.length === 0 ? 'ready' : 'unready', checks, failing };
  }

  private async runOne(check: ReadinessCheck): Promise<CheckResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<CheckResult>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, error: `timed out after ${this.timeoutMs} ms` }),
        this.timeoutMs,
      );
    });
    const outcome = (async (): Promise<CheckResult> => {
      try {
        return (await check()) === true ? { ok: true } : { ok: false, error: 'returned false' };
      } catch (err) {
        return { ok: false, error: err instanceof Error ? err.message : String(err) };
      }
    })();
    try {
      return await Promise.race([outcome, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
