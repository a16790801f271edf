/**
 * The hub over HTTPS (PROTOCOL.md §4; azure-iot-device-http): telemetry (single and batch),
 * cloud-to-device polling and settlement. Every request is authenticated on its own (the
 * protocol has no connection state); errors use the hub's HTTP body
 * `{"Message":"ErrorCode:<Code>;<text>","ExceptionMessage":""}`, which the SDK maps by status.
 */
import type {
  HubHttpC2DMessage,
  HubHttpCredentials,
  HubHttpHandler,
  HubHttpTelemetry,
} from './hub-http-handler.js';
import type { DeviceRequest, Served } from './device-request.js';
import { decodeSegment, sendEmpty, sendJson } from './http-reply.js';
import { readBody } from './request-body.js';
import { DEVICE_HTTP_ERRORS, type DeviceHttpErrorCode } from './errors.js';

const EVENTS = /^\/devices\/([^/]+)\/messages\/events$/;
const DEVICEBOUND = /^\/devices\/([^/]+)\/messages\/devicebound$/;
const SETTLE = /^\/devices\/([^/]+)\/messages\/devicebound\/([^/]+)$/;
const ABANDON = /^\/devices\/([^/]+)\/messages\/devicebound\/([^/]+)\/abandon$/;

/** §4: the SDK's batch content type; the body is a JSON array of `{body: base64, properties}`. */
const BATCH_CONTENT_TYPE = 'application/vnd.microsoft.iothub.json';
const APP_PREFIX = 'iothub-app-';

/**
 * §4: system-property headers of a device-to-cloud message, mapped to the MQTT property-bag
 * keys (PROTOCOL.md §3.3) so both transports hand the hub the same names.
 */
const SYSTEM_HEADERS: Readonly<Record<string, string>> = {
  'iothub-messageid': '$.mid',
  'iothub-correlationid': '$.cid',
  'iothub-userid': '$.uid',
  'iothub-to': '$.to',
  'iothub-expiry': '$.exp',
  'iothub-contenttype': '$.ct',
  'iothub-contentencoding': '$.ce',
  'iothub-interface-id': '$.ifid',
  // The SDK sends the component name unprefixed (MESSAGE_PROP_DT_SUBJECT).
  'dt-subject': '$.sub',
};

