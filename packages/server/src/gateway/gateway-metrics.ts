import type { Metrics } from '../metrics.js';

/** What a connection turned out to be; `pending` until a session is attached. */
export type ConnectionKind = 'pending' | 'dps' | 'hub';

/** The gateway's series, created once per listener so the hot path only increments. */
export interface GatewayMetrics {
  connectionOpened(kind: ConnectionKind): void;
  connectionClosed(kind: ConnectionKind): void;
  packetReceived(type: string): void;
  packetSent(type: string): void;
  /** A CONNACK refusal or a close for cause (timeout, violation, oversize…). */
  refused(reason: string): void;
}

const NOOP: GatewayMetrics = {
  connectionOpened: () => undefined,
  connectionClosed: () => undefined,
  packetReceived: () => undefined,
  packetSent: () => undefined,
  refused: () => undefined,
};

/** Binds the gateway's series to a registry; without one, every call is a no-op. */
export function gatewayMetrics(metrics?: Metrics): GatewayMetrics {
  if (!metrics) return NOOP;
  const connections = metrics.gauge('gatehouse_mqtt_connections', 'Open MQTT connections by kind.');
  const received = metrics.counter('gatehouse_mqtt_packets_received_total', 'MQTT packets received by type.');
  const sent = metrics.counter('gatehouse_mqtt_packets_sent_total', 'MQTT packets sent by type.');
  const refusals = metrics.counter(
    'gatehouse_mqtt_refusals_total',
    'MQTT connections refused (CONNACK code ≠ 0) or closed for cause, by reason.',
  );
  return {
    connectionOpened: (kind) => connections.inc({ kind }),
    connectionClosed: (kind) => connections.dec({ kind }),
    packetReceived: (type) => received.inc({ type }),
    packetSent: (type) => sent.inc({ type }),
    refused: (reason) => refusals.inc({ reason }),
  };
}
