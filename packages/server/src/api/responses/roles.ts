/** Response schemas of the roles (app/roles.ts `Role`), and the role assignments of tokens and users. */
import { ROLES } from '../../app/roles.js';
import { obj, page, str } from './common.js';

/** The ID of a built-in role (a fixed GUID, `GET /api/roles`). */
export const ROLE_ID = { type: 'string', enum: ROLES.map((r) => r.id) };

export const ROLE = obj({ id: ROLE_ID, displayName: str });

export const ROLE_PAGE = page(ROLE);

/** app/api-tokens.ts `RoleAssignment`. */
export const ROLE_ASSIGNMENT = obj({ role: ROLE_ID });
