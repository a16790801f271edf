import type { FastifySchema } from 'fastify';

/** A JSON Schema (the OpenAPI 3.0 dialect: `nullable` allowed). */
export type JsonSchema = Record<string, unknown>;

/**
 * The answers of an operation by status: the body's schema, or `null` for an answer without a
 * body (204). Every operation also answers errors in the one error body (`ERROR_RESPONSE`).
 */
export type Responses = Record<number, JsonSchema | null>;

/** Where {@link doc} keeps an operation's {@link Responses} (see there). */
export const RESPONSES_KEY = 'x-gatehouse-responses';

/**
 * OpenAPI documentation of a route. Deliberately no body schemas, and the response schemas
 * kept apart from fastify's `response` (under {@link RESPONSES_KEY}): the services validate
 * bodies with specific error codes, and a fastify response schema would serialize with it,
 * dropping fields it does not list. The OpenAPI document takes them from there
 * (`openApiResponses`), and with `GATEHOUSE_CHECK_RESPONSES=1` (the test suite) every answer is
 * checked against them (api/response-check.ts).
 */
export function doc(
  tag: string,
  summary: string,
  options: {
    params?: Record<string, string>;
    query?: Record<string, string>;
    description?: string;
    responses?: Responses;
  } = {},
): FastifySchema {
  const schema: FastifySchema & Record<string, unknown> = {
    tags: [tag],
    summary,
    querystring: {
      type: 'object',
      properties: {
        'api-version': { type: 'string', description: 'Accepted for IoT Central compatibility and ignored.' },
        ...Object.fromEntries(
          Object.entries(options.query ?? {}).map(([k, d]) => [k, { type: 'string', description: d }]),
        ),
      },
    },
  };
  if (options.description !== undefined) schema['description'] = options.description;
  if (options.responses !== undefined) schema[RESPONSES_KEY] = options.responses;
  if (options.params) {
    schema.params = {
      type: 'object',
      properties: Object.fromEntries(
        Object.entries(options.params).map(([k, d]) => [k, { type: 'string', description: d }]),
      ),
      required: Object.keys(options.params),
    };
  }
  return schema;
}

export const GROUP_ID = 'Enrollment group ID: letters, digits and hyphens, 1–255 characters.';
export const ENTRY = "Certificate entry: 'primary' or 'secondary'.";
export const DEVICE_ID = 'Device ID: letters, digits, - . _ :, at most 128 characters.';
export const TEMPLATE_ID =
  'Device template ID: a DTMI (dtmi:com:example:Thermostat;1; the version may be absent). `;` may be sent as %3B.';
export const TOKEN_ID = 'API token ID: letters, digits, - and _, 1–48 characters.';
export const COMPONENT =
  'Component name (DTDL): a letter, then letters, digits and _, not ending with _, at most 64 characters.';
export const COMMAND_NAME = 'Command name: one MQTT topic level, without / ? # + or spaces.';
export const TELEMETRY_NAME = 'Telemetry field: a top-level field of the JSON messages the device sends.';
export const USER_ID = 'User ID: letters, digits, - . _, 1–64 characters (a GUID fits).';
export const DASHBOARD_ID = 'Dashboard ID: letters, digits, - and _, 1–48 characters.';
export const DEVICE_GROUP_ID = 'Device group ID: letters, digits, - and _, 1–255 characters.';
export const JOB_ID = 'Job ID: letters, digits, - and _, 1–255 characters.';
export const SCHEDULED_JOB_ID = 'Scheduled job ID: letters, digits, - and _, 1–255 characters.';
