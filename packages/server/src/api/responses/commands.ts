/** Response schemas of the command operations (hub/hub-api.ts `DeviceCommand`). */
import { anyJson, dateTime, int, num, obj, page, str, strEnum } from './common.js';

const COMMON = { id: str, name: str, connectionTimeout: num, responseTimeout: num, time: dateTime };

/** A run of the history: completed, or the device was offline, or it did not answer in time. */
export const DEVICE_COMMAND = obj(
  { ...COMMON, status: strEnum('completed', 'deviceOffline', 'timeout') },
  { request: anyJson, response: anyJson, responseCode: int },
);

/** POST (201): the device answered (offline and timeout are errors). */
export const COMPLETED_COMMAND = obj(
  { ...COMMON, status: strEnum('completed'), responseCode: int },
  { request: anyJson, response: anyJson },
);

export const DEVICE_COMMAND_PAGE = page(DEVICE_COMMAND);
