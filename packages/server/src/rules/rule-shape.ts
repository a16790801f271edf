/**
 * The rule object of `/api/rules` (EXPORT_RULES.md §4.5 suggests it; IoT Central has no rules
 * API, so the shape is ours) and its structural check: every refusal is ERR_RULE_INVALID whose
 * message starts with the field it is about. What needs the template (capability names, value
 * types, cloud properties) is checked by rule-check.ts.
 */
import { isObject } from '../validation.js';
import { characterCount } from '../util.js';
import { ruleError } from './errors.js';

export type Operator = '>' | '>=' | '<' | '<=' | '==' | '!=' | 'contains';
export type Aggregation = 'avg' | 'min' | 'max' | 'sum' | 'count';
export type Literal = string | number | boolean;

/** Tumbling windows offered (EXPORT_RULES.md §4.1: 5 minutes … 1 hour), in milliseconds. */
export const WINDOWS = {
  PT5M: 300_000,
  PT10M: 600_000,
  PT15M: 900_000,
  PT30M: 1_800_000,
  PT1H: 3_600_000,
} as const;
export type WindowName = keyof typeof WINDOWS;

/** EXPORT_RULES.md §4.4 (D-LIM): 50 rules per application, 5 actions per rule. */
export const MAX_RULES = 50;
export const MAX_ACTIONS = 5;
export const MAX_CONDITIONS = 10;
export const MAX_RECIPIENTS = 20;
/** Longest disconnection a rule can wait for: one day. */
export const MAX_DISCONNECTED_MINUTES = 1440;
export const RULE_ID = /^[a-zA-Z0-9_-]{1,255}$/;

/** A telemetry or property value compared with a literal or with a cloud property of the device. */
export interface ValueCondition {
  type: 'telemetry' | 'property';
  /** `name` or `component.name`. */
  capability: string;
  operator: Operator;
  value?: Literal;
  /** `name` or `component.name` of a cloud property used as the threshold. */
  cloudProperty?: string;
  aggregation?: Aggregation;
}

/** Gatehouse extension: the device has been disconnected for `minutes`. */
export interface DisconnectedCondition {
  type: 'disconnected';
  minutes: number;
}

export type RuleCondition = ValueCondition | DisconnectedCondition;

export interface RuleConditions {
  match: 'all' | 'any';
  aggregationWindow?: WindowName;
  items: RuleCondition[];
}

export interface WebhookAction {
  id: string;
  type: 'webhook';
  displayName: string;
  url: string;
}

export interface EmailAction {
  id: string;
  type: 'email';
  displayName: string;
  to: string[];
  note?: string;
}

export type RuleAction = WebhookAction | EmailAction;

/** The fields a client sends (PUT body after the check). */
export interface RuleBody {
  displayName: string;
  enabled: boolean;
  target: { template: string; filter?: string };
  conditions: RuleConditions;
  actions: RuleAction[];
}

export interface Rule extends RuleBody {
  id: string;
  etag: string;
  /** Read-only diagnostics: when it last fired, and how many alerts its actions held back. */
  lastFired?: string;
}

const OPERATORS: Record<string, Operator> = {
  '>': '>',
  gt: '>',
  '>=': '>=',
  ge: '>=',
  '<': '<',
  lt: '<',
  '<=': '<=',
  le: '<=',
  '==': '==',
  '=': '==',
  eq: '==',
  '!=': '!=',
  '<>': '!=',
  ne: '!=',
  contains: 'contains',
};
const AGGREGATIONS: readonly Aggregation[] = ['avg', 'min', 'max', 'sum', 'count'];
/** A practical e-mail address check: one @, no spaces, a dot in the domain (RFC 5321 is looser). */
const EMAIL = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/;

export function invalid(field: string, message: string): Error {
  return ruleError('ERR_RULE_INVALID', `${field}: ${message}`, { detail: { field } });
}

