/**
 * The nodes sharing one database (CLUSTER.md §6.5). Each node writes its heartbeat every 2 s;
 * the reaper (a singleton job) releases the device sessions of a node silent for 10 s, so its
 * devices show as disconnected and commands to them answer 404 at once, and forgets the node.
 * A node starting under the ID of one that died releases that one's sessions first.
 *
 * On SQLite there is one process per data folder: at start every session left by an earlier
 * run is released, and there is nothing else to do.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';

import type { DeviceSessions } from '../hub/device-sessions.js';
import type { Database } from '../store/schema.js';
import { isPostgres } from '../store/transactions.js';

export interface MembershipOptions {
  db: Kysely<Database>;
  nodeId: string;
  sessions: DeviceSessions;
  logger: Logger;
  /** Told which devices lost their session with a dead node (to emit `disconnected`). */
  onReleased(deviceIds: string[], reason: string): void;
  now?: () => Date;
  heartbeatMs?: number;
  /** A node whose heartbeat is older than this is dead (default 10 s). */
  staleMs?: number;
}

export class ClusterMembership {
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => Date;
  private readonly heartbeatMs: number;
  readonly staleMs: number;
  private lastBeat = 0;
  private readonly postgres: boolean;

  constructor(private readonly o: MembershipOptions) {
    this.now = o.now ?? (() => new Date());
    this.heartbeatMs = o.heartbeatMs ?? 2000;
    this.staleMs = o.staleMs ?? 10_000;
    this.postgres = isPostgres(o.db);
  }

  /** Joins: the node row, and the sessions an earlier run (or the only other process) left. */
  async start(): Promise<void> {
    const { db, nodeId, sessions } = this.o;
    if (!this.postgres) {
      const released = await sessions.releaseAllBut([]);
      if (released.length > 0) this.o.onReleased(released, 'server restarted');
      return;
    }
    const time = this.now().toISOString();
    await db
      .insertInto('cluster_nodes')
      .values({ node_id: nodeId, started_at: time, heartbeat_at: time })
      .onConflict((oc) => oc.column('node_id').doUpdateSet({ started_at: time, heartbeat_at: time }))
      .execute();
    this.lastBeat = Date.now();
    const released = await sessions.releaseNodes([nodeId]);
    if (released.length > 0) this.o.onReleased(released, `node ${nodeId} restarted`);
    this.timer = setInterval(() => void this.beat(), this.heartbeatMs);
    this.timer.unref();
  }

  /** Milliseconds since the last heartbeat that reached the database (readiness reads it). */
  sinceLastBeat(): number {
    return this.postgres ? Date.now() - this.lastBeat : 0;
  }

  private async beat(): Promise<void> {
    try {
      await this.o.db
        .updateTable('cluster_nodes')
        .set({ heartbeat_at: this.now().toISOString() })
        .where('node_id', '=', this.o.nodeId)
        .execute();
      this.lastBeat = Date.now();
    } catch (err) {
      this.o.logger.warn({ err }, 'cluster heartbeat not written');
    }
  }

  /** The reaper's work (run as a singleton job): release what dead nodes held. */
  async reap(): Promise<string[]> {
    if (!this.postgres) return [];
    const { db, sessions } = this.o;
    const cutoff = new Date(this.now().getTime() - this.staleMs).toISOString();
    const live = await db
      .selectFrom('cluster_nodes')
      .select('node_id')
      .where('heartbeat_at', '>=', cutoff)
      .execute();
    // Sessions of a node that is stale or unknown (a copied database, a node gone for good).
    const released = await sessions.releaseAllBut(live.map((n) => n.node_id));
    await db.deleteFrom('cluster_nodes').where('heartbeat_at', '<', cutoff).execute();
    if (released.length > 0) {
      this.o.logger.warn({ devices: released.length }, 'released the device sessions of nodes that stopped');
      this.o.onReleased(released, 'its node stopped');
    }
    return released;
  }

  /** Leaves the cluster (a clean stop): the node row goes; its sessions were closed already. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    if (!this.postgres) return;
    await this.o.db
      .deleteFrom('cluster_nodes')
      .where('node_id', '=', this.o.nodeId)
      .execute()
      .catch(() => undefined);
  }
}
