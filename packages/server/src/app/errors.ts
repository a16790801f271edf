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
} as const satisfies Record<string, ErrorSpec>;

export type AppErrorCode = keyof typeof APP_ERRORS;
export const appError = errorFactory(APP_ERRORS);
