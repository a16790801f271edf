/**
 * DPS over HTTPS (PROTOCOL.md §2; azure-iot-provisioning-device-http):
 * `PUT /<idScope>/registrations/<registrationId>/register?api-version=…` and
 * `GET /<idScope>/registrations/<registrationId>/operations/<operationId>?api-version=…`,
 * answered from the same DpsHandler as MQTT. Every answer is JSON with
 * `Content-Type: application/json`: the SDK parses a body only with that content type and
 * otherwise fails on `result.status`.
 */
import { randomUUID } from 'node:crypto';

import { DPS_ERROR_CODES, dpsErrorBody } from '@gatehouse/protocol';

import { internalErrorReply } from '../gateway/dps-reply.js';
import type { DpsHandler, DpsReply, DpsRequestContext } from '../provisioning/dps-handler.js';
import type { DeviceRequest, Served } from './device-request.js';
import { decodeSegment, sendJson } from './http-reply.js';
import { readBody } from './request-body.js';
import { DEVICE_HTTP_ERRORS, type DeviceHttpErrorCode } from './errors.js';

const REGISTER = /^\/([^/]+)\/registrations\/([^/]+)\/register$/;
const OPERATION_STATUS = /^\/([^/]+)\/registrations\/([^/]+)\/operations\/([^/]+)$/;
const SAS_PREFIX = 'SharedAccessSignature';

type DpsRoute =
  | { name: 'register'; method: 'PUT'; segments: string[] }
  | { name: 'operation-status'; method: 'GET'; segments: string[] };

function matchRoute(pathname: string): DpsRoute | undefined {
  const register = REGISTER.exec(pathname);
  if (register) return { name: 'register', method: 'PUT', segments: register.slice(1) };
  const status = OPERATION_STATUS.exec(pathname);
  if (status) return { name: 'operation-status', method: 'GET', segments: status.slice(1) };
  return undefined;
}

/**
 * One of this endpoint's own refusals as a DPS error answer,
 * `{errorCode, trackingId, message, timestampUtc}` (PROTOCOL.md §1.9); the status comes from
 * DEVICE_HTTP_ERRORS and, where no attested DPS code exists, `errorCode` is status × 1000.
 */
function errorReply(
  code: DeviceHttpErrorCode,
  message: string,
  errorCode?: number,
): DpsReply & { code: string } {
  const { status } = DEVICE_HTTP_ERRORS[code];
  return { status, body: { ...dpsErrorBody(errorCode ?? status * 1000, message) }, code };
}

/** Answers one DPS request; never throws. */
export async function serveDps(request: DeviceRequest, handler: DpsHandler): Promise<Served> {
  const { req, log } = request;
  const route = matchRoute(request.pathname);
  if (!route) {
    req.resume();
    return write(
      request,
      'unknown',
      errorReply('ERR_DEVICE_HTTP_NOT_FOUND', 'Not found.', DPS_ERROR_CODES.NOT_FOUND.errorCode),
    );
  }
  if (req.method !== route.method) {
    req.resume();
    return write(
      request,
      route.name,
      errorReply(
        'ERR_DEVICE_HTTP_METHOD_NOT_ALLOWED',
        `Method ${req.method ?? ''} is not allowed here; use ${route.method}.`,
      ),
      { Allow: route.method },
    );
  }
  const decoded = route.segments.map(decodeSegment);
  const [idScope, registrationId, operationId] = decoded;
  if (idScope === undefined || registrationId === undefined || decoded.includes(undefined)) {
    req.resume();
    return write(
      request,
      route.name,
      errorReply(
        'ERR_DEVICE_HTTP_BAD_REQUEST',
        'The path has a malformed percent-encoding.',
        DPS_ERROR_CODES.BAD_REQUEST.errorCode,
      ),
    );
  }

  let body: Buffer;
  try {
    const read = await readBody(req);
    if (read.tooLarge) {
      return write(
        request,
        route.name,
        errorReply('ERR_DEVICE_HTTP_BODY_TOO_LARGE', 'The request body is larger than 256 KiB.'),
        {
          Connection: 'close',
        },
      );
    }
    body = read.body;
  } catch (err) {
    log.debug({ err }, 'dps request body not read');
    return { route: route.name, status: 0 };
  }

  const context: DpsRequestContext = {
    idScope,
    registrationId,
    transport: 'https',
    clientCertificates: request.clientCertificates,
  };
  const authorization = req.headers.authorization;
  if (authorization?.startsWith(SAS_PREFIX)) context.sasToken = authorization;
  if (request.remoteAddress !== undefined) context.remoteAddress = request.remoteAddress;

  if (route.name === 'register' && body.length > 0) {
    try {
      JSON.parse(body.toString('utf8'));
    } catch {
      return write(
        request,
        route.name,
        errorReply(
          'ERR_DEVICE_HTTP_MALFORMED_JSON',
          'The request body is not valid JSON.',
          DPS_ERROR_CODES.BAD_REQUEST.errorCode,
        ),
      );
    }
  }

  let reply: DpsReply & { code?: string };
  try {
    // §2: the poll carries a body (`{}`); it means nothing and is ignored.
    reply =
      route.name === 'register'
        ? await handler.register(context, body)
        : await handler.operationStatus(context, operationId ?? '');
  } catch (err) {
    const trackingId = randomUUID();
    log.error({ err, route: route.name, registrationId, trackingId }, 'dps handler failed');
    reply = { ...internalErrorReply(trackingId), code: 'ERR_DEVICE_HTTP_INTERNAL' };
  }
  return write(request, route.name, reply, {}, { idScope, registrationId });
}

function write(
  request: DeviceRequest,
  route: string,
  reply: DpsReply & { code?: string },
  extraHeaders: Record<string, string> = {},
  ids?: { idScope: string; registrationId: string },
): Served {
  let { status, body, retryAfterSeconds } = reply;
  if (
    !Number.isInteger(status) ||
    status < 200 ||
    status > 599 ||
    typeof body !== 'object' ||
    body === null ||
    Array.isArray(body) ||
    (retryAfterSeconds !== undefined && (!Number.isFinite(retryAfterSeconds) || retryAfterSeconds < 0))
  ) {
    const trackingId = randomUUID();
    request.log.error(
      { status, route, trackingId, code: 'ERR_DEVICE_HTTP_INTERNAL' },
      'dps reply cannot be sent; answering 500',
    );
    ({ status, body, retryAfterSeconds } = internalErrorReply(trackingId));
  }
  const headers: Record<string, string> = { ...extraHeaders, 'x-ms-request-id': randomUUID() };
  // §2: the SDK waits `retry-after` seconds (Number(header)) before polling again.
  if (retryAfterSeconds !== undefined) headers['Retry-After'] = String(retryAfterSeconds);
  const operationId = body['operationId'];
  if (status === 202 && ids && typeof operationId === 'string') {
    const apiVersion = request.query.get('api-version');
    headers['Location'] =
      `/${encodeURIComponent(ids.idScope)}/registrations/${encodeURIComponent(ids.registrationId)}` +
      `/operations/${encodeURIComponent(operationId)}` +
      (apiVersion ? `?api-version=${encodeURIComponent(apiVersion)}` : '');
  }
  sendJson(request.res, status, body, headers);
  request.log.debug({ route, status, ...(reply.code ? { code: reply.code } : {}) }, 'dps https reply');
  return { route, status };
}
