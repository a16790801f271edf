/**
 * Devices of the built-in group `SAS-IoT-Devices` for a running `gatehouse serve`: DPS
 * registration over MQTT with the key derived from the group key, then the hub connection,
 * as the Azure SDK makes them.
 */
import { readFileSync } from 'node:fs';

import {
  deriveDeviceKey,
  dpsSasResource,
  hubSasResource,
  signSharedAccessSignature,
} from '@gatehouse/protocol';
import mqtt, { type MqttClient } from 'mqtt';

import type { ServeProcess } from './serve-process.js';

const now = () => Math.floor(Date.now() / 1000);

/** The primary key of `SAS-IoT-Devices`, read with the administrator token. */
export async function sasGroupKey(s: ServeProcess, token: string): Promise<string> {
  const res = await fetch(`${s.url}/api/enrollmentGroups/SAS-IoT-Devices`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = (await res.json()) as { attestation: { symmetricKey: { primaryKey: string } } };
  return body.attestation.symmetricKey.primaryKey;
}

/** Provisions `id` and connects it to the hub; `port` defaults to the server's MQTT port. */
export async function connectSasDevice(
  s: ServeProcess,
  groupKey: string,
  id: string,
  port = s.mqttPort,
): Promise<MqttClient> {
  const tls = {
    protocolVersion: 4 as const,
    reconnectPeriod: 0,
    ca: readFileSync(s.caPath),
    servername: 'localhost',
    clean: true,
  };
  const url = `mqtts://127.0.0.1:${port}`;
  const dps = await mqtt.connectAsync(url, {
    ...tls,
    clientId: id,
    username: `${s.idScope}/registrations/${id}/api-version=2019-03-31`,
    password: signSharedAccessSignature({
      resource: dpsSasResource(s.idScope, id),
      key: deriveDeviceKey(groupKey, id),
      expiry: now() + 600,
      keyName: 'registration',
    }),
  });
  await dps.subscribeAsync('$dps/registrations/res/#', { qos: 1 });
  const reply = new Promise<string>((resolve) => dps.once('message', (topic) => resolve(topic)));
  await dps.publishAsync(
    '$dps/registrations/PUT/iotdps-register/?$rid=1',
    JSON.stringify({ registrationId: id }),
    {
      qos: 1,
    },
  );
  const topic = await reply;
  await dps.endAsync();
  if (!/res\/202\//.test(topic)) throw new Error(`provisioning ${id} answered ${topic}`);
  return mqtt.connectAsync(url, {
    ...tls,
    clientId: id,
    username: `localhost/${id}/?api-version=2021-04-12`,
    password: signSharedAccessSignature({
      resource: encodeURIComponent(hubSasResource('localhost', id)),
      key: deriveDeviceKey(groupKey, id),
      expiry: now() + 3600,
    }),
  });
}
