/**
 * Response schemas of the property operations (hub/properties.ts `propertiesView` and
 * `desiredEcho`): the values by property name, and `$metadata` by property name.
 */
import { anyJson, dateTime, int, map, num, obj, str } from './common.js';

/** hub/properties.ts `PropertyMetadata`. `ackCode` and `ackVersion` are what the device reported (any JSON number). */
const PROPERTY_METADATA = obj(
  {},
  {
    desiredValue: anyJson,
    desiredVersion: int,
    ackCode: num,
    ackVersion: num,
    ackDescription: str,
    lastUpdateTime: dateTime,
  },
);

/** GET: the reported values by name (any JSON), and `$metadata`. */
export const PROPERTIES = {
  ...obj({ $metadata: map(PROPERTY_METADATA) }),
  additionalProperties: anyJson,
};

/** PUT and PATCH (202): the values sent, and `$metadata.<name>.desiredValue`. */
export const PROPERTIES_ECHO = {
  ...obj({ $metadata: map(obj({ desiredValue: anyJson })) }),
  additionalProperties: anyJson,
};
