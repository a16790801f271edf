/**
 * One connection per device, cluster-wide (CLUSTER.md §6.2; PROTOCOL.md §3.7 "a new one kicks
 * the old one"). Before CONNACK the node that authenticated the device claims its row in
 * `device_sessions` under a row lock: the epoch grows by one and the previous holder is
 * returned, so the caller can tell that node to close its connection. Every later write a
 * node makes for the session carries its epoch (`release … WHERE epoch = mine`), so the late
 * cleanup of an old connection never touches a newer one (the EMQX/fluxmq bug class).
 *
 * On SQLite (one process) the same rows are kept: the single writer serialises claims, and
 * `connected` reads the same table on either store.
 */
import type { Kysely } from 'kysely';

import type { Database } from '../store/schema.js';
import { isPostgres } from '../store/transactions.js';

export interface SessionHolder {
  nodeId: string;
  epoch: number;
  connectedAt: string | null;
}

export interface SessionClaim {
  /** This connection's fencing token. */
  epoch: number;
  /** Who held the device until now (another node, or this one), if anyone. */
  previous: SessionHolder | undefined;
}

export class DeviceSessions {
  private readonly postgres: boolean;

  constructor(
    private readonly db: Kysely<Database>,
    readonly nodeId: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.postgres = isPostgres(db);
  }

  /**
   * Takes the device for this node. Simultaneous claims of one device (on any nodes) run one
   * after the other: the row exists first (insert or nothing), then it is locked (`FOR
   * UPDATE` on PostgreSQL; SQLite's one writer), read and moved on.
   */
  async claim(deviceId: string, clientIp?: string): Promise<SessionClaim> {
    const time = this.now().toISOString();
    return this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('device_sessions')
        .values({ device_id: deviceId, node_id: null, epoch: 0, connected_at: null, client_ip: null })
        .onConflict((oc) => oc.column('device_id').doNothing())
        .execute();
      const select = trx
        .selectFrom('device_sessions')
        .select(['node_id', 'epoch', 'connected_at'])
        .where('device_id', '=', deviceId);
      const row = await (this.postgres ? select.forUpdate() : select).executeTakeFirstOrThrow();
      const epoch = Number(row.epoch) + 1;
      await trx
        .updateTable('device_sessions')
        .set({ node_id: this.nodeId, epoch, connected_at: time, client_ip: clientIp ?? null })
        .where('device_id', '=', deviceId)
        .execute();
      return {
        epoch,
        previous:
          row.node_id === null
            ? undefined
            : { nodeId: row.node_id, epoch: Number(row.epoch), connectedAt: row.connected_at },
      };
    });
  }

  /** The connection of `epoch` ended: the device is connected nowhere, unless a newer one holds it. */
  async release(deviceId: string, epoch: number): Promise<boolean> {
    const r = await this.db
      .updateTable('device_sessions')
      .set({ node_id: null })
      .where('device_id', '=', deviceId)
      .where('epoch', '=', epoch)
      .where('node_id', '=', this.nodeId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Who holds the device now, if anyone. */
  async holder(deviceId: string): Promise<SessionHolder | undefined> {
    const row = await this.db
      .selectFrom('device_sessions')
      .select(['node_id', 'epoch', 'connected_at'])
      .where('device_id', '=', deviceId)
      .where('node_id', 'is not', null)
      .executeTakeFirst();
    return row && row.node_id !== null
      ? { nodeId: row.node_id, epoch: Number(row.epoch), connectedAt: row.connected_at }
      : undefined;
  }

  /** The devices connected to some node, by ID (the device list reads it once per page). */
  async connected(): Promise<Map<string, SessionHolder>> {
    const rows = await this.db
      .selectFrom('device_sessions')
      .select(['device_id', 'node_id', 'epoch', 'connected_at'])
      .where('node_id', 'is not', null)
      .execute();
    return new Map(
      rows.map((r) => [
        r.device_id,
        { nodeId: r.node_id ?? '', epoch: Number(r.epoch), connectedAt: r.connected_at },
      ]),
    );
  }

  /**
   * Releases every session held by a node that is no longer alive (the reaper, and a node
   * starting again under the same ID); returns the devices released.
   */
  async releaseNodes(nodeIds: readonly string[]): Promise<string[]> {
    if (nodeIds.length === 0) return [];
    // RETURNING names exactly the rows this statement released: a device another node claimed
    // meanwhile is not among them.
    const rows = await this.db
      .updateTable('device_sessions')
      .set({ node_id: null })
      .where('node_id', 'in', nodeIds)
      .returning('device_id')
      .execute();
    return rows.map((r) => r.device_id);
  }

  /** Releases the sessions of every node but the live ones (held by a node that is gone). */
  async releaseAllBut(liveNodeIds: readonly string[]): Promise<string[]> {
    let query = this.db
      .updateTable('device_sessions')
      .set({ node_id: null })
      .where('node_id', 'is not', null);
    if (liveNodeIds.length > 0) query = query.where('node_id', 'not in', liveNodeIds);
    const rows = await query.returning('device_id').execute();
    return rows.map((r) => r.device_id);
  }

  /** Forgets a deleted device. */
  async forget(deviceId: string): Promise<void> {
    await this.db.deleteFrom('device_sessions').where('device_id', '=', deviceId).execute();
  }
}
