/**
 * The built-in roles of an IoT Central application, with the fixed GUIDs the
 * REST API uses (CENTRAL_API.md §1.2), and what each may do in Gatehouse.
 */
export const ROLE_IDS = {
  administrator: 'ca310b8d-2f4a-44e0-a36e-957c202cd8d4',
  builder: '344138e9-8de4-4497-8c54-5237e96d6aaf',
  operator: 'ae2c9854-393b-4f97-8c42-479d70ce626e',
  orgAdmin: 'c495eb57-eb18-489e-9802-62c474e5645c',
  orgOperator: 'b4935647-30e4-4ed3-9074-dcac66c2f8ef',
  orgViewer: '84cc62c1-dabe-49d3-b16e-8b291232b285',
} as const;

export type RoleId = (typeof ROLE_IDS)[keyof typeof ROLE_IDS];

/** `GET /api/roles` items. */
export interface Role {
  id: RoleId;
  displayName: string;
}

export const ROLES: readonly Role[] = [
  { id: ROLE_IDS.administrator, displayName: 'Administrator' },
  { id: ROLE_IDS.builder, displayName: 'Builder' },
  { id: ROLE_IDS.operator, displayName: 'Operator' },
  { id: ROLE_IDS.orgAdmin, displayName: 'Org Admin' },
  { id: ROLE_IDS.orgOperator, displayName: 'Org Operator' },
  { id: ROLE_IDS.orgViewer, displayName: 'Org Viewer' },
];

export function isRoleId(id: unknown): id is RoleId {
  return ROLES.some((r) => r.id === id);
}

/**
 * What a request needs: `read` (GET), `write` (anything that changes state) or
 * `manageApiTokens` (every call under `/api/apiTokens`, reads included: token
 * metadata is an administrator's business), `manageUsers` (likewise for
 * `/api/users`). `operate` is what IoT Central lets an Operator do to a device
 * without changing it: run commands, set writable properties, send
 * cloud-to-device messages. `session` is what any authenticated caller may do
 * to their own sign-in session (read it, sign out, change their password).
 */
export type Permission = 'read' | 'operate' | 'write' | 'manageApiTokens' | 'manageUsers' | 'session';

/** Permissions only the Administrator role grants. */
const ADMINISTRATOR_ONLY: readonly Permission[] = ['manageApiTokens', 'manageUsers'];

/**
 * Administrator: everything. Builder: everything except API tokens and users.
 * Operator: read and operate. The organization roles (no organizations yet):
 * read-only. Every role: its own session.
 */
export function rolesAllow(roles: readonly string[], permission: Permission): boolean {
  if (roles.includes(ROLE_IDS.administrator)) return true;
  if (permission === 'session') return roles.some(isRoleId);
  if (roles.includes(ROLE_IDS.builder)) return !ADMINISTRATOR_ONLY.includes(permission);
  if (permission === 'operate' && roles.includes(ROLE_IDS.operator)) return true;
  return permission === 'read' && roles.some(isRoleId);
}
