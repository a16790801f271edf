/**
 * "Acknowledged means durable" tests (SQLite and PostgreSQL): an X.509 device on a
 * `gatehouse serve` process streams QoS 1 telemetry with 50 messages in flight until the
 * process is killed, and the test then checks that every acknowledged message is stored.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import mqtt from 'mqtt';
import { createDeviceCertificate, createRootCa } from '@gatehouse/pki';

import type { ServeProcess } from '../../bench/util.js';

export const DURABILITY_TOKEN = 'durability-token-0123456789abcdef';

export async function serveApi<T>(
  s: ServeProcess,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${s.httpPort}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${DURABILITY_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/**
 * Creates an X.509 group with a verified root and `deviceId` (by its attestation) on `s`, and
 * connects the device to the hub with `clean: false` and no reconnects.
 */
export async function connectX509Device(s: ServeProcess, deviceId: string): Promise<mqtt.MqttClient> {
  const root = await createRootCa({ commonName: `${deviceId}-root` });
  await serveApi(s, 'PUT', '/api/enrollmentGroups/dur', {
    displayName: 'dur',
    type: 'iot',
    attestation: { type: 'x509' },
  });
  const up = await serveApi(s, 'PUT', '/api/enrollmentGroups/dur/certificates/primary', {
    certificate: root.certificate.pem,
    verified: true,
  });
  assert.equal(up.status, 200);
  const leaf = await createDeviceCertificate({ commonName: deviceId, issuer: root });
  // The device exists (created by its attestation) and authenticates through the verified CA.
  const att = await serveApi(s, 'PUT', `/api/devices/${deviceId}/attestation`, {
    type: 'x509',
    x509: { clientCertificates: { primary: { certificate: leaf.certificate.pem } } },
  });
  assert.equal(att.status, 200, JSON.stringify(att.body));
  const client = mqtt.connect(`mqtts://127.0.0.1:${s.mqttPort}`, {
    protocolVersion: 4,
    clientId: deviceId,
    username: `localhost/${deviceId}/?api-version=2021-04-12`,
    clean: false,
    reconnectPeriod: 0,
    ca: await readFile(s.caPath),
    servername: 'localhost',
    cert: leaf.certificate.pem,
    key: leaf.privateKey.toPem(),
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  client.on('error', () => undefined);
  return client;
}

/**
 * Publishes `{ seq }` messages at QoS 1, 50 in flight, as fast as acknowledgements allow
 * (batches commit while more arrive); once `ackedBeforeKill` are acknowledged, calls `kill`
 * and waits for the connection to drop. Answers the sequence numbers acknowledged by then
 * and how many were sent.
 */
export async function streamUntilKilled(
  client: mqtt.MqttClient,
  deviceId: string,
  kill: () => void,
  ackedBeforeKill = 1000,
): Promise<{ acked: number[]; sent: number }> {
  const acked = new Set<number>();
  let sent = 0;
  let stop = false;
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  const pump = async () => {
    while (!stop) {
      const seq = sent++;
      await new Promise<void>((resolve) =>
        client.publish(`devices/${deviceId}/messages/events/`, JSON.stringify({ seq }), { qos: 1 }, (err) => {
          if (!err) acked.add(seq);
          resolve();
        }),
      );
    }
  };
  const pumps = Array.from({ length: 50 }, () => pump());
  while (acked.size < ackedBeforeKill) await new Promise((r) => setTimeout(r, 20));
  kill();
  await closed;
  stop = true;
  client.end(true);
  await Promise.race([Promise.all(pumps), new Promise((r) => setTimeout(r, 2000))]);
  return { acked: [...acked], sent };
}
