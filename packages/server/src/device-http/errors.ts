import { errorFactory, type ErrorSpec } from '../errors.js';

/**
 * Error codes of the device HTTPS listener: DPS over HTTPS (PROTOCOL.md §2), the hub over
 * HTTPS (§4) and the MQTT-over-WebSocket upgrade (§5). A device sees the HTTP status and,
 * for the hub, `ErrorCode:<HubCode>` in the body; the code here is what the log, the metrics
 * and docs/errors.md use.
 */
export const DEVICE_HTTP_ERRORS = {
  ERR_DEVICE_HTTP_NOT_FOUND: {
    status: 404,
    summary: 'A device request named no DPS or hub endpoint (path or method unknown).',
    fix: 'Devices use /<idScope>/registrations/<id>/… (DPS) or /devices/<id>/messages/… (hub).',
  },
  ERR_DEVICE_HTTP_METHOD_NOT_ALLOWED: {
    status: 405,
    summary: 'A device request used a method the endpoint does not accept.',
  },
  ERR_DEVICE_HTTP_BODY_TOO_LARGE: {
    status: 413,
    summary: 'A device request body was larger than 256 KiB.',
    fix: 'Send smaller messages (IoT Hub caps a message at 256 KiB).',
  },
  ERR_DEVICE_HTTP_MALFORMED_JSON: {
    status: 400,
    summary: 'A device request body that must be JSON (DPS register, telemetry batch) did not parse.',
  },
  ERR_DEVICE_HTTP_BAD_REQUEST: {
    status: 400,
    summary:
      'A device request was malformed: bad percent-encoding in the path, or a telemetry batch that is not an array of {body: base64, properties}.',
  },
  ERR_DEVICE_HTTP_INTERNAL: {
    status: 500,
    summary: 'The service failed while answering a device HTTPS request; the log has the cause.',
  },
  ERR_WSS_PATH_NOT_FOUND: {
    status: 404,
    summary: 'A WebSocket upgrade asked for a path other than /$iothub/websocket.',
  },
  ERR_WSS_SUBPROTOCOL_REQUIRED: {
    status: 400,
    summary: 'A WebSocket upgrade did not offer the `mqtt` subprotocol (PROTOCOL.md §5).',
  },
  ERR_HTTPS_PORT_PERMISSION: {
    status: 500,
    summary: 'The device HTTPS port (443 by default) is privileged and the process may not bind it.',
    fix: 'Run `sudo setcap cap_net_bind_service=+ep $(which node)`, or choose another port with --https-port.',
  },
  ERR_HTTPS_PORT_IN_USE: {
    status: 500,
    summary: 'Another process already listens on the device HTTPS port.',
    fix: 'Stop that process (`sudo ss -ltnp "sport = :443"` names it), or choose another port with --https-port.',
  },
  ERR_HTTPS_LISTEN_FAILED: {
    status: 500,
    summary: 'The device HTTPS listener could not bind its address for another reason.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type DeviceHttpErrorCode = keyof typeof DEVICE_HTTP_ERRORS;

export const deviceHttpError = errorFactory(DEVICE_HTTP_ERRORS);
