/** Response schemas of the cloud-to-device message operations (hub/hub-api.ts `CloudToDeviceMessage`). */
import { dateTime, map, nullable, obj, page, str, strEnum } from './common.js';

const FIELDS = {
  id: str,
  deviceId: str,
  messageId: str,
  created: dateTime,
  expiry: dateTime,
  delivered: nullable(dateTime),
  properties: map(str),
};

export const CLOUD_TO_DEVICE_MESSAGE = obj({
  ...FIELDS,
  state: strEnum('queued', 'delivered', 'expired', 'rejected'),
});

/** POST (201): the message just queued. */
export const QUEUED_MESSAGE = obj({ ...FIELDS, state: strEnum('queued') });

export const CLOUD_TO_DEVICE_MESSAGE_PAGE = page(CLOUD_TO_DEVICE_MESSAGE);
