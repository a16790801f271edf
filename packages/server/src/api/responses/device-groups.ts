/** Response schemas of the device group operations (app/device-group-shape.ts `DeviceGroup`). */
import { obj, page, str } from './common.js';

/** A device group; `description` is absent when none was given. */
export const DEVICE_GROUP = obj({ id: str, displayName: str, filter: str, etag: str }, { description: str });

export const DEVICE_GROUP_PAGE = page(DEVICE_GROUP);
