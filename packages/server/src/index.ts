export { startServer, SERVER_DEFAULTS, type ServerOptions, type RunningServer } from './server.js';
export { GatehouseError, type ErrorSpec } from './errors.js';
export { PROVISIONING_ERRORS } from './provisioning/errors.js';
export { COMMON_ERRORS } from './validation.js';
export { GATEWAY_ERRORS } from './gateway/errors.js';
export { APP_ERRORS } from './app/errors.js';
export { HUB_ERRORS } from './hub/errors.js';
export type { HubApi } from './hub/hub-api.js';
export { DEVICE_HTTP_ERRORS } from './device-http/errors.js';
