/**
 * The query of `GET /api/auditLogs`, checked: each bad value is a 400 that names its
 * parameter (ERR_QUERY_INVALID), and nothing is read.
 */
import { MAX_PAGE_SIZE } from '../api/list-query.js';
import { queryText } from '../api/routes/params.js';
import { commonError } from '../validation.js';
import { ACTOR_TYPES, AUDIT_ACTIONS, type AuditAction } from './audit-entry.js';
import type { AuditQuery } from './audit-log.js';

/** A page without `$top`: the log grows without bound, so it is paged even then. */
export const DEFAULT_AUDIT_PAGE = MAX_PAGE_SIZE;

const MAX_TEXT = 1024;
const RESOURCE_TYPE = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
/** ISO 8601 date-time with a zone (`2026-01-01T00:00:00Z`, `…+02:00`), or a date (UTC midnight). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

export const AUDIT_QUERY_DOC: Record<string, string> = {
  actor: 'Only changes by this user (id or user name) or API token (id).',
  actorType: `Only changes by this kind of caller: ${ACTOR_TYPES.join(', ')}.`,
  resourceType:
    'Only changes to this kind of resource (device, deviceTemplate, enrollmentGroup, apiToken, user, session, …).',
  resourceId: 'Only changes to the resource with this id.',
  action: `Only this action: ${AUDIT_ACTIONS.join(', ')}.`,
  from: 'Only changes at or after this time (ISO 8601, e.g. 2026-01-31T00:00:00Z).',
  to: 'Only changes at or before this time (ISO 8601).',
  $top: `Page size, 1–${MAX_PAGE_SIZE} (default ${DEFAULT_AUDIT_PAGE}); the answer has nextLink while more remain.`,
  maxpagesize: 'The same as $top.',
  $skiptoken: 'Where the page starts; taken from nextLink.',
};

function invalid(name: string, message: string): Error {
  return commonError('ERR_QUERY_INVALID', `The query parameter '${name}' ${message}`);
}

function text(query: Record<string, unknown>, name: string): string | undefined {
  const value = queryText(query, name);
  if (value !== undefined && value.length > MAX_TEXT)
    throw invalid(name, `is longer than ${MAX_TEXT} characters.`);
  return value;
}

function time(query: Record<string, unknown>, name: string): string | undefined {
  const value = text(query, name);
  if (value === undefined) return undefined;
  const ms = ISO_TIME.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms))
    throw invalid(name, `must be an ISO 8601 time such as 2026-01-31T00:00:00Z; got '${value}'.`);
  return new Date(ms).toISOString();
}

/** The next page's start: the id the last entry of this page had. */
export function skipToken(beforeId: number): string {
  return Buffer.from(JSON.stringify({ b: beforeId })).toString('base64url');
}

function readSkipToken(token: string | undefined): number | undefined {
  if (token === undefined) return undefined;
  try {
    const b = (JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { b?: unknown } | null)?.b;
    if (typeof b === 'number' && Number.isSafeInteger(b) && b > 0) return b;
  } catch {
    // falls through to the refusal
  }
  throw invalid('$skiptoken', 'is not one this server wrote: follow nextLink as it is.');
}

export function parseAuditQuery(query: Record<string, unknown>): AuditQuery {
  const actor = text(query, 'actor');
  const actorType = text(query, 'actorType');
  if (actorType !== undefined && !(ACTOR_TYPES as readonly string[]).includes(actorType))
    throw invalid('actorType', `must be one of ${ACTOR_TYPES.join(', ')}; got '${actorType}'.`);
  const resourceType = text(query, 'resourceType');
  if (resourceType !== undefined && !RESOURCE_TYPE.test(resourceType))
    throw invalid(
      'resourceType',
      `must be a resource type such as device or enrollmentGroup (letters and digits); got '${resourceType}'.`,
    );
  const resourceId = text(query, 'resourceId');
  const action = text(query, 'action');
  if (action !== undefined && !(AUDIT_ACTIONS as readonly string[]).includes(action))
    throw invalid('action', `must be one of ${AUDIT_ACTIONS.join(', ')}; got '${action}'.`);
  const from = time(query, 'from');
  const to = time(query, 'to');
  if (from !== undefined && to !== undefined && from > to) throw invalid('from', `is after 'to'.`);
  const topText = text(query, '$top');
  const maxText = text(query, 'maxpagesize');
  if (topText !== undefined && maxText !== undefined)
    throw invalid('$top', 'and maxpagesize: give one, not both.');
  const sizeName = topText !== undefined ? '$top' : 'maxpagesize';
  const size = topText ?? maxText;
  if (size !== undefined && (!/^\d{1,4}$/.test(size) || Number(size) < 1 || Number(size) > MAX_PAGE_SIZE))
    throw invalid(sizeName, `must be a whole number from 1 to ${MAX_PAGE_SIZE}; got '${size}'.`);
  const beforeId = readSkipToken(text(query, '$skiptoken'));
  return {
    ...(actor !== undefined ? { actor } : {}),
    ...(actorType !== undefined ? { actorType } : {}),
    ...(resourceType !== undefined ? { resourceType } : {}),
    ...(resourceId !== undefined ? { resourceId } : {}),
    ...(action !== undefined ? { action: action as AuditAction } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(beforeId !== undefined ? { beforeId } : {}),
    limit: size !== undefined ? Number(size) : DEFAULT_AUDIT_PAGE,
  };
}
