/**
 * The hub's metrics: telemetry stored and committed, devices connected, telemetry read and not
 * yet committed, and refused CONNECTs.
 */
import type { Metrics } from '../metrics.js';

export type HubMetrics = ReturnType<typeof hubMetrics>;

export function hubMetrics(metrics: Metrics) {
  return {
    messages: metrics.counter('gatehouse_hub_telemetry_messages_total', 'Telemetry messages stored.'),
    batches: metrics.counter(
      'gatehouse_hub_telemetry_batches_total',
      'Telemetry commits (group commit batches).',
    ),
    connected: metrics.gauge('gatehouse_hub_connected_devices', 'Devices connected to the hub now.'),
    uncommitted: metrics.gauge(
      'gatehouse_hub_telemetry_uncommitted',
      'Telemetry messages read from devices and not yet committed, across all sessions.',
    ),
    refused: metrics.counter('gatehouse_hub_connect_refused_total', 'Hub CONNECTs refused, by CONNACK code.'),
  };
}