function text(v: unknown, field: string, max: number, required = true): string | undefined {
  if (v === undefined || v === null) {
    if (required) throw invalid(field, 'is required.');
    return undefined;
  }
  if (typeof v !== 'string' || v.trim() === '') throw invalid(field, 'must be a non-empty string.');
  if (characterCount(v) > max) throw invalid(field, `is longer than ${max} characters.`);
  return v;
}

function parseCondition(v: unknown, field: string): RuleCondition {
  if (!isObject(v)) throw invalid(field, 'must be an object.');
  const type = v['type'] ?? 'telemetry';
  if (type === 'disconnected') {
    const minutes = v['minutes'];
    if (
      typeof minutes !== 'number' ||
      !Number.isInteger(minutes) ||
      minutes < 1 ||
      minutes > MAX_DISCONNECTED_MINUTES
    ) {
      throw invalid(
        `${field}.minutes`,
        `must be a whole number of minutes from 1 to ${MAX_DISCONNECTED_MINUTES}.`,
      );
    }
    return { type, minutes };
  }
  if (type !== 'telemetry' && type !== 'property') {
    throw invalid(`${field}.type`, "must be 'telemetry', 'property' or 'disconnected'.");
  }
  const capability = text(v['capability'], `${field}.capability`, 255)!;
  const op = v['operator'];
  const operator = typeof op === 'string' ? OPERATORS[op.toLowerCase()] : undefined;
  if (!operator) throw invalid(`${field}.operator`, 'must be one of >, >=, <, <=, ==, !=, contains.');
  const out: ValueCondition = { type, capability, operator };
  const value = v['value'];
  const cloud = v['cloudProperty'];
  if (value !== undefined && cloud !== undefined) {
    throw invalid(`${field}.value`, 'give a value or a cloudProperty, not both.');
  }
  if (cloud !== undefined) out.cloudProperty = text(cloud, `${field}.cloudProperty`, 255)!;
  else if (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  ) {
    out.value = value;
  } else
    throw invalid(
      `${field}.value`,
      'is required: a number, a string or a boolean (or give a cloudProperty).',
    );
  const aggregation = v['aggregation'];
  if (aggregation !== undefined) {
    if (type !== 'telemetry') throw invalid(`${field}.aggregation`, 'only telemetry conditions aggregate.');
    if (typeof aggregation !== 'string' || !AGGREGATIONS.includes(aggregation as Aggregation)) {
      throw invalid(`${field}.aggregation`, `must be one of ${AGGREGATIONS.join(', ')}.`);
    }
    out.aggregation = aggregation as Aggregation;
  }
  return out;
}

function parseConditions(v: unknown): RuleConditions {
  if (!isObject(v)) throw invalid('conditions', 'must be an object with match and items.');
  const match = v['match'] ?? 'all';
  if (match !== 'all' && match !== 'any') throw invalid('conditions.match', "must be 'all' or 'any'.");
  const items = v['items'];
  if (!Array.isArray(items) || items.length === 0)
    throw invalid('conditions.items', 'must be a non-empty array.');
  if (items.length > MAX_CONDITIONS)
    throw invalid('conditions.items', `at most ${MAX_CONDITIONS} conditions.`);
  const parsed = items.map((c, i) => parseCondition(c, `conditions.items[${i}]`));
  const out: RuleConditions = { match, items: parsed };
  // One kind per rule: a telemetry message, a property change and the passing of time are
  // different triggers, and "all" across them would have no instant at which to be true.
  const kind = parsed[0]!.type;
  parsed.forEach((c, i) => {
    if (c.type !== kind) {
      throw invalid(
        `conditions.items[${i}].type`,
        `a rule's conditions are all of one type (items[0] is '${kind}').`,
      );
    }
  });
  if (kind === 'disconnected' && parsed.length > 1) {
    throw invalid('conditions.items[1]', 'a disconnected condition stands alone.');
  }
  const window = v['aggregationWindow'];
  if (window !== undefined && window !== null) {
    if (typeof window !== 'string' || !Object.hasOwn(WINDOWS, window)) {
      throw invalid('conditions.aggregationWindow', `must be one of ${Object.keys(WINDOWS).join(', ')}.`);
    }
    if (kind !== 'telemetry')
      throw invalid('conditions.aggregationWindow', 'only telemetry conditions aggregate.');
    out.aggregationWindow = window as WindowName;
    // EXPORT_RULES.md §4.1: "If any condition is aggregated, all must be."
    parsed.forEach((c, i) => {
      if (c.type === 'telemetry' && c.aggregation === undefined) {
        throw invalid(
          `conditions.items[${i}].aggregation`,
          'is required when the rule has an aggregationWindow.',
        );
      }
    });
  } else {
    parsed.forEach((c, i) => {
      if (c.type === 'telemetry' && c.aggregation !== undefined) {
        throw invalid(`conditions.items[${i}].aggregation`, 'needs conditions.aggregationWindow.');
      }
    });
  }
  return out;
}

