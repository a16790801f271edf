/** Response schemas of the audit log (audit/audit-entry.ts `AuditEntry`). */
import { anyJson, dateTime, int, obj, page, str, strEnum } from './common.js';

/**
 * One entry. `before` and `after` are the object as the caller could read it, secrets
 * `[redacted]`, absent where there is none; `resource.id`, `resource.displayName`,
 * `actor.name` and `requestId` are absent when unknown.
 */
export const AUDIT_ENTRY = obj(
  {
    id: int,
    time: dateTime,
    actor: obj({ type: strEnum('user', 'apiToken'), id: str }, { name: str }),
    action: strEnum('created', 'updated', 'deleted', 'invoked', 'signedIn', 'signedOut'),
    resource: obj({ type: str }, { id: str, displayName: str }),
    method: str,
    path: str,
    status: int,
  },
  { requestId: str, before: anyJson, after: anyJson },
);

export const AUDIT_ENTRY_PAGE = page(AUDIT_ENTRY);
