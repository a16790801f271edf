/** Response schema of `GET /api/application` (api/routes/application.ts). */
import { obj, str } from './common.js';

export const APPLICATION = obj({
  idScope: str,
  hostName: str,
  // `https`: the device HTTPS endpoint, when it is served.
  endpoints: obj({ mqtt: str, api: str }, { https: str }),
  serverCaPath: str,
});
