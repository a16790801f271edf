/**
 * Work that must run on exactly one node per period (CLUSTER.md §6.5: retention and
 * partitions, C2D expiry, reaping a dead node's sessions). Every node tries each period; the
 * one whose row `(job, period)` goes into `singleton_runs` first runs it, the others see the
 * conflict and skip. So a job never runs twice in one period, and when its node dies another
 * takes the next period. A run holds a PostgreSQL advisory lock of its job while it works, so
 * a slow run is never overlapped by the next period's.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Logger } from 'pino';

import type { Database } from '../store/schema.js';
import { isPostgres } from '../store/transactions.js';

export interface SingletonJob {
  /** Stable name: the row key and the advisory lock (hashed). */
  name: string;
  periodMs: number;
  run(): Promise<void>;
}

/** The start of the period `time` falls in, ISO-8601. */
export function periodOf(time: Date, periodMs: number): string {
  return new Date(Math.floor(time.getTime() / periodMs) * periodMs).toISOString();
}

/** Takes `job`'s period for `nodeId`; false when another node took it first. */
export async function claimPeriod(
  db: Kysely<Database>,
  job: string,
  period: string,
  nodeId: string,
  now: Date,
): Promise<boolean> {
  const r = await db
    .insertInto('singleton_runs')
    .values({ job, period, node_id: nodeId, started_at: now.toISOString() })
    .onConflict((oc) => oc.columns(['job', 'period']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** Runs each job once per period on one node of the cluster. */
export class SingletonScheduler {
  private timer: NodeJS.Timeout | undefined;
  private readonly running = new Set<string>();
  private readonly postgres: boolean;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly nodeId: string,
    private readonly jobs: readonly SingletonJob[],
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
    /** How often each node looks for a period to take (default 1 s). */
    private readonly tickMs = 1000,
  ) {
    this.postgres = isPostgres(db);
  }

  start(): void {
    if (this.timer) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look at every job (the timer calls it; tests too). */
  async tick(): Promise<void> {
    for (const job of this.jobs) {
      if (this.running.has(job.name)) continue;
      const now = this.now();
      const period = periodOf(now, job.periodMs);
      this.running.add(job.name);
      try {
        if (!(await claimPeriod(this.db, job.name, period, this.nodeId, now))) continue;
        await this.runLocked(job);
      } catch (err) {
        this.logger.error({ err, job: job.name }, 'singleton job failed');
      } finally {
        this.running.delete(job.name);
      }
    }
  }

  private async runLocked(job: SingletonJob): Promise<void> {
    if (!this.postgres) return job.run();
    // A session lock on one pool connection for the run; hashtext gives the job's key.
    await this.db.connection().execute(async (conn) => {
      const got = await sql<{
        ok: boolean;
      }>`SELECT pg_try_advisory_lock(hashtext(${`gatehouse:${job.name}`})) AS ok`.execute(conn);
      if (!got.rows[0]?.ok) return;
      try {
        await job.run();
      } finally {
        await sql`SELECT pg_advisory_unlock(hashtext(${`gatehouse:${job.name}`}))`.execute(conn);
      }
    });
  }

  /** Drops the records of periods older than `before` (kept a day by the caller's job). */
  static async prune(db: Kysely<Database>, before: Date): Promise<void> {
    await db.deleteFrom('singleton_runs').where('started_at', '<', before.toISOString()).execute();
  }
}
