/** Response schemas of the user operations (app/users.ts `User`). */
import { arr, obj, page, str, strEnum } from './common.js';
import { ROLE_ASSIGNMENT } from './roles.js';

export const USER = obj(
  { id: str, type: strEnum('email'), email: str, username: str, roles: arr(ROLE_ASSIGNMENT) },
  // Present (true) only on a disabled user.
  { disabled: { type: 'boolean', enum: [true] } },
);

export const USER_PAGE = page(USER);
