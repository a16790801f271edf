import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { APP_ERRORS } from '../app/errors.js';
import { JOB_ERRORS } from '../jobs/errors.js';
import { RULE_ERRORS } from '../rules/errors.js';
import { GatehouseError, type ErrorSpec } from '../errors.js';
import { commonError } from '../validation.js';

/**
 * Error codes the REST API adds to COMMON_ERRORS and PROVISIONING_ERRORS: those
 * of the application context (API tokens, roles), re-exported so one import
 * gives docs/errors.md every code the API can answer with.
 */
export const API_ERRORS = { ...APP_ERRORS, ...JOB_ERRORS, ...RULE_ERRORS } as const satisfies Record<
  string,
  ErrorSpec
>;

/**
 * The one error body of the REST API (CENTRAL_API.md §1.1), sent with `x-ms-error-code: <code>`.
 * `details` (our extension) appears only on errors that carry a public detail: a failed
 * command (ERR_DEVICE_OFFLINE, ERR_COMMAND_TIMEOUT) sends the attempt as recorded in the
 * history under `details.command`, so a client can show it without a second call.
 */
export interface ErrorEnvelope {
  error: {
    code: string;
    message: string;
    requestId: string;
    time: string;
    details?: ErrorDetails;
  };
}

export interface ErrorDetails {
  /** The recorded `DeviceCommand` of a failed command. */
  command?: unknown;
  /** ERR_IMPORT_REFUSED: the import's plan, every refused record with its file, line and reason. */
  plan?: unknown;
}

/** Keys of `GatehouseError.detail` that may leave the server; every other detail stays internal. */
const PUBLIC_DETAILS = ['command', 'plan'] as const satisfies ReadonlyArray<keyof ErrorDetails>;

export function errorEnvelope(
  code: string,
  message: string,
  requestId: string,
  time = new Date(),
  details?: ErrorDetails,
): ErrorEnvelope {
  return {
    error: {
      code,
      message,
      requestId,
      time: time.toUTCString(),
      ...(details !== undefined ? { details } : {}),
    },
  };
}

function publicDetails(error: GatehouseError): ErrorDetails | undefined {
  if (error.detail === undefined) return undefined;
  const details: ErrorDetails = {};
  for (const key of PUBLIC_DETAILS) {
    if (error.detail[key] !== undefined) details[key] = error.detail[key];
  }
  return Object.keys(details).length > 0 ? details : undefined;
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: GatehouseError): FastifyReply {
  return reply
    .code(error.status)
    .header('x-ms-error-code', error.code)
    .type('application/json; charset=utf-8')
    .send(errorEnvelope(error.code, error.message, request.id, new Date(), publicDetails(error)));
}

/**
 * Fastify's own refusals (body parsing, schema validation) as our codes. Anything
 * else that is not a GatehouseError is a bug: answered as ERR_INTERNAL, with the
 * cause logged under the request ID and never sent (STYLE.md §5).
 */
export function toGatehouseError(error: unknown): GatehouseError {
  if (error instanceof GatehouseError) return error;
  const code = (error as Partial<FastifyError> | undefined)?.code;
  switch (code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return commonError('ERR_BAD_REQUEST', 'The body is not valid JSON.', { cause: error });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return commonError('ERR_BAD_REQUEST', 'The body is empty, but the content type says JSON.', {
        cause: error,
      });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return commonError('ERR_BAD_REQUEST', 'The body size does not match Content-Length.', { cause: error });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return commonError('ERR_PAYLOAD_TOO_LARGE', 'The body is larger than 1 MiB.', { cause: error });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return commonError(
        'ERR_UNSUPPORTED_MEDIA_TYPE',
        'The body must be JSON, sent as application/json or application/merge-patch+json.',
        { cause: error },
      );
    case 'FST_ERR_VALIDATION':
      return commonError('ERR_BAD_REQUEST', `The request is malformed: ${(error as Error).message}.`, {
        cause: error,
      });
  }
  const status = (error as Partial<FastifyError> | undefined)?.statusCode;
  if (status === 400 && typeof code === 'string' && code.startsWith('FST_')) {
    return commonError('ERR_BAD_REQUEST', 'The request is malformed.', { cause: error });
  }
  return commonError(
    'ERR_INTERNAL',
    'An unexpected error occurred; the server log has the cause under this request ID.',
    {
      cause: error,
    },
  );
}

/** `setErrorHandler`: every failure leaves as the one envelope. */
export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const mapped = toGatehouseError(error);
  if (mapped.status >= 500) {
    request.log.error({ err: error, code: mapped.code }, 'request failed');
  } else if (mapped.status === 401 || mapped.status === 403) {
    request.log.info({ code: mapped.code }, mapped.message);
  } else {
    request.log.debug({ code: mapped.code, cause: mapped.cause }, mapped.message);
  }
  return sendError(request, reply, mapped);
}
