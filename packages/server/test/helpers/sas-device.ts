/**
 * A device of the built-in group `SAS-IoT-Devices` against a running server, the way the
 * Azure SDK does it: DPS registration over MQTT with the derived key, then a hub connection.
 */
import { readFileSync } from 'node:fs';

import {
  deriveDeviceKey,
  dpsSasResource,
  hubSasResource,
  signSharedAccessSignature,
} from '@gatehouse/protocol';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

import type { RunningServer } from '../../src/index.js';

export interface SasFleet {
  /** Registers the device through DPS (once) and connects it to the hub. */
  connect(id: string, options?: Partial<IClientOptions>): Promise<MqttClient>;
}

const now = () => Math.floor(Date.now() / 1000);

/**
 * `groupKey`: the primary key of `SAS-IoT-Devices` (`GET /api/enrollmentGroups/SAS-IoT-Devices`);
 * `via`: another address to connect to (a load balancer) and client options for every connection.
 */
export function sasFleet(
  server: Pick<RunningServer, 'serverCaPath' | 'idScope' | 'hostName'> & { mqtt: { port: number } },
  groupKey: string,
  via: { url?: string; options?: Partial<IClientOptions> } = {},
): SasFleet {
  const url = () => via.url ?? `mqtts://127.0.0.1:${server.mqtt.port}`;
  const provisioned = new Set<string>();
  const tls = () => ({
    protocolVersion: 4 as const,
    reconnectPeriod: 0,
    ca: readFileSync(server.serverCaPath!),
    servername: 'localhost',
    ...via.options,
  });
  async function provision(id: string): Promise<void> {
    const client = await mqtt.connectAsync(url(), {
      ...tls(),
      clientId: id,
      username: `${server.idScope}/registrations/${id}/api-version=2019-03-31`,
      password: signSharedAccessSignature({
        resource: dpsSasResource(server.idScope, id),
        key: deriveDeviceKey(groupKey, id),
        expiry: now() + 600,
        keyName: 'registration',
      }),
      clean: true,
    });
    await client.subscribeAsync('$dps/registrations/res/#', { qos: 1 });
    const reply = new Promise<string>((resolve) => client.once('message', (topic) => resolve(topic)));
    await client.publishAsync(
      '$dps/registrations/PUT/iotdps-register/?$rid=1',
      JSON.stringify({ registrationId: id }),
      { qos: 1 },
    );
    const topic = await reply;
    await client.endAsync();
    if (!/res\/202\//.test(topic)) throw new Error(`provisioning ${id} answered ${topic}`);
    provisioned.add(id);
  }
  return {
    async connect(id, options = {}) {
      if (!provisioned.has(id)) await provision(id);
      return mqtt.connectAsync(url(), {
        ...tls(),
        clientId: id,
        username: `${server.hostName}/${id}/?api-version=2021-04-12`,
        password: signSharedAccessSignature({
          resource: encodeURIComponent(hubSasResource(server.hostName, id)),
          key: deriveDeviceKey(groupKey, id),
          expiry: now() + 3600,
        }),
        clean: true,
        ...options,
      });
    },
  };
}