/** RFC 9110 §5.6.2 token: what a header name may contain. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A header value Node will send: visible Latin-1 and spaces/tabs, no CR/LF. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

type HubRoute =
  | { name: 'telemetry'; method: 'POST'; deviceId: string }
  | { name: 'c2d-receive'; method: 'GET'; deviceId: string }
  | { name: 'c2d-settle'; method: 'DELETE'; deviceId: string; lockToken: string }
  | { name: 'c2d-abandon'; method: 'POST'; deviceId: string; lockToken: string };

/** A refusal on its way to the device: HTTP status, the hub's `ErrorCode`, and our code for the log. */
class HubHttpError extends Error {
  constructor(
    readonly status: number,
    readonly hubCode: string,
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** One of the routes' own refusals (status from DEVICE_HTTP_ERRORS). */
function refuse(code: DeviceHttpErrorCode, hubCode: string, message: string): HubHttpError {
  return new HubHttpError(DEVICE_HTTP_ERRORS[code].status, hubCode, message, code);
}

function matchRoute(pathname: string): HubRoute | 'bad-encoding' | undefined {
  const tries: Array<[RegExp, (ids: string[]) => HubRoute]> = [
    [EVENTS, ([deviceId = '']) => ({ name: 'telemetry', method: 'POST', deviceId })],
    [DEVICEBOUND, ([deviceId = '']) => ({ name: 'c2d-receive', method: 'GET', deviceId })],
    [
      SETTLE,
      ([deviceId = '', lockToken = '']) => ({ name: 'c2d-settle', method: 'DELETE', deviceId, lockToken }),
    ],
    [
      ABANDON,
      ([deviceId = '', lockToken = '']) => ({ name: 'c2d-abandon', method: 'POST', deviceId, lockToken }),
    ],
  ];
  for (const [pattern, make] of tries) {
    const m = pattern.exec(pathname);
    if (!m) continue;
    const ids = m.slice(1).map(decodeSegment);
    if (ids.some((s) => s === undefined || s === '')) return 'bad-encoding';
    return make(ids as string[]);
  }
  return undefined;
}

/**
 * The hub's error code for a status (the text after `ErrorCode:`), as IoT Hub names them;
 * the SDK only looks at the status (§4).
 */
export function hubErrorCode(status: number, code?: string): string {
  if (code === 'ERR_C2D_LOCK_TOKEN_UNKNOWN') return 'DeviceMessageLockLost';
  switch (status) {
    case 400:
      return 'ArgumentInvalid';
    case 401:
      return 'IotHubUnauthorizedAccess';
    case 403:
      return 'IotHubQuotaExceeded';
    case 404:
      return 'DeviceNotFound';
    case 405:
      return 'MethodNotAllowed';
    case 412:
      return 'PreconditionFailed';
    case 413:
      return 'MessageTooLarge';
    case 429:
      return 'ThrottlingException';
    case 503:
      return 'ServiceUnavailable';
    default:
      return 'ServerError';
  }
}

/** The hub's HTTP error body (§4). */
export function hubErrorBody(hubCode: string, text: string): { Message: string; ExceptionMessage: string } {
  return { Message: `ErrorCode:${hubCode};${text}`, ExceptionMessage: '' };
}

function sendHubError(
  request: DeviceRequest,
  route: string,
  err: HubHttpError,
  extra: Record<string, string> = {},
): Served {
  sendJson(request.res, err.status, hubErrorBody(err.hubCode, err.message), {
    ...extra,
    'iothub-errorcode': err.hubCode,
  });
  request.log.debug(
    { route, status: err.status, hubCode: err.hubCode, code: err.code, err: err.message },
    'hub https refusal',
  );
  return { route, status: err.status };
}

/** Turns whatever the handler threw into the hub's answer; only statuses < 500 keep their text. */
function fromHandlerError(request: DeviceRequest, route: string, err: unknown): HubHttpError {
  const e = err as { status?: unknown; code?: unknown; message?: unknown } | null;
  const status = typeof e?.status === 'number' && e.status >= 400 && e.status <= 599 ? e.status : 500;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (status >= 500 && status !== 503) {
    request.log.error({ err, route }, 'hub https request failed');
    return new HubHttpError(
      status,
      hubErrorCode(status, code),
      'Internal server error.',
      'ERR_DEVICE_HTTP_INTERNAL',
    );
  }
  const text = typeof e?.message === 'string' && e.message ? e.message : 'Refused.';
  return new HubHttpError(status, hubErrorCode(status, code), text, code);
}

/** Properties of a device-to-cloud message from `[name, value]` pairs (headers or batch properties). */
export function messageProperties(
  pairs: Iterable<[string, string]>,
  routingTo?: string,
): Pick<HubHttpTelemetry, 'systemProperties' | 'applicationProperties'> {
  const systemProperties: Record<string, string> = Object.create(null) as Record<string, string>;
  const applicationProperties: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase();
    if (lower.startsWith(APP_PREFIX) && lower.length > APP_PREFIX.length) {
      // Raw header names keep the device's case (`iothub-app-Alert` → `Alert`).
      applicationProperties[name.slice(APP_PREFIX.length)] = value;
      continue;
    }
    const system = SYSTEM_HEADERS[lower];
    // §4: the SDK always sends `iothub-to: /devices/<id>/messages/events` to route the request;
    // only another value is the message's own `to`.
    if (system === '$.to' && value === routingTo) continue;
    if (system !== undefined) systemProperties[system] = value;
  }
  return { systemProperties, applicationProperties };
}

function headerPairs(rawHeaders: string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2)
    pairs.push([rawHeaders[i] ?? '', rawHeaders[i + 1] ?? '']);
  return pairs;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** §4 batch: `[{"body":"<base64>","properties":{"iothub-app-k":"v"}}, …]`. */
function parseBatch(body: Buffer, routingTo: string): HubHttpTelemetry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw refuse('ERR_DEVICE_HTTP_MALFORMED_JSON', 'ArgumentInvalid', 'The batch body is not valid JSON.');
  }
  if (!Array.isArray(parsed))
    throw refuse('ERR_DEVICE_HTTP_BAD_REQUEST', 'ArgumentInvalid', 'A batch body must be a JSON array.');
  return parsed.map((item: unknown, index) => {
    const entry = item as { body?: unknown; properties?: unknown } | null;
    if (
      typeof entry !== 'object' ||
      entry === null ||
      typeof entry.body !== 'string' ||
      !BASE64.test(entry.body)
    ) {
      throw refuse(
        'ERR_DEVICE_HTTP_BAD_REQUEST',
        'ArgumentInvalid',
        `Batch message ${index} has no base64 "body".`,
      );
    }
    const props = entry.properties ?? {};
    if (typeof props !== 'object' || props === null || Array.isArray(props)) {
      throw refuse(
        'ERR_DEVICE_HTTP_BAD_REQUEST',
        'ArgumentInvalid',
        `Batch message ${index} has "properties" that are not an object.`,
      );
    }
    const pairs: Array<[string, string]> = [];
    for (const [k, v] of Object.entries(props)) {
      if (typeof v !== 'string')
        throw refuse(
          'ERR_DEVICE_HTTP_BAD_REQUEST',
          'ArgumentInvalid',
          `Batch message ${index} property "${k}" is not a string.`,
        );
      pairs.push([k, v]);
    }
    return { body: Buffer.from(entry.body, 'base64'), ...messageProperties(pairs, routingTo) };
  });
}

