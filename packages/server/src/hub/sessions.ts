/**
 * Persistent MQTT sessions for the hub (PROTOCOL.md §3.9, [MQTT-3.1.2-4]): the SDK connects
 * with clean=false and, after a token renewal or a drop, does not re-subscribe the twin topics
 * (and after renewal nothing at all). So the subscription set of a clean=false client is kept
 * in the store, keyed by client ID (= device ID), across connections and server restarts.
 * clean=true discards it [MQTT-3.1.2-6].
 */
import type { Kysely } from 'kysely';

import type { Database } from '../store/schema.js';

export interface RestoredSession {
  /** CONNACK sessionPresent [MQTT-3.2.2-2]. */
  present: boolean;
  /** filter → granted QoS. */
  subscriptions: Map<string, 0 | 1>;
}

export class SessionStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Starts a session: clean=true drops the stored one; clean=false restores it. */
  async open(deviceId: string, clean: boolean): Promise<RestoredSession> {
    if (clean) {
      await this.drop(deviceId);
      return { present: false, subscriptions: new Map() };
    }
    const rows = await this.db
      .selectFrom('hub_sessions')
      .select(['filter', 'qos'])
      .where('device_id', '=', deviceId)
      .execute();
    return {
      present: rows.length > 0,
      subscriptions: new Map(rows.map((r) => [r.filter, r.qos === 1 ? 1 : 0])),
    };
  }

  async subscribe(deviceId: string, filter: string, qos: 0 | 1): Promise<void> {
    await this.db
      .insertInto('hub_sessions')
      .values({ device_id: deviceId, filter, qos })
      .onConflict((oc) => oc.columns(['device_id', 'filter']).doUpdateSet({ qos }))
      .execute();
  }

  async unsubscribe(deviceId: string, filter: string): Promise<void> {
    await this.db
      .deleteFrom('hub_sessions')
      .where('device_id', '=', deviceId)
      .where('filter', '=', filter)
      .execute();
  }

  async drop(deviceId: string): Promise<void> {
    await this.db.deleteFrom('hub_sessions').where('device_id', '=', deviceId).execute();
  }
}
