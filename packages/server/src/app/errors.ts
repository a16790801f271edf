import { errorFactory, type ErrorSpec } from '../errors.js';

/** Error codes of the application context (API tokens, roles, devices as the operator sees them). */
export const APP_ERRORS = {
  ERR_API_TOKEN_NOT_FOUND: { status: 404, summary: 'No API token has this ID.' },
  ERR_ROLE_NOT_FOUND: { status: 404, summary: 'No role has this ID.' },
} as const satisfies Record<string, ErrorSpec>;

export type AppErrorCode = keyof typeof APP_ERRORS;
export const appError = errorFactory(APP_ERRORS);
