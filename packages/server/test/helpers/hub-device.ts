/**
 * Device-side behaviour of azure-iot-device over MQTT.js, reduced to what the hub tests need
 * (PROTOCOL.md §3.2–§3.6): the four subscriptions, method answers, twin requests.
 */
import { randomUUID } from 'node:crypto';

import type { MqttClient } from 'mqtt';

import { nextMessage } from './hub-harness.js';

/** What the SDK subscribes when the app uses every feature (§3.2). */
export async function subscribeAll(client: MqttClient, deviceId: string): Promise<void> {
  await client.subscribeAsync(`devices/${deviceId}/messages/devicebound/#`, { qos: 1 });
  await client.subscribeAsync('$iothub/methods/POST/#', { qos: 0 });
  await client.subscribeAsync('$iothub/twin/res/#', { qos: 0 });
  await client.subscribeAsync('$iothub/twin/PATCH/properties/desired/#', { qos: 0 });
}

/** Answers every direct method with `answer(name, payload)` → [status, body]. */
export function answerMethods(
  client: MqttClient,
  answer: (name: string, payload: unknown) => [number, unknown] | undefined,
): void {
  client.on('message', (topic, payload) => {
    const match = /^\$iothub\/methods\/POST\/([^/]+)\/\?\$rid=(.+)$/.exec(topic);
    if (!match) return;
    const [, name, rid] = match as unknown as [string, string, string];
    const result = answer(name, JSON.parse(payload.toString()) as unknown);
    if (!result) return;
    void client.publishAsync(`$iothub/methods/res/${result[0]}/?$rid=${rid}`, JSON.stringify(result[1]), {
      qos: 0,
    });
  });
}

export interface TwinAnswer {
  topic: string;
  status: number;
  body: string;
}

async function twinRequest(
  client: MqttClient,
  topic: string,
  body: string,
  rid: string,
): Promise<TwinAnswer> {
  const answer = nextMessage(client, `$iothub/twin/res/`);
  await client.publishAsync(topic, body, { qos: 0 });
  const { topic: resTopic, payload } = await answer;
  assertRid(resTopic, rid);
  const status = Number(/^\$iothub\/twin\/res\/(\d+)\//.exec(resTopic)?.[1]);
  return { topic: resTopic, status, body: payload.toString() };
}

function assertRid(topic: string, rid: string): void {
  if (!topic.includes(`$rid=${rid}`)) throw new Error(`answer ${topic} is not for $rid=${rid}`);
}

/** `twin GET` as the SDK sends it: payload one space (§3.5). */
export function twinGet(client: MqttClient): Promise<TwinAnswer> {
  const rid = randomUUID();
  return twinRequest(client, `$iothub/twin/GET/?$rid=${rid}`, ' ', rid);
}

export function twinPatchReported(client: MqttClient, body: string): Promise<TwinAnswer> {
  const rid = randomUUID();
  return twinRequest(client, `$iothub/twin/PATCH/properties/reported/?$rid=${rid}`, body, rid);
}
