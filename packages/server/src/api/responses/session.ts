/** Response schemas of `/api/session` (app/sessions.ts `CreatedSession`, `SessionInfo`). */
import { arr, dateTime, int, obj, str } from './common.js';
import { ROLE_ID } from './roles.js';

/** The signed-in user, roles as plain role IDs (`SessionUser`). */
const SESSION_USER = obj({ id: str, username: str, roles: arr(ROLE_ID) });

/** `POST /api/session`: `token` is left out when it was set as the session cookie (`cookie: true`). */
export const CREATED_SESSION = obj({ expiresAt: dateTime, user: SESSION_USER }, { token: str });

/** `GET /api/session`. */
export const SESSION_INFO = obj({ user: SESSION_USER, expiresAt: dateTime, idleTimeoutSeconds: int });
