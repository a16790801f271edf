export { deviceHttpMetrics, type DeviceHttpMetrics, type DeviceHttpService } from './device-http-metrics.js';
export type { DeviceRequest, Served } from './device-request.js';
export { serveDps } from './dps-http.js';
export { DEVICE_HTTP_ERRORS, deviceHttpError, type DeviceHttpErrorCode } from './errors.js';
export { JSON_CONTENT_TYPE } from './http-reply.js';
export {
  listenError,
  startDeviceHttpsListener,
  type DeviceHttpsListener,
  type DeviceHttpsListenerOptions,
} from './https-listener.js';
export { hubErrorBody, hubErrorCode, messageProperties, serveHub } from './hub-http.js';
export type {
  HubHttpC2DMessage,
  HubHttpCredentials,
  HubHttpHandler,
  HubHttpTelemetry,
} from './hub-http-handler.js';
export { MAX_DEVICE_BODY_BYTES, readBody, type BodyResult } from './request-body.js';
