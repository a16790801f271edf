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
} as const satisfies Record<string, ErrorSpec>;

export const gatewayError = errorFactory(GATEWAY_ERRORS);
