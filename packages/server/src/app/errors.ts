import { errorFactory, type ErrorSpec } from '../errors.js';

/** Error codes of the application context (API tokens, roles, devices as the operator sees them). */
export const APP_ERRORS = {
  ERR_API_TOKEN_NOT_FOUND: { status: 404, summary: 'No API token has this ID.' },
  ERR_ROLE_NOT_FOUND: { status: 404, summary: 'No role has this ID.' },
  ERR_TEMPLATE_NOT_FOUND: {
    status: 404,
    summary:
      'No device template has this ID: 404 on `/api/deviceTemplates/{id}`, 400 when a device body names it in `template`.',
    fix: 'List the templates (`GET /api/deviceTemplates`) and use a template `@id` (not its capability model `@id`).',
  },
  ERR_DTDL_INVALID: {
    status: 400,
    summary:
      "The device template is not valid DTDL v2 (or a convertible 2020 capability model); the message names the element by its JSON path, e.g. `capabilityModel.contents[2] (name 'temp')`.",
    fix: 'Correct the named element: schema names, semantic type and unit, unique names, `@id` DTMIs (`dtmi:com:example:Name;1`).',
  },
  ERR_TEMPLATE_IN_USE: {
    status: 409,
    summary: 'The device template cannot be deleted while devices use it (built-in templates too).',
    fix: 'Assign those devices another template (or none: `template: null`), or delete them, then delete the template.',
  },
  ERR_TEMPLATE_INCOMPATIBLE: {
    status: 409,
    summary:
      'The PUT would remove or change telemetry, properties or commands of a model under the same DTMI; a published model may only gain contents or change display metadata (CENTRAL_API.md §6 Versioning).',
    fix: 'Give the capability model a new version (`…;2`) in its `@id`, or keep the existing contents unchanged.',
  },
  ERR_SIGNIN_FAILED: {
    status: 401,
    summary:
      'Sign-in refused: the user name is unknown or the password is wrong (deliberately not saying which).',
    fix: 'Check both; the first administrator is `admin`, its password is printed once by `gatehouse serve` and kept in <data>/admin-password, or set with GATEHOUSE_ADMIN_PASSWORD.',
  },
  ERR_SIGNIN_THROTTLED: {
    status: 429,
    summary:
      'Too many failed sign-ins for this user name: 10 in the last minute, or `--sign-in-account-limit` (default 20) in the last hour.',
    fix: 'Wait for the time the message (and the retry-after header) gives, then try again.',
  },
  ERR_SIGNIN_IP_THROTTLED: {
    status: 429,
    summary:
      'Too many failed sign-ins from this client address in the last minute (`--sign-in-ip-limit`, default 5), whatever the user names.',
    fix: 'Wait for the time the message (and the retry-after header) gives. Behind a reverse proxy, name it with `--http-trust-proxy` so each client counts apart.',
  },
  ERR_USER_DISABLED: {
    status: 403,
    summary: 'The password is right but an administrator disabled this user: it cannot sign in.',
    fix: 'Ask an administrator to enable it (`PATCH /api/users/{id}` with `disabled: false`).',
  },
  ERR_USER_DISABLE_SELF: {
    status: 409,
    summary: 'A signed-in user cannot disable their own account.',
    fix: 'Ask another administrator to disable it.',
  },
  ERR_CSRF_REFUSED: {
    status: 403,
    summary:
      'A change authenticated by the session cookie came without the anti-forgery header `X-Gatehouse-Request: 1`, or from another site (`Sec-Fetch-Site`, `Origin`).',
    fix: 'The web UI sends the header itself: reload it. Scripts use `Authorization: Bearer <token>`, which needs no header.',
  },
  ERR_SESSION_REQUIRED: {
    status: 403,
    summary: 'This call is about the signed-in user, but the request is authenticated with an API token.',
    fix: 'Sign in with POST /api/session and send the session token as `Authorization: Bearer <token>`.',
  },
  ERR_CURRENT_PASSWORD_WRONG: {
    status: 403,
    summary: 'Changing your password needs your current password, and the one sent is wrong.',
  },
  ERR_PASSWORD_WEAK: {
    status: 400,
    summary:
      'The password is shorter than 8 characters (or longer than 1024), or one of the 50,000 most common passwords (OWASP ASVS 6.2.4).',
    fix: 'Choose a longer password; a passphrase of a few words is easy to remember.',
  },
  ERR_USER_NOT_FOUND: { status: 404, summary: 'No user has this ID.' },
  ERR_USERNAME_TAKEN: {
    status: 409,
    summary: 'Another user already signs in with this user name (user names ignore case).',
  },
  ERR_LAST_ADMIN: {
    status: 409,
    summary: 'The change would leave no administrator who can sign in (an Administrator with a password).',
    fix: 'Give another user with a password the Administrator role first.',
  },
  ERR_USER_DELETE_SELF: {
    status: 409,
    summary: 'A signed-in user cannot delete their own account.',
    fix: 'Ask another administrator to delete it.',
  },
  ERR_DASHBOARD_NOT_FOUND: { status: 404, summary: 'No dashboard has this ID.' },
  ERR_DASHBOARD_INVALID: {
    status: 400,
    summary: 'The dashboard breaks a rule; the message names the tile and the field.',
    fix: 'Tiles need a unique id, a type (lineChart, kpi, lastKnownValue), a place on the 12-column grid that overlaps no other tile, and the configuration their type needs.',
  },
  ERR_DEVICE_GROUP_NOT_FOUND: {
    status: 404,
    summary: 'No device group has this ID (`/api/deviceGroups/{id}`, or the `deviceGroup` of a device list).',
    fix: 'List the groups (`GET /api/deviceGroups`) and use one of their `id`s.',
  },
  ERR_DEVICE_GROUP_INVALID: {
    status: 400,
    summary:
      'The device group body fails validation; the message names the field (`displayName`, `filter`, `description`, `organizations`).',
    fix: 'Send `{ "displayName": "…", "filter": "SELECT * FROM devices WHERE …", "description"?: "…" }`.',
  },
  ERR_DEVICE_QUERY_INVALID: {
    status: 400,
    summary:
      "A device query (a device group's `filter`) does not parse; the message gives the field, the 1-based position and the token found there, and what was expected.",
    fix: 'Write `SELECT * FROM devices WHERE <conditions>` with $id, $displayName, $template, $simulated, $provisioned, $enabled or property names, = != < <= > >= IN [..], CONTAINS(field, "text"), AND, OR, NOT and parentheses; strings in double quotes.',
  },
  ERR_DEVICE_GROUP_LIMIT: {
    status: 409,
    summary: 'The application already has 500 device groups (the IoT Central limit).',
    fix: 'Delete groups that are no longer used.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type AppErrorCode = keyof typeof APP_ERRORS;
export const appError = errorFactory(APP_ERRORS);
