/**
 * The checks of a rule against its template (EXPORT_RULES.md §4.1): the template exists, each
 * condition names telemetry or a property the template has, the threshold has the capability's
 * type (a number for numeric schemas, a string for `contains`), a cloud property threshold is a
 * cloud property of compatible type; the filter parses; e-mail needs an SMTP server.
 */
import { parseQueryField } from '../app/device-groups.js';
import type { PropertyInfo, SchemaValue, TelemetryInfo, TemplateSummary } from '../app/dtdl-summary.js';
import { ruleError } from './errors.js';
import { invalid, type RuleBody, type ValueCondition } from './rule-shape.js';

export interface RuleCheckContext {
  /** The template's summary, undefined when there is no such template. */
  template(id: string): Promise<TemplateSummary | undefined>;
  smtpConfigured: boolean;
}

type Kind = 'number' | 'string' | 'boolean' | 'other';

const NUMERIC = new Set(['double', 'float', 'integer', 'long']);

/** What a schema's values compare as: enums as their value schema, the rest as JSON types. */
export function schemaKind(schema: SchemaValue): Kind {
  if (typeof schema === 'string') {
    if (NUMERIC.has(schema)) return 'number';
    if (schema === 'string') return 'string';
    if (schema === 'boolean') return 'boolean';
    return 'other';
  }
  if (schema['@type'] === 'Enum' && typeof schema['valueSchema'] === 'string') {
    return schema['valueSchema'] === 'string' ? 'string' : 'number';
  }
  return 'other';
}

function split(capability: string): { component?: string; name: string } {
  const dot = capability.indexOf('.');
  return dot < 0
    ? { name: capability }
    : { component: capability.slice(0, dot), name: capability.slice(dot + 1) };
}

function find<T extends TelemetryInfo | PropertyInfo>(list: readonly T[], capability: string): T | undefined {
  const { component, name } = split(capability);
  return list.find((c) => c.name === name && (c.component ?? undefined) === component);
}

function checkValue(c: ValueCondition, kind: Kind, field: string, summary: TemplateSummary): void {
  // count counts messages: its threshold is a number whatever the capability's schema.
  const expected: Kind = c.aggregation === 'count' ? 'number' : kind;
  if (c.operator === 'contains' && expected !== 'string') {
    throw invalid(`${field}.operator`, 'contains compares strings; this capability is not a string.');
  }
  if (expected === 'other' && c.aggregation === undefined) {
    if (c.operator !== '==' && c.operator !== '!=') {
      throw invalid(
        `${field}.operator`,
        'objects and other complex values can only be compared with == and !=.',
      );
    }
  }
  if (
    (c.aggregation === 'avg' ||
      c.aggregation === 'sum' ||
      c.aggregation === 'min' ||
      c.aggregation === 'max') &&
    kind !== 'number'
  ) {
    throw invalid(`${field}.aggregation`, `${c.aggregation} needs numeric telemetry; use count.`);
  }
  if (expected === 'boolean' && c.operator !== '==' && c.operator !== '!=') {
    throw invalid(`${field}.operator`, 'booleans are compared with == or !=.');
  }
  if (c.cloudProperty !== undefined) {
    const cloud = find(summary.properties, c.cloudProperty);
    if (!cloud || !cloud.cloud) {
      throw invalid(
        `${field}.cloudProperty`,
        `'${c.cloudProperty}' is not a cloud property of the template.`,
      );
    }
    if (expected !== 'other' && schemaKind(cloud.schema) !== expected) {
      throw invalid(
        `${field}.cloudProperty`,
        `'${c.cloudProperty}' is not a ${expected} like the condition's value.`,
      );
    }
    return;
  }
  const actual = typeof c.value;
  if (expected !== 'other' && actual !== expected) {
    throw invalid(`${field}.value`, `must be a ${expected} (the capability's schema), not a ${actual}.`);
  }
}

/** Throws ERR_RULE_INVALID (naming the field) or ERR_RULE_SMTP_NOT_CONFIGURED. */
export async function checkRule(body: RuleBody, ctx: RuleCheckContext): Promise<void> {
  const summary = await ctx.template(body.target.template);
  if (!summary) throw invalid('target.template', `'${body.target.template}' is not a device template here.`);
  if (body.target.filter !== undefined) parseQueryField(body.target.filter, 'target.filter');
  body.conditions.items.forEach((c, i) => {
    if (c.type === 'disconnected') return;
    const field = `conditions.items[${i}]`;
    const info =
      c.type === 'telemetry' ? find(summary.telemetry, c.capability) : find(summary.properties, c.capability);
    if (!info) {
      throw invalid(
        `${field}.capability`,
        `'${c.capability}' is not ${c.type === 'telemetry' ? 'telemetry' : 'a property'} of template '${body.target.template}'.`,
      );
    }
    checkValue(c, schemaKind(info.schema), field, summary);
  });
  body.actions.forEach((a, i) => {
    if (a.type === 'email' && !ctx.smtpConfigured) {
      throw ruleError(
        'ERR_RULE_SMTP_NOT_CONFIGURED',
        `actions[${i}].type: e-mail actions need an SMTP server; start gatehouse serve with --smtp-url.`,
        { detail: { field: `actions[${i}].type` } },
      );
    }
  });
}
