/**
 * Response schemas of the rule operations (rules/rule-shape.ts `Rule`, rule-service.ts
 * `RuleView`, rule-store.ts `Firing`).
 */
import { anyJson, arr, bool, dateTime, int, map, num, obj, page, str, strEnum } from './common.js';

/** A telemetry or property condition (`ValueCondition`): `value` or `cloudProperty`, not both. */
const VALUE_CONDITION = obj(
  {
    type: strEnum('telemetry', 'property'),
    capability: str,
    operator: strEnum('>', '>=', '<', '<=', '==', '!=', 'contains'),
  },
  {
    value: { anyOf: [str, num, bool] },
    cloudProperty: str,
    aggregation: strEnum('avg', 'min', 'max', 'sum', 'count'),
  },
);

/** Our extension (`DisconnectedCondition`): the device has been disconnected for `minutes`. */
const DISCONNECTED_CONDITION = obj({ type: strEnum('disconnected'), minutes: int });

export const RULE_CONDITIONS = obj(
  { match: strEnum('all', 'any'), items: arr({ oneOf: [VALUE_CONDITION, DISCONNECTED_CONDITION] }) },
  { aggregationWindow: strEnum('PT5M', 'PT10M', 'PT15M', 'PT30M', 'PT1H') },
);

const WEBHOOK_ACTION = obj({ id: str, type: strEnum('webhook'), displayName: str, url: str });
const EMAIL_ACTION = obj({ id: str, type: strEnum('email'), displayName: str, to: arr(str) }, { note: str });

/** An action's counts (`ActionCounts`); `lastError` says in words why it last failed. */
export const RULE_ACTION_COUNTS = obj({ sent: int, suppressed: int, failed: int }, { lastError: str });

/**
 * A rule as the API answers it: the body with its defaults, the etag, and the read-only
 * `lastFired` (absent until it fires) and `actionStatus` by action ID (absent until an action ran).
 */
export const RULE = obj(
  {
    id: str,
    etag: str,
    displayName: str,
    enabled: bool,
    target: obj({ template: str }, { filter: str }),
    conditions: RULE_CONDITIONS,
    actions: arr({ oneOf: [WEBHOOK_ACTION, EMAIL_ACTION] }),
  },
  { lastFired: dateTime, actionStatus: map(RULE_ACTION_COUNTS) },
);

export const RULE_PAGE = page(RULE);

/**
 * What made a rule fire (rules/payload.ts `FiredValues`): the telemetry values compared (`key`
 * is `value`, or the aggregation of a windowed rule), the property values of a property rule, or
 * since when the device is disconnected.
 */
const FIRING_DETAIL = obj(
  { telemetry: arr(obj({ name: str, key: str, value: anyJson }, { component: str })) },
  {
    properties: arr(obj({ name: str }, { component: str, value: anyJson })),
    disconnectedSince: dateTime,
  },
);

/** What one action did for a firing (`ActionOutcome`). */
const ACTION_OUTCOME = obj(
  { id: str, type: str, outcome: strEnum('sent', 'suppressed', 'failed') },
  { error: str },
);

/** One fired rule on one device (`Firing`). */
export const RULE_FIRING = obj({
  id: int,
  ruleId: str,
  deviceId: str,
  time: dateTime,
  detail: FIRING_DETAIL,
  actions: arr(ACTION_OUTCOME),
});

/** Firings newest first; `nextLink` while a full page may be followed by more. */
export const RULE_FIRING_PAGE = page(RULE_FIRING);
