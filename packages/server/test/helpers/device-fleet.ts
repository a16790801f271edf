/**
 * A generated fleet written straight into the store (no API round trip per device): the device
 * list's tests and benchmark need 100,000 devices in seconds. Deterministic from the index, with
 * every field the list filters on varying: names with ties and mixed case, a template or none,
 * blocked, provisioned, simulated, a last activity or none, connected (a held session row) or not.
 */
import type { Kysely } from 'kysely';

import type { Database } from '../../src/store/schema.js';

export const FLEET_TEMPLATES = ['dtmi:fleet:Thermostat;1', 'dtmi:fleet:Meter;1', 'dtmi:fleet:Lamp;1'];
const OTHER_NODE = 'fleet-other-node';
const ROOMS = ['Kitchen', 'garage', 'Attic', 'cellar', 'Porch', "O'Brien"];

/** The fields of generated device `i`, as the API shows them. */
export function fleetDevice(i: number, prefix = 'fleet') {
  const id = `${prefix}-${String(i).padStart(6, '0')}`;
  return {
    id,
    // Every 7th name repeats (ties are broken by ID); rooms vary the case.
    displayName: `${ROOMS[i % ROOMS.length]} sensor ${i % 7 === 0 ? 'shared' : String((i * 7919) % 100000)}`,
    // Independent of the room, so no filter on one is a scan to the far end of the other's order.
    template: i % 5 === 4 ? null : FLEET_TEMPLATES[Math.floor(i / ROOMS.length) % FLEET_TEMPLATES.length]!,
    enabled: i % 11 !== 3,
    provisioned: i % 3 !== 0,
    simulated: i % 13 === 0,
    lastActivity:
      i % 4 === 0 ? null : new Date(Date.UTC(2026, 0, 1) + ((i * 104729) % 1_000_000) * 1000).toISOString(),
    connected: i % 9 === 1,
  };
}

export type FleetDevice = ReturnType<typeof fleetDevice>;

/** Inserts devices `from`…`to - 1` with their status and session rows; returns them as the API shows them. */
export async function insertFleet(
  db: Kysely<Database>,
  count: number,
  options: { from?: number; prefix?: string; nodeId?: string } = {},
): Promise<FleetDevice[]> {
  const from = options.from ?? 0;
  const devices = Array.from({ length: count }, (_, k) => fleetDevice(from + k, options.prefix));
  const time = new Date().toISOString();
  // 500 rows × 18 columns stays under both databases' parameter limits.
  const chunk = 500;
  await db.transaction().execute(async (trx) => {
    if (options.nodeId === undefined) {
      // The node that holds the connected ones, alive for good: on PostgreSQL the reaper
      // (cluster/membership.ts) would otherwise release the sessions of an unknown node.
      await trx
        .insertInto('cluster_nodes')
        .values({ node_id: OTHER_NODE, started_at: time, heartbeat_at: '9999-12-31T00:00:00.000Z' })
        .onConflict((oc) => oc.column('node_id').doNothing())
        .execute();
    }
    for (let i = 0; i < devices.length; i += chunk) {
      const part = devices.slice(i, i + chunk);
      await trx
        .insertInto('devices')
        .values(
          part.map((d) => ({
            id: d.id,
            display_name: d.displayName,
            template: d.template,
            enabled: d.enabled ? 1 : 0,
            provisioned: d.provisioned ? 1 : 0,
            simulated: d.simulated ? 1 : 0,
            auth_type: 'none',
            x509_primary_sha1: null,
            x509_primary_sha256: null,
            x509_secondary_sha1: null,
            x509_secondary_sha256: null,
            sas_primary_key: null,
            sas_secondary_key: null,
            enrollment_group_id: null,
            assigned_hub: null,
            etag: `"${d.id}"`,
            created_at: time,
            updated_at: time,
          })),
        )
        .execute();
      const status = part.filter((d) => d.lastActivity !== null);
      if (status.length > 0) {
        await trx
          .insertInto('device_status')
          .values(
            status.map((d) => ({
              device_id: d.id,
              last_connected: d.lastActivity,
              last_activity: d.lastActivity,
            })),
          )
          .execute();
      }
      const held = part.filter((d) => d.connected);
      if (held.length > 0) {
        await trx
          .insertInto('device_sessions')
          .values(
            held.map((d) => ({
              device_id: d.id,
              // Another node holds it (a cluster): this node's registry has no live connection.
              node_id: options.nodeId ?? OTHER_NODE,
              epoch: 1,
              connected_at: time,
              client_ip: null,
            })),
          )
          .execute();
      }
    }
  });
  return devices;
}
