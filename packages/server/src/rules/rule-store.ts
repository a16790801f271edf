/**
 * The rules' tables (migration.ts) on SQLite and PostgreSQL alike: the rules, the fired-rule
 * history, the per-action counts (sent, suppressed by the rate limit, failed with the last
 * error in words) and the offline times the disconnected check reads.
 */
import type { Generated, Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

import type { RuleBody } from './rule-shape.js';

interface RulesTable {
  id: string;
  display_name: string;
  body: string;
  etag: string;
  last_fired: string | null;
  created_at: string;
  updated_at: string;
}
interface RuleFiringsTable {
  id: Generated<number>;
  rule_id: string;
  device_id: string;
  fired_at: string;
  detail: string;
  actions: string;
}
interface RuleActionCountsTable {
  rule_id: string;
  action_id: string;
  sent: number;
  suppressed: number;
  failed: number;
  last_error: string | null;
  last_sent: string | null;
}
interface RuleDeviceOfflineTable {
  device_id: string;
  since: string;
}
export interface RulesDatabase {
  rules: RulesTable;
  rule_firings: RuleFiringsTable;
  rule_action_counts: RuleActionCountsTable;
  rule_device_offline: RuleDeviceOfflineTable;
}

export interface StoredRule {
  id: string;
  body: RuleBody;
  etag: string;
  lastFired: string | null;
}

/** What one action did for one firing. */
export interface ActionOutcome {
  id: string;
  type: string;
  outcome: 'sent' | 'suppressed' | 'failed';
  error?: string;
}

/** One fired rule on one device (the history's row). */
export interface Firing {
  id: number;
  ruleId: string;
  deviceId: string;
  time: string;
  /** What made it fire: the values compared, or the disconnection. */
  detail: Record<string, unknown>;
  actions: ActionOutcome[];
}

export interface ActionCounts {
  sent: number;
  suppressed: number;
  failed: number;
  lastError?: string;
}

const num = (v: unknown): number => Number(v);

export class RuleStore {
  private readonly db: Kysely<RulesDatabase>;

  constructor(db: Kysely<Database>) {
    this.db = db as unknown as Kysely<RulesDatabase>;
  }

  async list(): Promise<StoredRule[]> {
    const rows = await this.db.selectFrom('rules').selectAll().orderBy('id').execute();
    return rows.map(toRule);
  }

  async get(id: string): Promise<StoredRule | undefined> {
    const row = await this.db.selectFrom('rules').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRule(row) : undefined;
  }

  async count(): Promise<number> {
    const r = await this.db
      .selectFrom('rules')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    return num(r.n);
  }

  async put(id: string, body: RuleBody, etag: string, time: string, create: boolean): Promise<void> {
    const values = { display_name: body.displayName, body: JSON.stringify(body), etag, updated_at: time };
    if (create) {
      await this.db
        .insertInto('rules')
        .values({ id, ...values, last_fired: null, created_at: time })
        .execute();
    } else {
      await this.db.updateTable('rules').set(values).where('id', '=', id).execute();
    }
  }

  /** True when it existed. History and counts go with it. */
  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('rules').where('id', '=', id).executeTakeFirst();
    await this.db.deleteFrom('rule_firings').where('rule_id', '=', id).execute();
    await this.db.deleteFrom('rule_action_counts').where('rule_id', '=', id).execute();
    return Number(r.numDeletedRows) > 0;
  }

  /**
   * Writes firings in one transaction: the history rows, each rule's last firing and the
   * actions' counts (a rule firing on every message writes once per batch, not per message).
   */
  async recordFirings(firings: readonly Omit<Firing, 'id'>[]): Promise<void> {
    if (firings.length === 0) return;
    const last = new Map<string, string>();
    const counts = new Map<
      string,
      { ruleId: string; action: ActionOutcome; sent: number; suppressed: number; failed: number }
    >();
    for (const f of firings) {
      if ((last.get(f.ruleId) ?? '') < f.time) last.set(f.ruleId, f.time);
      for (const a of f.actions) {
        const key = `${f.ruleId}\u0000${a.id}`;
        const c = counts.get(key) ?? { ruleId: f.ruleId, action: a, sent: 0, suppressed: 0, failed: 0 };
        c[a.outcome]++;
        if (a.outcome === 'failed') c.action = a;
        counts.set(key, c);
      }
    }
    await this.db.transaction().execute(async (trx) => {
      const store = new RuleStore(trx as unknown as Kysely<Database>);
      // Chunks keep an insert under every database's parameter limit.
      for (let i = 0; i < firings.length; i += 200) {
        await trx
          .insertInto('rule_firings')
          .values(
            firings.slice(i, i + 200).map((f) => ({
              rule_id: f.ruleId,
              device_id: f.deviceId,
              fired_at: f.time,
              detail: JSON.stringify(f.detail),
              actions: JSON.stringify(f.actions),
            })),
          )
          .execute();
      }
      for (const [ruleId, time] of last) {
        await trx.updateTable('rules').set({ last_fired: time }).where('id', '=', ruleId).execute();
      }
      for (const c of counts.values())
        await store.countAction(c.ruleId, c.action, {
          sent: c.sent,
          suppressed: c.suppressed,
          failed: c.failed,
        });
    });
  }

  private async countAction(
    ruleId: string,
    a: ActionOutcome,
    inc: { sent: number; suppressed: number; failed: number },
  ): Promise<void> {
    const lastError = inc.failed > 0 ? (a.error ?? 'failed') : null;
    await this.db
      .insertInto('rule_action_counts')
      .values({ rule_id: ruleId, action_id: a.id, ...inc, last_error: lastError, last_sent: null })
      .onConflict((oc) =>
        oc.columns(['rule_id', 'action_id']).doUpdateSet((eb) => ({
          sent: eb('rule_action_counts.sent', '+', inc.sent),
          suppressed: eb('rule_action_counts.suppressed', '+', inc.suppressed),
          failed: eb('rule_action_counts.failed', '+', inc.failed),
          ...(lastError !== null ? { last_error: lastError } : {}),
        })),
      )
      .execute();
  }

  async actionCounts(ruleId: string): Promise<Record<string, ActionCounts>> {
    const rows = await this.db
      .selectFrom('rule_action_counts')
      .selectAll()
      .where('rule_id', '=', ruleId)
      .execute();
    const out: Record<string, ActionCounts> = {};
    for (const r of rows) {
      out[r.action_id] = {
        sent: num(r.sent),
        suppressed: num(r.suppressed),
        failed: num(r.failed),
        ...(r.last_error !== null ? { lastError: r.last_error } : {}),
      };
    }
    return out;
  }

  /**
   * Takes the action's turn: true when it last sent `intervalMs` or more before `now` (then
   * `now` is its new last send). One conditional UPDATE, so two nodes firing the same rule at
   * once cannot both send, and a restart keeps the limit.
   */
  async claimSend(ruleId: string, actionId: string, now: Date, intervalMs: number): Promise<boolean> {
    await this.db
      .insertInto('rule_action_counts')
      .values({
        rule_id: ruleId,
        action_id: actionId,
        sent: 0,
        suppressed: 0,
        failed: 0,
        last_error: null,
        last_sent: null,
      })
      .onConflict((oc) => oc.columns(['rule_id', 'action_id']).doNothing())
      .execute();
    const r = await this.db
      .updateTable('rule_action_counts')
      .set({ last_sent: now.toISOString() })
      .where('rule_id', '=', ruleId)
      .where('action_id', '=', actionId)
      .where((eb) =>
        eb.or([
          eb('last_sent', 'is', null),
          eb('last_sent', '<=', new Date(now.getTime() - intervalMs).toISOString()),
        ]),
      )
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Newest first, `limit` rows before the id `before` (paging). */
  async history(
    by: { ruleId?: string; deviceId?: string },
    limit: number,
    before?: number,
  ): Promise<Firing[]> {
    let q = this.db.selectFrom('rule_firings').selectAll().orderBy('id', 'desc').limit(limit);
    if (by.ruleId !== undefined) q = q.where('rule_id', '=', by.ruleId);
    if (by.deviceId !== undefined) q = q.where('device_id', '=', by.deviceId);
    if (before !== undefined) q = q.where('id', '<', before);
    const rows = await q.execute();
    return rows.map((r) => ({
      id: num(r.id),
      ruleId: r.rule_id,
      deviceId: r.device_id,
      time: r.fired_at,
      detail: JSON.parse(r.detail) as Record<string, unknown>,
      actions: JSON.parse(r.actions) as ActionOutcome[],
    }));
  }

  /** Whether the rule fired for the device at or after `time` (once per disconnection). */
  async firedSince(ruleId: string, deviceId: string, time: string): Promise<boolean> {
    const r = await this.db
      .selectFrom('rule_firings')
      .select('id')
      .where('rule_id', '=', ruleId)
      .where('device_id', '=', deviceId)
      .where('fired_at', '>=', time)
      .executeTakeFirst();
    return r !== undefined;
  }

  async markOffline(deviceId: string, since: string): Promise<void> {
    await this.db
      .insertInto('rule_device_offline')
      .values({ device_id: deviceId, since })
      .onConflict((oc) => oc.column('device_id').doUpdateSet({ since }))
      .execute();
  }

  async markOnline(deviceId: string): Promise<void> {
    await this.db.deleteFrom('rule_device_offline').where('device_id', '=', deviceId).execute();
  }

  /** Devices offline since `before` or earlier. */
  async offlineSince(before: string): Promise<{ deviceId: string; since: string }[]> {
    const rows = await this.db
      .selectFrom('rule_device_offline')
      .selectAll()
      .where('since', '<=', before)
      .orderBy('device_id')
      .execute();
    return rows.map((r) => ({ deviceId: r.device_id, since: r.since }));
  }
}

function toRule(row: RulesTable): StoredRule {
  return { id: row.id, body: JSON.parse(row.body) as RuleBody, etag: row.etag, lastFired: row.last_fired };
}
