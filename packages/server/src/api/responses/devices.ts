/** Response schemas of the device operations (hub/hub-api.ts `Device`). */
import { bool, dateTime, nullable, obj, page, str } from './common.js';

export const DEVICE = obj(
  {
    id: str,
    etag: str,
    displayName: str,
    enabled: bool,
    provisioned: bool,
    simulated: bool,
    status: obj({ connected: bool, lastActivity: nullable(dateTime), lastConnected: nullable(dateTime) }),
  },
  { template: str },
);

export const DEVICE_PAGE = page(DEVICE);
