import { decodePropertyBag } from '@gatehouse/protocol';

/**
 * A cloud-to-device message as the `'message'` event delivers it: the body bytes, the
 * application properties, and the system properties the Azure SDK maps onto `Message` fields
 * (PROTOCOL.md §3.4). Over MQTT the message is completed by the PUBACK, sent on receipt.
 *
 * @example
 * ```ts
 * client.on('message', (msg: CloudToDeviceMessage) => {
 *   console.log(msg.messageId, msg.properties['kind'], msg.body.toString('utf8'));
 * });
 * ```
 */
export interface CloudToDeviceMessage {
  body: Buffer;
  /** Application properties (everything whose key does not start with `$.`). */
  properties: Record<string, string>;
  /** Every `$.` property as sent, e.g. `$.to`, `$.mid`. */
  systemProperties: Record<string, string>;
  messageId?: string;
  correlationId?: string;
  userId?: string;
  to?: string;
  /** ISO-8601 expiry. */
  expiryTimeUtc?: string;
  contentType?: string;
  contentEncoding?: string;
}

const FIELDS = {
  '$.mid': 'messageId',
  '$.cid': 'correlationId',
  '$.uid': 'userId',
  '$.to': 'to',
  '$.exp': 'expiryTimeUtc',
  '$.ct': 'contentType',
  '$.ce': 'contentEncoding',
} as const;

/**
 * Build a {@link CloudToDeviceMessage} from the property bag of a
 * `devices/<id>/messages/devicebound/<bag>` topic and the payload. Throws a protocol error for
 * malformed percent-encoding.
 *
 * @example
 * ```ts
 * import { decodeCloudToDeviceMessage } from '@gatehouse/device';
 * const msg = decodeCloudToDeviceMessage('%24.mid=m1&kind=greeting', Buffer.from('hi'));
 * // msg.messageId === 'm1', msg.properties.kind === 'greeting'
 * ```
 */
export function decodeCloudToDeviceMessage(bag: string, body: Buffer): CloudToDeviceMessage {
  const decoded = decodePropertyBag(bag);
  const message: CloudToDeviceMessage = {
    body,
    properties: { ...decoded.application },
    systemProperties: { ...decoded.system },
  };
  for (const [key, field] of Object.entries(FIELDS)) {
    const value = decoded.system[key];
    if (value !== undefined) message[field] = value;
  }
  return message;
}
