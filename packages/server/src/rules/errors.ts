import { errorFactory, type ErrorSpec } from '../errors.js';

/** Error codes of rules and their actions (EXPORT_RULES.md §4, docs/rules.md). */
export const RULE_ERRORS = {
  ERR_RULE_NOT_FOUND: { status: 404, summary: 'No rule has this ID.' },
  ERR_RULE_INVALID: {
    status: 400,
    summary:
      'The rule body fails validation; the message starts with the field: `target.template` (no such template), `conditions.items[0].capability` (not telemetry or a property of the template), `conditions.items[0].value` (of the wrong type for its schema), `conditions.items[0].cloudProperty`, `conditions.aggregationWindow`, `actions` (more than 5), `actions[0].url` (not http or https), `actions[0].to[0]` (not an e-mail address).',
    fix: 'Correct the named field; the template summary (`GET /api/deviceTemplates/{id}` → `summary`) lists the telemetry, properties and their schemas.',
  },
  ERR_RULE_LIMIT: {
    status: 409,
    summary: 'The application has 50 rules already (the IoT Central limit).',
    fix: 'Delete a rule you no longer need (`DELETE /api/rules/{id}`), or change an existing one.',
  },
  ERR_RULE_SMTP_NOT_CONFIGURED: {
    status: 400,
    summary: 'An e-mail action needs an SMTP server, and this Gatehouse was started without `--smtp-url`.',
    fix: 'Start `gatehouse serve` with `--smtp-url smtp://user:pass@host:587` (or GATEHOUSE_SMTP_URL), or use a webhook action.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type RuleErrorCode = keyof typeof RULE_ERRORS;
export const ruleError = errorFactory(RULE_ERRORS);
