/**
 * Checks an answer against its operation's documented response schema (`doc(..., { responses })`):
 * a status the operation documents against its schema, any other 4xx or 5xx against the error
 * body. With
 * `GATEHOUSE_CHECK_RESPONSES=1` (the test suite sets it) every JSON answer of the REST API is
 * checked, and one that does not conform is replaced by a 500 ERR_RESPONSE_NONCONFORMING naming
 * the field, so a test that exercises the route fails where the documentation and the code part.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import type { FastifyInstance } from 'fastify';

import { CONTENT_TYPE_KEY, ERROR_RESPONSE } from './responses/common.js';
import { RESPONSES_KEY, type JsonSchema, type Responses } from './routes/schema.js';

const ajv = new Ajv({ allErrors: false, strict: false, validateFormats: false });
const compiled = new WeakMap<JsonSchema, ValidateFunction>();

function validator(schema: JsonSchema): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

/**
 * Why `body` does not conform to what `responses` documents for `status`, or undefined when it
 * does (or when nothing is documented for a status: an operation without `responses` is not
 * checked, nor a non-JSON answer).
 */
export function nonconformity(
  responses: Responses | undefined,
  status: number,
  body: unknown,
): string | undefined {
  let schema: JsonSchema | null | undefined;
  // An error the operation documents itself (the 503 of /readyz), else the one error body.
  if (responses !== undefined && status in responses) schema = responses[status];
  else if (status >= 400) schema = ERROR_RESPONSE;
  else if (responses === undefined) return undefined;
  else if (!(status in responses))
    return `status ${status} is not documented (documented: ${Object.keys(responses).join(', ')})`;
  else schema = responses[status];
  if (schema === null) return body === undefined ? undefined : `status ${status} documents no body`;
  if (schema === undefined) return undefined;
  return schemaFailure(schema, body);
}

/** Why `body` does not conform to `schema` (its first error), or undefined when it does. */
export function schemaFailure(schema: JsonSchema, body: unknown): string | undefined {
  const validate = validator(schema);
  if (validate(body)) return undefined;
  const e = validate.errors?.[0];
  return e ? `${e.instancePath || '(the body)'} ${e.message ?? 'does not conform'}` : 'does not conform';
}

/** The `responses` a route documented, from its fastify schema. */
export function documentedResponses(schema: unknown): Responses | undefined {
  return (schema as Record<string, unknown> | undefined)?.[RESPONSES_KEY] as Responses | undefined;
}

/**
 * A route's schema as the OpenAPI document shows it: `response` holds its documented statuses
 * and the error body for 4XX and 5XX, and the private key is gone.
 */
export function forOpenApi(schema: Record<string, unknown>): Record<string, unknown> {
  const { [RESPONSES_KEY]: _documented, ...rest } = schema;
  return { ...rest, response: openApiResponses(schema) };
}

function openApiResponses(schema: Record<string, unknown>): Record<string, unknown> {
  const responses = documentedResponses(schema);
  const out: Record<string, unknown> = {};
  for (const [status, body] of Object.entries(responses ?? {})) {
    const contentType = body?.[CONTENT_TYPE_KEY];
    if (body === null) out[status] = { type: 'null', description: 'No content' };
    else if (typeof contentType === 'string') {
      const { [CONTENT_TYPE_KEY]: _type, description, ...schema } = body;
      out[status] = {
        description: typeof description === 'string' ? description : contentType,
        content: { [contentType]: { schema } },
      };
    } else out[status] = { description: 'Success', ...body };
  }
  out['4XX'] = { description: 'The request was refused (see docs/errors.md)', ...ERROR_RESPONSE };
  out['5XX'] = { description: 'The server failed', ...ERROR_RESPONSE };
  return out;
}

/**
 * Checks every JSON answer (see the file comment). The answers that are not JSON (CSV, the
 * metrics text, event streams, the web app) and routes outside `/api` are left alone.
 */
export function registerResponseCheck(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (!request.url.startsWith('/api/')) return payload;
    const type = String(reply.getHeader('content-type') ?? '');
    if (!type.startsWith('application/json')) return payload;
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
    const text = payload.toString();
    const status = reply.statusCode;
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    const why = nonconformity(documentedResponses(request.routeOptions.schema), status, body);
    if (why === undefined) return payload;
    const route = `${request.method} ${request.routeOptions.url ?? request.url}`;
    request.log.error({ route, status, why }, 'response does not conform to its documented schema');
    reply.code(500);
    reply.header('x-ms-error-code', 'ERR_RESPONSE_NONCONFORMING');
    return JSON.stringify({
      error: {
        code: 'ERR_RESPONSE_NONCONFORMING',
        message: `${route} answered ${status}, which does not conform to its documented schema: ${why}. Body: ${text.slice(0, 500)}`,
        requestId: request.id,
        time: new Date().toUTCString(),
      },
    });
  });
}
