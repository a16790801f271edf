export { buildApi, API_BODY_LIMIT } from './build-api.js';
export type { ApiDeps, ApplicationInfo, HttpLimits } from './deps.js';
export { API_ERRORS, errorEnvelope, type ErrorEnvelope } from './errors.js';
export {
  ApiTokenService,
  BOOTSTRAP_TOKEN_ID,
  type ApiToken,
  type ApiPrincipal,
  type ApiTokenServiceOptions,
  type CreatedApiToken,
  type RoleAssignment,
} from '../app/api-tokens.js';
export { DeviceQueryService, type Device } from '../app/devices.js';
export { ROLE_IDS, ROLES, rolesAllow, type Role, type RoleId, type Permission } from '../app/roles.js';