function parseAction(v: unknown, i: number): RuleAction {
  const field = `actions[${i}]`;
  if (!isObject(v)) throw invalid(field, 'must be an object.');
  const id = v['id'] === undefined ? `action-${i + 1}` : text(v['id'], `${field}.id`, 64)!;
  if (!/^[a-zA-Z0-9_-]+$/.test(id)) throw invalid(`${field}.id`, 'use letters, digits, - and _.');
  const type = v['type'];
  const displayName = text(v['displayName'] ?? `Action ${i + 1}`, `${field}.displayName`, 255)!;
  if (type === 'webhook') {
    const raw = text(v['url'], `${field}.url`, 2048)!;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw invalid(`${field}.url`, `'${raw.slice(0, 100)}' is not a URL.`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw invalid(`${field}.url`, `must be http or https, not ${url.protocol.replace(':', '')}.`);
    }
    return { id, type, displayName, url: raw };
  }
  if (type === 'email') {
    const to = v['to'];
    if (!Array.isArray(to) || to.length === 0)
      throw invalid(`${field}.to`, 'must be a non-empty array of e-mail addresses.');
    if (to.length > MAX_RECIPIENTS) throw invalid(`${field}.to`, `at most ${MAX_RECIPIENTS} recipients.`);
    to.forEach((a, j) => {
      if (typeof a !== 'string' || !EMAIL.test(a) || a.length > 254) {
        throw invalid(`${field}.to[${j}]`, `'${String(a).slice(0, 100)}' is not an e-mail address.`);
      }
    });
    const note = text(v['note'], `${field}.note`, 2000, false);
    return { id, type, displayName, to: to as string[], ...(note !== undefined ? { note } : {}) };
  }
  throw invalid(`${field}.type`, "must be 'webhook' or 'email'.");
}

/** Checks the shape of a PUT body (or a merged PATCH); the template checks come after. */
export function parseRuleBody(body: unknown): RuleBody {
  if (!isObject(body)) throw invalid('body', 'must be a JSON object.');
  const displayName = text(body['displayName'], 'displayName', 255)!;
  const enabled = body['enabled'] ?? true;
  if (typeof enabled !== 'boolean') throw invalid('enabled', 'must be true or false.');
  const target = body['target'];
  if (!isObject(target)) throw invalid('target', 'must be an object with a template.');
  const template = text(target['template'], 'target.template', 1024)!;
  const filter = text(target['filter'], 'target.filter', 2048, false);
  const conditions = parseConditions(body['conditions']);
  const actions = body['actions'] ?? [];
  if (!Array.isArray(actions)) throw invalid('actions', 'must be an array.');
  if (actions.length > MAX_ACTIONS)
    throw invalid('actions', `at most ${MAX_ACTIONS} actions per rule (${actions.length} given).`);
  const parsed = actions.map(parseAction);
  const ids = new Set<string>();
  parsed.forEach((a, i) => {
    if (ids.has(a.id)) throw invalid(`actions[${i}].id`, `'${a.id}' is used twice.`);
    ids.add(a.id);
  });
  return {
    displayName,
    enabled,
    target: { template, ...(filter !== undefined ? { filter } : {}) },
    conditions,
    actions: parsed,
  };
}
