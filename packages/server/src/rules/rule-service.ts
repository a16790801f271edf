/**
 * `/api/rules` (docs/rules.md): PUT creates or replaces (200), PATCH merges (JSON merge patch,
 * RFC 7386) and checks the result as a PUT would, DELETE answers 204. Every refusal leaves the
 * stored rules as they were. A change applies at once on this node (and within a tick on
 * the others).
 */
import type { TemplateSummary } from '../app/dtdl-summary.js';
import { newEtag } from '../util.js';
import { commonError, isObject } from '../validation.js';
import { ruleError } from './errors.js';
import { checkRule } from './rule-check.js';
import { MAX_RULES, RULE_ID, parseRuleBody, type Rule, type RuleBody } from './rule-shape.js';
import type { ActionCounts, Firing, RuleStore, StoredRule } from './rule-store.js';

/** A rule as the API answers: the body, the etag, when it last fired and each action's counts. */
export interface RuleView extends Rule {
  actionStatus?: Record<string, ActionCounts>;
}

export interface RuleServiceOptions {
  store: RuleStore;
  template(id: string): Promise<TemplateSummary | undefined>;
  smtpConfigured: boolean;
  /** Called after a change (the engine reloads). */
  changed(): Promise<void>;
  now?: () => Date;
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export class RuleService {
  constructor(private readonly options: RuleServiceOptions) {}

  async list(): Promise<RuleView[]> {
    const rules = await this.options.store.list();
    return Promise.all(rules.map((r) => this.view(r)));
  }

  async get(id: string): Promise<RuleView> {
    return this.view(await this.stored(id));
  }

  async put(id: string, body: unknown): Promise<RuleView> {
    if (!RULE_ID.test(id)) {
      throw commonError(
        'ERR_INVALID_ID',
        `ruleId '${id.slice(0, 64)}' is invalid: use letters, digits, - and _, 1–255 characters.`,
      );
    }
    const existing = await this.options.store.get(id);
    if (isObject(body) && typeof body['etag'] === 'string' && existing && body['etag'] !== existing.etag) {
      throw commonError('ERR_ETAG_MISMATCH', `Rule '${id}' has changed since etag ${body['etag']}.`);
    }
    const parsed = await this.check(body);
    if (!existing && (await this.options.store.count()) >= MAX_RULES) {
      throw ruleError(
        'ERR_RULE_LIMIT',
        `rules: this application has ${MAX_RULES} rules, the most it can have.`,
        {
          detail: { field: 'rules' },
        },
      );
    }
    await this.save(id, parsed, !existing);
    return this.get(id);
  }

  async patch(id: string, patch: unknown): Promise<RuleView> {
    const existing = await this.stored(id);
    if (!isObject(patch)) throw parseRuleBody(patch);
    if (typeof patch['etag'] === 'string' && patch['etag'] !== existing.etag) {
      throw commonError('ERR_ETAG_MISMATCH', `Rule '${id}' has changed since etag ${patch['etag']}.`);
    }
    const { etag: _etag, id: _id, lastFired: _lastFired, actionStatus: _status, ...changes } = patch;
    const parsed = await this.check(mergePatch(existing.body, changes));
    await this.save(id, parsed, false);
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    if (!(await this.options.store.delete(id)))
      throw ruleError('ERR_RULE_NOT_FOUND', `No rule has the ID '${id}'.`);
    await this.options.changed();
  }

  async historyOfRule(id: string, limit: number, before?: number): Promise<Firing[]> {
    await this.stored(id);
    return this.options.store.history({ ruleId: id }, limit, before);
  }

  historyOfDevice(deviceId: string, limit: number, before?: number): Promise<Firing[]> {
    return this.options.store.history({ deviceId }, limit, before);
  }

  private async check(body: unknown): Promise<RuleBody> {
    const parsed = parseRuleBody(body);
    await checkRule(parsed, { template: this.options.template, smtpConfigured: this.options.smtpConfigured });
    return parsed;
  }

  private async save(id: string, body: RuleBody, create: boolean): Promise<void> {
    const time = (this.options.now?.() ?? new Date()).toISOString();
    await this.options.store.put(id, body, newEtag(), time, create);
    await this.options.changed();
  }

  private async stored(id: string): Promise<StoredRule> {
    const r = await this.options.store.get(id);
    if (!r) throw ruleError('ERR_RULE_NOT_FOUND', `No rule has the ID '${id}'.`);
    return r;
  }

  private async view(r: StoredRule): Promise<RuleView> {
    const counts = await this.options.store.actionCounts(r.id);
    return {
      id: r.id,
      ...r.body,
      etag: r.etag,
      ...(r.lastFired !== null ? { lastFired: r.lastFired } : {}),
      ...(Object.keys(counts).length > 0 ? { actionStatus: counts } : {}),
    };
  }
}
