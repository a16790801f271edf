/**
 * Devices for the revocation tests, over MQTT.js against a real server: X.509 devices (TLS
 * client certificate, `x509=true` as the SDK connects) on MQTT/TLS or MQTT/WSS, and the timing
 * of a close after a REST call.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

import type { Issued } from '@gatehouse/pki';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

import type { TestServer } from './test-server.js';

export type Transport = 'mqtt' | 'wss';

export function deviceUrl(server: TestServer, transport: Transport): string {
  return transport === 'wss'
    ? `wss://127.0.0.1:${server.https!.port}/$iothub/websocket`
    : `mqtts://127.0.0.1:${server.mqtt.port}`;
}

/** Connects `deviceId` to the hub with its certificate (and the chain above it, if `chain`). */
export function connectX509(
  server: TestServer,
  deviceId: string,
  issued: Issued,
  options: {
    transport?: Transport;
    chain?: boolean;
    /** Client options, and TLS ones such as `maxVersion` or `session` (resumption). */
    extra?: Partial<IClientOptions> & Pick<ConnectionOptions, 'maxVersion' | 'session'>;
  } = {},
): Promise<MqttClient> {
  const certs = options.chain ? issued.chain.slice(0, -1) : [issued.certificate];
  return mqtt.connectAsync(deviceUrl(server, options.transport ?? 'mqtt'), {
    protocolVersion: 4,
    reconnectPeriod: 0,
    ca: readFileSync(server.serverCaPath!),
    servername: 'localhost',
    cert: certs.map((c) => c.pem).join(''),
    key: issued.privateKey.toPem(),
    clientId: deviceId,
    username: `${server.hostName}/${deviceId}/?api-version=2021-04-12`,
    clean: true,
    ...options.extra,
  });
}

/** Resolves when the client's connection closes. */
export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!client.connected) resolve();
    client.once('close', () => resolve());
  });
}

/**
 * Runs `action` (a REST call) and measures until `client` is closed: asserts the action
 * succeeded and the close came within `boundMs` of the call (the 1 s).
 */
export async function closedWithin(
  client: MqttClient,
  action: () => Promise<{ status: number; body?: unknown }>,
  boundMs = 1000,
): Promise<number> {
  const gone = closed(client);
  const start = performance.now();
  const res = await action();
  assert.ok(res.status < 300, `the revoking call answered ${res.status}: ${JSON.stringify(res.body)}`);
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), boundMs + 2000).unref());
  assert.notEqual(await Promise.race([gone, timer]), 'timeout', 'the session was not closed at all');
  const ms = performance.now() - start;
  assert.ok(ms < boundMs, `the session closed ${ms.toFixed(0)} ms after the call (bound ${boundMs} ms)`);
  return ms;
}

/** The CONNACK code a connect attempt gets (0 = accepted, then closed again). */
export async function connackOf(connecting: Promise<MqttClient>): Promise<number> {
  try {
    const client = await connecting;
    client.end(true);
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw err;
  }
}

export interface RefusalRecord {
  registrationId: string;
  transport: string;
  reason: { code: string; message: string };
}

/** The refusal records of `deviceId` (newest first), as an operator reads them. */
export async function refusalsOf(server: TestServer, deviceId: string): Promise<RefusalRecord[]> {
  const res = await server.api<{ value: RefusalRecord[] }>(
    'GET',
    `/api/provisioning/attempts?registrationId=${encodeURIComponent(deviceId)}`,
  );
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.value;
}

/** Waits until a refusal record of `deviceId` with `code` exists; returns it. */
export async function refusalRecorded(
  server: TestServer,
  deviceId: string,
  code: string,
  timeoutMs = 5000,
): Promise<RefusalRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await refusalsOf(server, deviceId)).find((r) => r.reason.code === code);
    if (found) return found;
    if (Date.now() > deadline) {
      throw new Error(
        `no ${code} recorded for ${deviceId}: ${JSON.stringify(await refusalsOf(server, deviceId))}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * DPS registration over MQTT with the device's certificate (and the chain above it, if `chain`)
 * (PROTOCOL.md §1): the register request, then operation-status polls until it settles.
 * Resolves with the final status code and body (200 assigned, 401 refused, …).
 */
export async function provisionX509(
  server: TestServer,
  registrationId: string,
  issued: Issued,
  options: { chain?: boolean } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const certs = options.chain ? issued.chain.slice(0, -1) : [issued.certificate];
  const client = await mqtt.connectAsync(deviceUrl(server, 'mqtt'), {
    protocolVersion: 4,
    reconnectPeriod: 0,
    ca: readFileSync(server.serverCaPath!),
    servername: 'localhost',
    cert: certs.map((c) => c.pem).join(''),
    key: issued.privateKey.toPem(),
    clientId: registrationId,
    username: `${server.idScope}/registrations/${registrationId}/api-version=2019-03-31`,
    clean: true,
  });
  try {
    await client.subscribeAsync('$dps/registrations/res/#', { qos: 1 });
    let rid = 0;
    const ask = async (topic: string, body: string) => {
      const answer = new Promise<{ status: number; body: Record<string, unknown> }>((resolve) =>
        client.once('message', (t, payload) =>
          resolve({
            status: Number(/res\/(\d+)\//.exec(t)?.[1]),
            body: JSON.parse(payload.toString() || '{}') as Record<string, unknown>,
          }),
        ),
      );
      await client.publishAsync(topic, body, { qos: 1 });
      return answer;
    };
    let reply = await ask(
      `$dps/registrations/PUT/iotdps-register/?$rid=${++rid}`,
      JSON.stringify({ registrationId }),
    );
    for (let i = 0; i < 50 && reply.status === 202; i++) {
      await new Promise((r) => setTimeout(r, 100));
      reply = await ask(
        `$dps/registrations/GET/iotdps-get-operationstatus/?$rid=${++rid}&operationId=${String(reply.body['operationId'])}`,
        '',
      );
    }
    return reply;
  } finally {
    client.end(true);
  }
}
