/**
 * Evaluates the rules on the live hub events (EXPORT_RULES.md §4.1; docs/rules.md):
 *
 * - telemetry conditions on each telemetry message of a device of the rule's template (level
 *   triggered: every matching message fires, the actions' rate limits bound the alerts);
 * - with an aggregation window, per rule and device a tumbling window aligned to the epoch
 *   (every 5 minutes at :00, :05 …), evaluated once when it ends, on the next tick;
 * - property conditions on each reported-property change that names one of their properties;
 * - "disconnected for N minutes" from the offline times in the store, checked every tick, once
 *   per disconnection (the history says whether this disconnection fired already).
 *
 * Where: the engine listens to this node's own events only (EventBus.subscribeLocal), so in a
 * cluster each event is evaluated once, on the node that holds the device's connection (or took
 * its HTTP request). The disconnected check runs on one node at a time, under the lease
 * `rules:disconnected`. What lives in memory only: the open windows (a restart, or a device
 * moving to another node, loses the partial window; the next one is whole) and the rule list,
 * reloaded every tick so a change made on another node applies within a second.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Logger } from 'pino';

import type { TemplateSummary } from '../app/dtdl-summary.js';
import { parseDeviceQuery, type DeviceQuery } from '../app/device-query.js';
import { evaluate } from '../app/device-query-eval.js';
import type { HubEvent } from '../hub/hub-api.js';
import { Accumulator, capabilityParts, compare, readNested, thresholdOf } from './conditions.js';
import type { RuleDelivery } from './delivery.js';
import type { FiredDevice, FiredValues } from './payload.js';
import { WINDOWS, type RuleBody, type ValueCondition } from './rule-shape.js';
import type { Firing, RuleStore, StoredRule } from './rule-store.js';

/**
 * How long a device row is reused. Changes made on this node drop it at once (deviceChanged);
 * one made on another node of a cluster applies within this time.
 */
const DEVICE_TTL_MS = 2000;
/** Firings are written together this often (the history shows them after at most this delay). */
const FLUSH_MS = 100;

interface DeviceRow {
  id: string;
  display_name: string;
  template: string | null;
  enabled: number;
  provisioned: number;
  simulated: number;
  etag: string;
}
interface FactsDatabase {
  devices: DeviceRow;
  twins: { device_id: string; reported: string };
  cloud_properties: { device_id: string; component: string; name: string; value: string };
}

interface Compiled {
  id: string;
  body: RuleBody;
  filter?: DeviceQuery;
  windowMs?: number;
}

interface OpenWindow {
  rule: Compiled;
  deviceId: string;
  start: number;
  end: number;
  acc: Accumulator[];
}

export interface RuleEngineOptions {
  db: Kysely<Database>;
  store: RuleStore;
  delivery: RuleDelivery;
  template(id: string): Promise<TemplateSummary | undefined>;
  logger: Logger;
  /** The clock: windows and disconnection times (tests move it instead of waiting minutes). */
  now?: () => number;
  /** How often windows are closed, the disconnected check runs and rules are reloaded (default 1 s). */
  tickMs?: number;
  /** The disconnected check's lease in a cluster; absent: always this node. */
  lease?: () => Promise<(() => Promise<void>) | undefined>;
}

