import { errorFactory, type ErrorSpec } from './errors.js';

/** Errors common to every REST resource. */
export const COMMON_ERRORS = {
  ERR_BAD_REQUEST: { status: 400, summary: 'The request is malformed (e.g. the body is not JSON).' },
  ERR_QUERY_INVALID: {
    status: 400,
    summary:
      'A list option is malformed: `$filter` (the message names the position and what was expected), `$orderby` (an unknown or repeated field, a direction other than asc/desc), `$top`/`maxpagesize` (not 1–100) or `$skiptoken` (not from a nextLink).',
  },
  ERR_INVALID_ID: {
    status: 400,
    summary: 'An ID in the path breaks its pattern (see the API reference for each resource).',
  },
  ERR_VALIDATION: {
    status: 422,
    summary: 'The body is well-formed JSON but fails validation; the message names the field.',
  },
  ERR_UNAUTHENTICATED: {
    status: 401,
    summary:
      'No valid credentials: the Authorization header is missing, malformed, expired, or names a deleted token; or a sign-in session ended (12 hours after sign-in, or after `--session-idle-timeout`, 30 minutes, without a request: the message says which).',
    fix: 'Sign in again.',
  },
  ERR_FORBIDDEN: { status: 403, summary: "The token's role does not allow this operation." },
  ERR_NOT_FOUND: { status: 404, summary: 'No such route or resource.' },
  ERR_METHOD_NOT_ALLOWED: { status: 405, summary: 'The resource exists but does not support this method.' },
  ERR_PAYLOAD_TOO_LARGE: {
    status: 413,
    summary:
      'The request body is larger than the limit (1 MiB for the REST API, `--api-body-limit`; 32 MiB for imports).',
    fix: 'Send a smaller body, or raise `--api-body-limit`.',
  },
  ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    summary: 'The body must be JSON (`application/json` or `application/merge-patch+json`).',
  },
  ERR_ETAG_MISMATCH: {
    status: 412,
    summary: 'The `etag` sent does not match the current version of the resource.',
  },
  ERR_INTERNAL: {
    status: 500,
    summary: 'An unexpected server error; the log has the cause under the request ID.',
  },
  ERR_RESPONSE_NONCONFORMING: {
    status: 500,
    summary:
      'Only with `GATEHOUSE_CHECK_RESPONSES=1` (the test suite): an answer did not conform to the schema its operation documents in `/api/openapi.json`; the message names the field.',
  },
} as const satisfies Record<string, ErrorSpec>;

export const commonError = errorFactory(COMMON_ERRORS);

/** Pattern checks for path IDs (CENTRAL_API.md §1.1). */
export const ID_PATTERNS = {
  enrollmentGroupId: { re: /^[a-zA-Z0-9-]{1,255}$/, text: 'letters, digits and hyphens, 1–255 characters' },
  deviceId: {
    re: /^[a-zA-Z0-9][a-zA-Z0-9._:-]{0,127}$/,
    text: 'letters, digits, - . _ :, starting with a letter or digit, at most 128 characters',
  },
  apiTokenId: { re: /^[a-zA-Z0-9_-]{1,48}$/, text: 'letters, digits, - and _, 1–48 characters' },
  userId: { re: /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/, text: 'letters, digits, - . _, 1–64 characters' },
  dashboardId: { re: /^[a-zA-Z0-9_-]{1,48}$/, text: 'letters, digits, - and _, 1–48 characters' },
} as const;

export function checkId(kind: keyof typeof ID_PATTERNS, value: string): void {
  const p = ID_PATTERNS[kind];
  if (!p.re.test(value)) throw commonError('ERR_INVALID_ID', `${kind} '${value}' is invalid: use ${p.text}.`);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Read an optional field of a given type, or throw ERR_VALIDATION naming it. */
export function field<T extends 'string' | 'boolean' | 'number' | 'object'>(
  body: Record<string, unknown>,
  name: string,
  type: T,
  required: boolean,
):
  | (T extends 'string'
      ? string
      : T extends 'boolean'
        ? boolean
        : T extends 'number'
          ? number
          : Record<string, unknown>)
  | undefined {
  const v = body[name];
  if (v === undefined || v === null) {
    if (required) throw commonError('ERR_VALIDATION', `'${name}' is required.`);
    return undefined;
  }
  const ok = type === 'object' ? isObject(v) : typeof v === type;
  if (!ok)
    throw commonError(
      'ERR_VALIDATION',
      `'${name}' must be ${type === 'object' ? 'an object' : `a ${type}`}.`,
    );
  return v as never;
}
