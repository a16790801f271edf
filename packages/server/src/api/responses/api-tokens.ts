/** Response schemas of the API token operations (app/api-tokens.ts `ApiToken`, `CreatedApiToken`). */
import { arr, dateTime, obj, page, str } from './common.js';
import { ROLE_ASSIGNMENT } from './roles.js';

const TOKEN_FIELDS = { id: str, roles: arr(ROLE_ASSIGNMENT), expiry: dateTime };

/** A token as listed and read: never its secret. */
export const API_TOKEN = obj(TOKEN_FIELDS);

export const API_TOKEN_PAGE = page(API_TOKEN);

/** The answer to PUT: the only time `token` (the Authorization header value) is shown. */
export const CREATED_API_TOKEN = obj({ ...TOKEN_FIELDS, token: str });