export class RuleEngine {
  private rules: Compiled[] = [];
  private readonly windows = new Map<string, OpenWindow>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly db: Kysely<FactsDatabase>;
  private readonly pending = new Set<Promise<void>>();
  /** Device rows read lately: a rule on busy telemetry reads each device once per DEVICE_TTL_MS. */
  private readonly rows = new Map<string, { row: DeviceRow | undefined; until: number }>();
  /** Firings not yet written: one transaction per FLUSH_MS, whatever the firing rate. */
  private unwritten: Omit<Firing, 'id'>[] = [];
  /** Twin and cloud properties of devices that fired lately, and template components. */
  private readonly factsCache = new Map<string, { facts: FiredDevice; until: number }>();
  private readonly components = new Map<string, { names: ReadonlySet<string>; until: number }>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly options: RuleEngineOptions) {
    this.now = options.now ?? Date.now;
    this.db = options.db as unknown as Kysely<FactsDatabase>;
  }

  async start(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => void this.tick(), this.options.tickMs ?? 1000);
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    await Promise.allSettled([...this.pending]);
    await this.flush();
  }

  /** Reads the rules again (after a change through the API here; other nodes' on the tick). */
  async reload(): Promise<void> {
    const stored = await this.options.store.list();
    this.rules = stored.filter((r) => r.body.enabled).map(compile);
    const live = new Set(this.rules.map((r) => r.id));
    for (const [key, w] of this.windows) if (!live.has(w.rule.id)) this.windows.delete(key);
  }

  /** The hub event listener (subscribed to this node's events only). */
  onEvent(event: HubEvent): void {
    if (event.type === 'deviceChanged') {
      this.rows.delete(event.deviceId);
      this.factsCache.delete(event.deviceId);
      return;
    }
    if (event.type === 'reportedProperties') this.factsCache.delete(event.deviceId);
    if (event.type === 'connected' || event.type === 'disconnected') {
      const store = this.options.store;
      this.track(
        event.type === 'connected'
          ? store.markOnline(event.deviceId)
          : store.markOffline(event.deviceId, new Date(this.now()).toISOString()),
      );
      return;
    }
    if (event.type === 'telemetry') {
      if (this.rules.some((r) => r.body.conditions.items[0]?.type === 'telemetry'))
        this.track(this.onTelemetry(event));
    } else if (event.type === 'reportedProperties') {
      if (this.rules.some((r) => r.body.conditions.items[0]?.type === 'property'))
        this.track(this.onReported(event as Extract<HubEvent, { patch: unknown }>));
    }
  }

  /** Reloads the rules, closes ended windows, runs the disconnected check, writes the firings held (the timer calls it; tests too). */
  async tick(): Promise<void> {
    if (this.ticking) return this.ticking;
    this.ticking = (async () => {
      try {
        await this.reload();
        await this.closeWindows(this.now());
        await this.checkDisconnected();
        await this.flush();
      } catch (err) {
        this.options.logger.warn({ err }, 'rule tick failed');
      } finally {
        this.ticking = undefined;
      }
    })();
    return this.ticking;
  }

  /** Resolves when the evaluations started so far have finished (tests). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    await this.flush();
  }

  /** Writes the firings held so far (in one transaction), after any write under way. */
  private flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const batch = this.unwritten;
    this.unwritten = [];
    this.flushing = this.flushing
      .then(() => this.options.store.recordFirings(batch))
      .catch((err: unknown) =>
        this.options.logger.error({ err, firings: batch.length }, 'rule firings not recorded'),
      );
    return this.flushing;
  }

  private track(p: Promise<void>): void {
    const tracked = p.catch((err: unknown) => this.options.logger.warn({ err }, 'rule evaluation failed'));
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  private async onTelemetry(event: Extract<HubEvent, { type: 'telemetry' }>): Promise<void> {
    const body = event.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return;
    const values = body as Record<string, unknown>;
    const device = await this.deviceRow(event.deviceId);
    if (!device) return;
    const component = event.component ?? undefined;
    const read = (c: ValueCondition) => {
      const { component: want, name } = capabilityParts(c.capability);
      return want === component ? values[name] : undefined;
    };
    for (const rule of this.rules) {
      if (rule.body.target.template !== device.template) continue;
      const items = rule.body.conditions.items as ValueCondition[];
      if (items[0]?.type !== 'telemetry') continue;
      if (!items.some((c) => read(c) !== undefined)) continue;
      if (rule.windowMs !== undefined) {
        this.addToWindow(rule, event.deviceId, items.map(read));
        continue;
      }
      const facts = await this.facts(device);
      const results = items.map((c) => compare(read(c), c.operator, thresholdOf(c, facts.cloud)));
      if (!matches(rule, results) || !this.selected(rule, facts)) continue;
      const fired = items
        .filter((c) => read(c) !== undefined)
        .map((c) => ({ ...capabilityParts(c.capability), key: 'value', value: read(c) }));
      await this.fire(rule, facts, { telemetry: fired });
    }
  }

  private addToWindow(rule: Compiled, deviceId: string, values: unknown[]): void {
    const now = this.now();
    const len = rule.windowMs!;
    const start = Math.floor(now / len) * len;
    const key = `${rule.id}\u0000${deviceId}`;
    let w = this.windows.get(key);
    if (w && w.start !== start) {
      // The device's previous window ended before the tick closed it.
      this.windows.delete(key);
      this.track(this.evaluateWindow(w));
      w = undefined;
    }
    if (!w) {
      w = { rule, deviceId, start, end: start + len, acc: values.map(() => new Accumulator()) };
      this.windows.set(key, w);
    }
    values.forEach((v, i) => w.acc[i]!.add(v));
  }

  private async closeWindows(now: number): Promise<void> {
    for (const [key, w] of this.windows) {
      if (w.end > now) continue;
      this.windows.delete(key);
      await this.evaluateWindow(w);
    }
  }

  private async evaluateWindow(w: OpenWindow): Promise<void> {
    const device = await this.deviceRow(w.deviceId);
    if (!device || device.template !== w.rule.body.target.template) return;
    const facts = await this.facts(device);
    const items = w.rule.body.conditions.items as ValueCondition[];
    const aggregates = items.map((c, i) => w.acc[i]!.value(c.aggregation!));
    const results = items.map((c, i) => compare(aggregates[i], c.operator, thresholdOf(c, facts.cloud)));
    // EXPORT_RULES.md §4.1: the device filters are applied at the end of the window.
    if (!matches(w.rule, results) || !this.selected(w.rule, facts)) return;
    const telemetry = items.flatMap((c, i) =>
      aggregates[i] === undefined
        ? []
        : [{ ...capabilityParts(c.capability), key: c.aggregation!, value: aggregates[i] }],
    );
    await this.fire(w.rule, facts, { telemetry });
  }

  private async onReported(event: Extract<HubEvent, { patch: unknown }>): Promise<void> {
    const device = await this.deviceRow(event.deviceId);
    if (!device) return;
    let facts: FiredDevice | undefined;
    for (const rule of this.rules) {
      if (rule.body.target.template !== device.template) continue;
      const items = rule.body.conditions.items as ValueCondition[];
      if (items[0]?.type !== 'property') continue;
      const named = items.some((c) => {
        const { component, name } = capabilityParts(c.capability);
        return readNested(event.patch, component, name) !== undefined;
      });
      if (!named) continue;
      // The stored twin already holds the patch: the event is emitted after the commit.
      facts ??= await this.facts(device);
      const current = facts;
      const read = (c: ValueCondition) => {
        const { component, name } = capabilityParts(c.capability);
        return readNested(current.reported, component, name);
      };
      const results = items.map((c) => compare(read(c), c.operator, thresholdOf(c, current.cloud)));
      if (!matches(rule, results) || !this.selected(rule, current)) continue;
      const properties = items.map((c) => ({ ...capabilityParts(c.capability), value: read(c) }));
      await this.fire(rule, current, { telemetry: [], properties });
    }
  }

  private async checkDisconnected(): Promise<void> {
    const rules = this.rules.filter((r) => r.body.conditions.items[0]?.type === 'disconnected');
    if (rules.length === 0) return;
    const release = this.options.lease ? await this.options.lease() : undefined;
    if (this.options.lease && !release) return;
    try {
      // The history says whether a disconnection fired already: write what is held first.
      await this.flush();
      const now = this.now();
      const shortest = Math.min(...rules.map((r) => minutesOf(r)));
      const offline = await this.options.store.offlineSince(new Date(now - shortest * 60_000).toISOString());
      for (const { deviceId, since } of offline) {
        const device = await this.deviceRow(deviceId);
        if (!device) continue;
        for (const rule of rules) {
          if (rule.body.target.template !== device.template) continue;
          if (Date.parse(since) > now - minutesOf(rule) * 60_000) continue;
          if (await this.options.store.firedSince(rule.id, deviceId, since)) continue;
          const facts = await this.facts(device);
          if (!this.selected(rule, facts)) continue;
          await this.fire(rule, facts, { telemetry: [], disconnectedSince: since });
        }
      }
    } finally {
      await release?.();
    }
  }

  private selected(rule: Compiled, facts: FiredDevice): boolean {
    const filter = rule.filter;
    if (!filter) return true;
    if (filter.template !== undefined && filter.template !== facts.template) return false;
    if (!filter.where) return true;
    return (
      evaluate(filter.where, {
        id: facts.id,
        displayName: facts.displayName,
        template: facts.template,
        simulated: facts.simulated,
        provisioned: facts.provisioned,
        enabled: facts.enabled,
        property: (component, name) =>
          readNested(facts.reported, component, name) ?? readNested(facts.cloud, component, name),
      }) === true
    );
  }

  private async fire(rule: Compiled, device: FiredDevice, values: FiredValues): Promise<void> {
    const time = new Date(this.now()).toISOString();
    const fired = { rule: { id: rule.id, displayName: rule.body.displayName }, device, values, time };
    const components = await this.componentsOf(device.template);
    const actions = await this.options.delivery.run(fired, rule.body.actions, components);
    const detail: Record<string, unknown> = { ...values };
    this.unwritten.push({ ruleId: rule.id, deviceId: device.id, time, detail, actions });
    this.flushTimer ??= setTimeout(() => void this.flush(), FLUSH_MS);
    this.options.logger.debug({ rule: rule.id, deviceId: device.id, actions }, 'rule fired');
  }

  private async deviceRow(id: string): Promise<DeviceRow | undefined> {
    const now = Date.now();
    const cached = this.rows.get(id);
    if (cached && cached.until > now) return cached.row;
    const row = await this.readDeviceRow(id);
    if (this.rows.size > 100_000) this.rows.clear();
    this.rows.set(id, { row, until: now + DEVICE_TTL_MS });
    return row;
  }

  private async readDeviceRow(id: string): Promise<DeviceRow | undefined> {
    return this.db
      .selectFrom('devices')
      .select(['id', 'display_name', 'template', 'enabled', 'provisioned', 'simulated', 'etag'])
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /** The template's component names (the payload groups capabilities by them), reused for 10 s. */
  private async componentsOf(template: string | null): Promise<ReadonlySet<string>> {
    if (template === null) return new Set();
    const now = Date.now();
    const cached = this.components.get(template);
    if (cached && cached.until > now) return cached.names;
    const summary = await this.options.template(template);
    const names = new Set(summary?.components.map((c) => c.name) ?? []);
    this.components.set(template, { names, until: now + 10_000 });
    return names;
  }

  /**
   * The device with its reported and cloud properties, reused for DEVICE_TTL_MS (a reported
   * change or a device change here drops it; a cloud property written meanwhile shows after it).
   */
  private async facts(row: DeviceRow): Promise<FiredDevice> {
    const now = Date.now();
    const cached = this.factsCache.get(row.id);
    if (cached && cached.until > now && cached.facts.etag === row.etag) return cached.facts;
    const facts = await this.readFacts(row);
    if (this.factsCache.size > 100_000) this.factsCache.clear();
    this.factsCache.set(row.id, { facts, until: now + DEVICE_TTL_MS });
    return facts;
  }

  private async readFacts(row: DeviceRow): Promise<FiredDevice> {
    const twin = await this.db
      .selectFrom('twins')
      .select('reported')
      .where('device_id', '=', row.id)
      .executeTakeFirst();
    const cloud: Record<string, unknown> = {};
    for (const c of await this.db
      .selectFrom('cloud_properties')
      .select(['component', 'name', 'value'])
      .where('device_id', '=', row.id)
      .execute()) {
      const value = JSON.parse(c.value) as unknown;
      if (c.component === '') cloud[c.name] = value;
      else ((cloud[c.component] ??= {}) as Record<string, unknown>)[c.name] = value;
    }
    return {
      id: row.id,
      etag: row.etag,
      displayName: row.display_name,
      template: row.template,
      simulated: row.simulated === 1,
      provisioned: row.provisioned === 1,
      enabled: row.enabled === 1,
      reported: twin ? (JSON.parse(twin.reported) as Record<string, unknown>) : {},
      cloud,
    };
  }
}

function compile(r: StoredRule): Compiled {
  const w = r.body.conditions.aggregationWindow;
  return {
    id: r.id,
    body: r.body,
    ...(r.body.target.filter !== undefined ? { filter: parseDeviceQuery(r.body.target.filter) } : {}),
    ...(w !== undefined ? { windowMs: WINDOWS[w] } : {}),
  };
}

function matches(rule: Compiled, results: boolean[]): boolean {
  return rule.body.conditions.match === 'all' ? results.every(Boolean) : results.some(Boolean);
}

function minutesOf(rule: Compiled): number {
  const c = rule.body.conditions.items[0];
  return c?.type === 'disconnected' ? c.minutes : Infinity;
}
