import { errorFactory, type ErrorSpec } from '../errors.js';

/**
 * Gateway error codes. None reaches a device as such: a device sees a CONNACK code, a DPS
 * error body or a closed connection; these are for the services that publish through a
 * connection (the hub's QoS 1 deliveries).
 */
export const GATEWAY_ERRORS = {
  ERR_MQTT_CONNECTION_CLOSED: {
    status: 503,
    summary: 'The MQTT connection closed before the packet was sent or acknowledged.',
  },
  ERR_MQTT_PACKET_IDS_EXHAUSTED: {
    status: 503,
    summary: 'All 65,535 packet identifiers of the connection are waiting for a PUBACK.',
  },
  ERR_MQTT_QOS2_NOT_SUPPORTED: {
    status: 400,
    summary:
      'A device published with QoS 2, which neither DPS nor the hub supports: the connection is closed.',
  },
  ERR_MQTT_TOPIC_FORBIDDEN: {
    status: 403,
    summary:
      'A device published or subscribed outside its own topics: the connection is closed (or the subscription refused).',
  },
} as const satisfies Record<string, ErrorSpec>;

export const gatewayError = errorFactory(GATEWAY_ERRORS);
