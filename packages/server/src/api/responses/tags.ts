/** Response schemas of the device tag operations (hub/device-tags.ts): the tags, a JSON object. */
import { anyJson, map } from './common.js';

export const DEVICE_TAGS = map(anyJson);
