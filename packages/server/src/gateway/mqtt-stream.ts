import type { Duplex } from 'node:stream';

import type { Metrics } from '../metrics.js';
import { dispatchConnect } from './dispatcher.js';
import { gatewayMetrics, type GatewayMetrics } from './gateway-metrics.js';
import type { GatewayOptions, MqttPeer } from './gateway-options.js';
import { MqttConnection } from './mqtt-connection.js';

const bound = new WeakMap<Metrics, GatewayMetrics>();

function metricsFor(metrics: Metrics | undefined): GatewayMetrics {
  if (!metrics) return gatewayMetrics();
  let m = bound.get(metrics);
  if (!m) {
    m = gatewayMetrics(metrics);
    bound.set(metrics, m);
  }
  return m;
}

/**
 * Serves MQTT on an already-open byte stream, whatever carries it: the TLS listener passes
 * its sockets, the WebSocket listener (later) a stream over binary frames (PROTOCOL.md §5).
 */
export function handleMqttStream(stream: Duplex, peer: MqttPeer, options: GatewayOptions): MqttConnection {
  return new MqttConnection(stream, {
    logger: options.logger,
    logBindings: { transport: peer.transport },
    onConnect: (conn, connect) => dispatchConnect(conn, connect, peer, options),
    remoteAddress: peer.remoteAddress,
    metrics: metricsFor(options.metrics),
    connectTimeoutMs: options.connectTimeoutMs,
    maxPacketBytes: options.maxPacketBytes,
    ...(options.outbound ? { outbound: options.outbound } : {}),
  });
}