function c2dHeaders(
  deviceId: string,
  message: HubHttpC2DMessage,
  request: DeviceRequest,
): Record<string, string> {
  // §4: the SDK strips the first and last character of the ETag to get the lock token.
  const headers: Record<string, string> = {
    ETag: `"${message.lockToken}"`,
    'iothub-messageid': message.messageId,
    'iothub-to': `/devices/${encodeURIComponent(deviceId)}/messages/devicebound`,
  };
  if (message.correlationId !== undefined) headers['iothub-correlationid'] = message.correlationId;
  if (message.expiry !== undefined) headers['iothub-expiry'] = message.expiry;
  for (const [name, value] of Object.entries(message.properties)) {
    // A property that cannot travel as a header would make Node throw mid-answer.
    if (!TOKEN.test(name) || !HEADER_VALUE.test(value)) {
      request.log.warn(
        { deviceId, property: name },
        'c2d property cannot be sent as an HTTP header; dropped',
      );
      continue;
    }
    headers[APP_PREFIX + name] = value;
  }
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_VALUE.test(value)) {
      request.log.warn({ deviceId, header: name }, 'c2d header value cannot be sent; dropped');
      delete headers[name];
    }
  }
  return headers;
}

/** Answers one `/devices/…` request; never throws. */
export async function serveHub(request: DeviceRequest, handler: HubHttpHandler | undefined): Promise<Served> {
  const { req, res } = request;
  const route = matchRoute(request.pathname);
  if (route === undefined || handler === undefined) {
    // Also without a hub: this server then serves DPS only.
    req.resume();
    return sendHubError(
      request,
      'unknown',
      refuse('ERR_DEVICE_HTTP_NOT_FOUND', 'NotFound', 'No such hub endpoint.'),
    );
  }
  if (route === 'bad-encoding') {
    req.resume();
    return sendHubError(
      request,
      'unknown',
      refuse('ERR_DEVICE_HTTP_BAD_REQUEST', 'ArgumentInvalid', 'The path has a malformed percent-encoding.'),
    );
  }
  if (req.method !== route.method) {
    req.resume();
    return sendHubError(
      request,
      route.name,
      refuse(
        'ERR_DEVICE_HTTP_METHOD_NOT_ALLOWED',
        'MethodNotAllowed',
        `Method ${req.method ?? ''} is not allowed here; use ${route.method}.`,
      ),
      { Allow: route.method },
    );
  }

  // The body is read before authenticating so that a refusal reaches a client still sending.
  let body: Buffer;
  try {
    const read = await readBody(req);
    if (read.tooLarge) {
      return sendHubError(
        request,
        route.name,
        refuse('ERR_DEVICE_HTTP_BODY_TOO_LARGE', 'MessageTooLarge', 'The message is larger than 256 KiB.'),
        { Connection: 'close' },
      );
    }
    body = read.body;
  } catch (err) {
    request.log.debug({ err }, 'hub request body not read');
    return { route: route.name, status: 0 };
  }

  const { deviceId } = route;
  const credentials: HubHttpCredentials = { clientCertificates: request.clientCertificates };
  if (req.headers.authorization !== undefined) credentials.authorization = req.headers.authorization;
  if (request.remoteAddress !== undefined) credentials.remoteAddress = request.remoteAddress;

  let name: string = route.name;
  try {
    try {
      await handler.authenticate(deviceId, credentials);
    } catch (err) {
      throw fromHandlerError(request, route.name, err);
    }
    try {
      switch (route.name) {
        case 'telemetry': {
          const routingTo = `/devices/${encodeURIComponent(deviceId)}/messages/events`;
          const contentType = (req.headers['content-type'] ?? '').toLowerCase();
          if (contentType.startsWith(BATCH_CONTENT_TYPE)) {
            name = 'telemetry-batch';
            const messages = parseBatch(body, routingTo);
            // Started in order, awaited together: the hub commits them in one group (§3.3).
            await Promise.all(messages.map((m) => handler.sendTelemetry(deviceId, m)));
          } else {
            await handler.sendTelemetry(deviceId, {
              body,
              ...messageProperties(headerPairs(req.rawHeaders), routingTo),
            });
          }
          sendEmpty(res, 204);
          return { route: name, status: 204 };
        }
        case 'c2d-receive': {
          const message = await handler.receiveC2D(deviceId);
          if (!message) {
            sendEmpty(res, 204);
            return { route: name, status: 204 };
          }
          const headers = c2dHeaders(deviceId, message, request);
          res.writeHead(200, { ...headers, 'Content-Length': String(message.body.length) });
          res.end(message.body);
          return { route: name, status: 200 };
        }
        case 'c2d-settle':
          // §4: reject is `DELETE …/<lockToken>?api-version=…&reject`.
          if (request.query.has('reject')) {
            name = 'c2d-reject';
            await handler.rejectC2D(deviceId, route.lockToken);
          } else {
            name = 'c2d-complete';
            await handler.completeC2D(deviceId, route.lockToken);
          }
          sendEmpty(res, 204);
          return { route: name, status: 204 };
        case 'c2d-abandon':
          await handler.abandonC2D(deviceId, route.lockToken);
          sendEmpty(res, 204);
          return { route: name, status: 204 };
      }
    } catch (err) {
      if (err instanceof HubHttpError) throw err;
      throw fromHandlerError(request, name, err);
    }
  } catch (err) {
    if (err instanceof HubHttpError) return sendHubError(request, name, err);
    return sendHubError(request, name, fromHandlerError(request, name, err));
  }
}
