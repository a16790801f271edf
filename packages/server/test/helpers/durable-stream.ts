/**
 * "Acknowledged means durable" tests (SQLite and PostgreSQL): an X.509 device on a
 * `gatehouse serve` process streams QoS 1 telemetry with 50 messages in flight until the
 * process is killed, and the test then checks that every acknowledged message is stored.
 */
import assert from 'node:assert/strict';
import type mqtt from 'mqtt';
import { createDeviceCertificate, createRootCa } from '@gatehouse/pki';

import { connectServeDevice, streamUntilKilled, type ServeProcess } from '../../bench/util.js';

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
  return connectServeDevice(s, deviceId, leaf);
}

/**
 * The stream of {@link streamUntilKilled} (bench/util.ts), 50 in flight, killed once
 * `ackedBeforeKill` messages are acknowledged.
 */
export function streamUntilAcked(
  client: mqtt.MqttClient,
  deviceId: string,
  kill: () => void,
  ackedBeforeKill = 1000,
): Promise<{ acked: number[]; sent: number }> {
  return streamUntilKilled(client, deviceId, {
    kill,
    killWhen: async (acked) => {
      while (acked.length < ackedBeforeKill) await new Promise((r) => setTimeout(r, 20));
    },
  });
}
