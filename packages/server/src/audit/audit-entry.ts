/**
 * One audit entry: who changed what, when, and how it looked before and after. The REST shape
 * (`GET /api/auditLogs`) and IoT Central's `audit` export message (EXPORT_RULES.md §2.7) are
 * both made from it here.
 */

/** What was done. `created`/`updated`/`deleted` are IoT Central's; the rest are ours. */
export const AUDIT_ACTIONS = ['created', 'updated', 'deleted', 'invoked', 'signedIn', 'signedOut'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** The kinds of caller: IoT Central's export names them `user` and `apiToken`. */
export const ACTOR_TYPES = ['user', 'apiToken'] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

export interface AuditActor {
  type: ActorType;
  id: string;
  /** A user's user name (e-mail); an API token's id. */
  name?: string;
}

export interface AuditResource {
  /** `device`, `deviceTemplate`, `enrollmentGroup`, `apiToken`, `user`, `session`, … */
  type: string;
  id?: string;
  displayName?: string;
}

/** An entry before it is stored (the API hook makes it). */
export interface NewAuditEntry {
  time: string;
  actor: AuditActor;
  action: AuditAction;
  resource: AuditResource;
  method: string;
  /** The request path (without the query). */
  path: string;
  status: number;
  requestId?: string;
  /** The object before and after, secrets redacted; absent where there is none. */
  before?: unknown;
  after?: unknown;
}

/** An entry as `GET /api/auditLogs` answers it. */
export interface AuditEntry extends NewAuditEntry {
  id: number;
}

/** The top-level fields whose values differ between `before` and `after` (IoT Central's `updated`). */
export function changedFields(before: unknown, after: unknown): string[] {
  if (!isObject(before) || !isObject(after)) return [];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys]
    .filter((k) => k !== 'etag' && JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .sort();
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether the entry is one IoT Central's `audit` export carries (a create, update or delete). */
export function isExported(action: AuditAction): action is 'created' | 'updated' | 'deleted' {
  return action === 'created' || action === 'updated' || action === 'deleted';
}

/**
 * IoT Central's audit export message (EXPORT_RULES.md §2.7), without `applicationId` and
 * `enrichments` (the export adds them). `updated` (only on updates) lists the changed fields
 * and the sub-resource written: IoT Central documents it only as "more detail about the update".
 */
export function exportMessage(entry: AuditEntry): Record<string, unknown> {
  const resource: Record<string, unknown> = { id: entry.resource.id ?? '', type: entry.resource.type };
  if (entry.resource.displayName !== undefined) resource['displayName'] = entry.resource.displayName;
  const message: Record<string, unknown> = {
    actor: {
      id: entry.actor.id,
      type: entry.actor.type,
      ...(entry.actor.name ? { name: entry.actor.name } : {}),
    },
    enqueuedTime: entry.time,
    messageSource: 'audit',
    messageType: entry.action,
    resource,
    schema: 'default@v1',
  };
  if (entry.action === 'updated')
    message['updated'] = { fields: changedFields(entry.before, entry.after), path: entry.path };
  if (entry.resource.type === 'device' && entry.resource.id !== undefined)
    message['deviceId'] = entry.resource.id;
  return message;
}
