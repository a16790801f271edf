/**
 * X.509 devices of one group streaming QoS 1 telemetry through the cluster's HAProxy with
 * mqtt.js (reconnecting by themselves, as devices do), logging every PUBACKed message id.
 * Shared by the soak test (T6 of CLUSTER.md §6.6) and `npm run bench -- cluster`.
 */
import { readFile } from 'node:fs/promises';
import mqtt, { type MqttClient } from 'mqtt';
import type { Cluster } from './cluster-harness.js';
import { makeFleet, type Fleet } from './fleet.js';

/** Enrolls a fleet through node `via`: a group with the verified root, each device created. */
export async function enrollClusterFleet(
  cluster: Cluster,
  n: number,
  prefix: string,
  via = 0,
): Promise<Fleet> {
  const fleet = await makeFleet(n, prefix);
  const check = (what: string, r: { status: number; body: unknown }) => {
    if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  };
  check(
    'group',
    await cluster.api(via, 'PUT', `/api/enrollmentGroups/${prefix}`, {
      displayName: prefix,
      type: 'iot',
      attestation: { type: 'x509' },
    }),
  );
  check(
    'root',
    await cluster.api(via, 'PUT', `/api/enrollmentGroups/${prefix}/certificates/primary`, {
      certificate: fleet.root.certificate.pem,
      verified: true,
    }),
  );
  for (const d of fleet.devices)
    check(d.id, await cluster.api(via, 'PUT', `/api/devices/${d.id}`, { displayName: d.id }));
  return fleet;
}

export interface StreamStats {
  /** `${deviceId}:${seq}` of every message the broker acknowledged. */
  acked: Set<string>;
  sent: number;
  /** Longest time any device went without an acknowledgement while the stream ran (ms). */
  longestGapMs: number;
  reconnects: number;
}

export interface FleetStream {
  stats: StreamStats;
  clients: MqttClient[];
  /** Stops publishing, waits (bounded) for the acknowledgements in flight, ends the clients. */
  stop(): Promise<StreamStats>;
}

/**
 * Each device publishes `{ seq }` QoS 1 messages to `devices/{id}/messages/events/` every
 * `intervalMs` while connected (nothing queued while down), at most `window` unacknowledged.
 */
export async function streamFleet(
  cluster: Cluster,
  fleet: Fleet,
  o: { intervalMs: number; window: number; port?: number },
): Promise<FleetStream> {
  const ca = await readFile(cluster.caPath);
  const stats: StreamStats = { acked: new Set(), sent: 0, longestGapMs: 0, reconnects: 0 };
  const timers: NodeJS.Timeout[] = [];
  const lastAck = new Map<string, number>();
  let stopping = false;
  const clients = await Promise.all(
    fleet.devices.map(
      (d) =>
        new Promise<MqttClient>((resolve, reject) => {
          const client = mqtt.connect(`mqtts://127.0.0.1:${o.port ?? cluster.mqttPort}`, {
            protocolVersion: 4,
            clientId: d.id,
            username: `localhost/${d.id}/?api-version=2021-04-12`,
            clean: false,
            reconnectPeriod: 500,
            // A refused CONNECT (a node without its database answers 3, server unavailable) is retried
            // too, as the Azure SDK's retry policy does; MQTT.js would otherwise give up.
            reconnectOnConnackError: true,
            connectTimeout: 5_000,
            keepalive: 30,
            ca,
            servername: 'localhost',
            cert: d.cert,
            key: d.key,
          });
          client.once('connect', () => resolve(client));
          client.once('error', (err) => (client.connected ? undefined : reject(err)));
          client.on('error', () => undefined);
          client.on('reconnect', () => stats.reconnects++);
          let seq = 0;
          let inflight = 0;
          const topic = `devices/${d.id}/messages/events/`;
          timers.push(
            setInterval(() => {
              const now = Date.now();
              const last = lastAck.get(d.id);
              if (last !== undefined && !stopping)
                stats.longestGapMs = Math.max(stats.longestGapMs, now - last);
              if (stopping || !client.connected || inflight >= o.window) return;
              const key = `${d.id}:${seq}`;
              const body = JSON.stringify({ seq: seq++ });
              inflight++;
              stats.sent++;
              client.publish(topic, body, { qos: 1 }, (err) => {
                inflight--;
                if (err) return;
                stats.acked.add(key);
                lastAck.set(d.id, Date.now());
              });
            }, o.intervalMs),
          );
        }),
    ),
  );
  return {
    stats,
    clients,
    async stop() {
      stopping = true;
      timers.forEach(clearInterval);
      // Acknowledgements in flight arrive (or the client is cut); bounded.
      await new Promise((r) => setTimeout(r, 2_000));
      // A client between reconnects may never call back: bounded, like everything here.
      await Promise.race([
        Promise.all(clients.map((c) => new Promise<void>((r) => c.end(true, {}, () => r())))),
        new Promise((r) => setTimeout(r, 3_000)),
      ]);
      return stats;
    },
  };
}

/** Compares the acknowledged ids with the telemetry rows: lost ids and duplicate rows. */
export function auditTelemetry(
  acked: Set<string>,
  rows: Array<{ device_id: string; seq: number }>,
): { lost: string[]; duplicates: number; stored: number } {
  const seen = new Map<string, number>();
  for (const r of rows) {
    const key = `${r.device_id}:${r.seq}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  let duplicates = 0;
  for (const n of seen.values()) duplicates += n - 1;
  const lost = [...acked].filter((k) => !seen.has(k));
  return { lost, duplicates, stored: seen.size };
}

/** The query that reads what `auditTelemetry` needs. */
export const TELEMETRY_SEQ_QUERY =
  "SELECT device_id, (convert_from(body, 'UTF8')::jsonb->>'seq')::int AS seq FROM telemetry WHERE device_id LIKE $1";
