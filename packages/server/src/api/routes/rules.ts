import type { FastifyInstance, FastifyRequest } from 'fastify';

import type { Firing } from '../../rules/rule-store.js';
import type { RuleService, RuleView } from '../../rules/rule-service.js';
import { commonError } from '../../validation.js';
import type { ApiDeps } from '../deps.js';
import { listAnswer, listQueryDoc, nextLink } from '../list-query.js';
import type { FieldTable } from '../odata-filter.js';
import { doc } from './schema.js';
import { RULE, RULE_FIRING_PAGE, RULE_PAGE } from '../responses/rules.js';

type RuleParams = { Params: { id: string } };

const RULE_FIELDS: FieldTable<RuleView> = {
  id: { type: 'string', get: (r) => r.id },
  displayName: { type: 'string', get: (r) => r.displayName },
  enabled: { type: 'boolean', get: (r) => r.enabled },
};

const RULE_ID_DOC = 'Rule ID: letters, digits, - and _, 1–255 characters.';
const BODY_DOC =
  'Body `{ displayName, enabled?, target: { template, filter? }, conditions: { match: "all"|"any", aggregationWindow?: "PT5M"|"PT10M"|"PT15M"|"PT30M"|"PT1H", items: [{ type?: "telemetry"|"property", capability: "name"|"component.name", operator: ">"|">="|"<"|"<="|"=="|"!="|"contains", value | cloudProperty, aggregation?: "avg"|"min"|"max"|"sum"|"count" } | { type: "disconnected", minutes }] }, actions: [{ type: "webhook", displayName, url } | { type: "email", displayName, to: [addresses], note? }] }`. At most 50 rules and 5 actions per rule. A refusal is 400 ERR_RULE_INVALID whose message starts with the field, 409 ERR_RULE_LIMIT, or 400 ERR_RULE_SMTP_NOT_CONFIGURED; nothing is changed then. See docs/rules.md.';
const HISTORY_QUERY = {
  maxpagesize: 'Firings per page, 1–100 (default 100), newest first.',
  $skiptoken: 'Where the page starts (from nextLink).',
};

function historyPage(request: FastifyRequest): { limit: number; before?: number } {
  const q = (request.query ?? {}) as Record<string, unknown>;
  const size = q['maxpagesize'] ?? q['$top'];
  const limit = size === undefined ? 100 : Number(size);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw commonError('ERR_QUERY_INVALID', 'maxpagesize: must be a whole number from 1 to 100.');
  }
  const token = q['$skiptoken'];
  if (token === undefined) return { limit };
  const before = Number(token);
  if (!Number.isInteger(before) || before < 1)
    throw commonError('ERR_QUERY_INVALID', '$skiptoken: not a token of this list.');
  return { limit, before };
}

function historyAnswer(
  request: FastifyRequest,
  deps: Pick<ApiDeps, 'application'>,
  firings: Firing[],
  limit: number,
): { value: Firing[]; nextLink?: string } {
  const last = firings[firings.length - 1];
  if (firings.length < limit || !last) return { value: firings };
  return { value: firings, nextLink: nextLink(request, deps.application, String(last.id)) };
}

/**
 * `/api/rules` (docs/rules.md; IoT Central has no rules API, EXPORT_RULES.md §4.5): rules in
 * IoT Central's style, and the fired-rule history per rule and per device.
 */
export function ruleRoutes(
  app: FastifyInstance,
  deps: Pick<ApiDeps, 'application' | 'hub'> & { rules?: RuleService },
): void {
  const rules = deps.rules;
  if (!rules) return;
  const tag = 'Rules';
  const rule = { params: { id: RULE_ID_DOC } };

  app.get(
    '/api/rules',
    {
      schema: doc(tag, 'List the rules', { query: listQueryDoc(RULE_FIELDS), responses: { 200: RULE_PAGE } }),
    },
    async (request) => listAnswer(request, await rules.list(), RULE_FIELDS, deps.application),
  );
  app.get<RuleParams>(
    '/api/rules/:id',
    {
      schema: doc(tag, "Get a rule, with its actions' sent, suppressed and failed counts", {
        ...rule,
        responses: { 200: RULE },
      }),
    },
    async (request) => rules.get(request.params.id),
  );
  app.put<RuleParams>(
    '/api/rules/:id',
    {
      schema: doc(tag, 'Create or replace a rule; 200', {
        ...rule,
        description: BODY_DOC,
        responses: { 200: RULE },
      }),
    },
    async (request) => rules.put(request.params.id, request.body),
  );
  app.patch<RuleParams>(
    '/api/rules/:id',
    {
      schema: doc(tag, 'Update a rule (JSON merge patch); 200', {
        ...rule,
        description:
          'Takes `application/json` or `application/merge-patch+json`; the result is checked as a PUT body.',
        responses: { 200: RULE },
      }),
    },
    async (request) => rules.patch(request.params.id, request.body),
  );
  app.delete<RuleParams>(
    '/api/rules/:id',
    { schema: doc(tag, 'Delete a rule and its history; 204', { ...rule, responses: { 204: null } }) },
    async (request, reply) => {
      await rules.delete(request.params.id);
      return reply.code(204).send();
    },
  );
  app.get<RuleParams>(
    '/api/rules/:id/history',
    {
      schema: doc(tag, "The rule's firings, newest first: device, time, values and what each action did", {
        ...rule,
        query: HISTORY_QUERY,
        responses: { 200: RULE_FIRING_PAGE },
      }),
    },
    async (request) => {
      const { limit, before } = historyPage(request);
      return historyAnswer(request, deps, await rules.historyOfRule(request.params.id, limit, before), limit);
    },
  );
  app.get<RuleParams>(
    '/api/devices/:id/ruleHistory',
    {
      schema: doc(tag, 'The rules fired on a device, newest first', {
        params: { id: 'Device ID.' },
        description:
          'A device that does not exist (or was deleted) is 404 ERR_DEVICE_NOT_FOUND, as for its other resources.',
        query: HISTORY_QUERY,
        responses: { 200: RULE_FIRING_PAGE },
      }),
    },
    async (request) => {
      const { limit, before } = historyPage(request);
      // The firings stay in the rule's history after the device is deleted; the device's own
      // view goes with it (found by the REST fuzzer's delete-then-use sequence).
      await deps.hub.getDevice(request.params.id);
      return historyAnswer(
        request,
        deps,
        await rules.historyOfDevice(request.params.id, limit, before),
        limit,
      );
    },
  );
}
