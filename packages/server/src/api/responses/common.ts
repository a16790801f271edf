/**
 * Builders of the response schemas that document each operation (`doc(..., { responses })`)
 * and that `GATEHOUSE_CHECK_RESPONSES=1` and the REST fuzzer check answers against.
 * Objects stay open (`additionalProperties` is not set): a schema lists what a client may rely
 * on, and a field added later does not break it.
 */
import type { JsonSchema } from '../routes/schema.js';

export const str: JsonSchema = { type: 'string' };
export const int: JsonSchema = { type: 'integer' };
export const num: JsonSchema = { type: 'number' };
export const bool: JsonSchema = { type: 'boolean' };
/** An ISO 8601 time as the API writes it (`2026-12-05T10:00:00.000Z`). */
export const dateTime: JsonSchema = { type: 'string', format: 'date-time' };
/** Any JSON value (a twin property, a payload, a job's data). */
export const anyJson: JsonSchema = {};

export function nullable(schema: JsonSchema): JsonSchema {
  return { ...schema, nullable: true };
}

export function strEnum(...values: string[]): JsonSchema {
  return { type: 'string', enum: values };
}

export function arr(items: JsonSchema): JsonSchema {
  return { type: 'array', items };
}

/** An object with `required` fields that are always there and `optional` ones that may be absent. */
export function obj(
  required: Record<string, JsonSchema>,
  optional: Record<string, JsonSchema> = {},
): JsonSchema {
  const schema: JsonSchema = { type: 'object', properties: { ...required, ...optional } };
  if (Object.keys(required).length > 0) schema['required'] = Object.keys(required);
  return schema;
}

/** Where {@link text} keeps the media type of an answer that is not JSON. */
export const CONTENT_TYPE_KEY = 'x-content-type';

/**
 * An answer that is not JSON (CSV, an event stream, the metrics text): documented under its own
 * media type, and not checked.
 */
export function text(contentType: string, description?: string): JsonSchema {
  return {
    type: 'string',
    [CONTENT_TYPE_KEY]: contentType,
    ...(description !== undefined ? { description } : {}),
  };
}

/** A string-keyed map of `values`. */
export function map(values: JsonSchema): JsonSchema {
  return { type: 'object', additionalProperties: values };
}

/** A list answer (CENTRAL_API.md §1.2): `value`, and `nextLink` while more pages remain. */
export function page(items: JsonSchema): JsonSchema {
  return obj({ value: arr(items) }, { nextLink: str });
}

/** The one error body of the REST API (CENTRAL_API.md §1.1; api/errors.ts `ErrorEnvelope`). */
export const ERROR_RESPONSE: JsonSchema = obj({
  error: obj(
    { code: { type: 'string', pattern: '^ERR_[A-Z0-9_]+$' }, message: str, requestId: str, time: str },
    { details: { type: 'object' } },
  ),
});
