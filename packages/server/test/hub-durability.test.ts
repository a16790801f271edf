/**
 * "Acknowledged means durable": a device streams QoS 1 telemetry, the server
 * process is killed with SIGKILL mid-stream and started again on the same data
 * folder, and every message the device saw acknowledged (PUBACK) is in the
 * store. The server runs as `gatehouse serve` in its own process.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { createDeviceCertificate, createRootCa } from '@gatehouse/pki';
import { startServe, type ServeProcess } from '../bench/util.js';

const TOKEN = 'durability-token-0123456789abcdef';

/** `gatehouse serve` in its own process: the benchmarks' launcher, so there is one copy. */
const serve = (dataDir: string): Promise<ServeProcess> => startServe(dataDir, TOKEN);

async function api<T>(
  s: ServeProcess,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${s.httpPort}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

describe('telemetry durability across SIGKILL', () => {
  let dataDir: string;
  let running: ServeProcess | undefined;
  after(async () => {
    running?.child.kill('SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('every message the device saw acknowledged is stored after a SIGKILL and restart', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-durability-'));
    running = await serve(dataDir);
    const root = await createRootCa({ commonName: 'durability-root' });
    await api(running, 'PUT', '/api/enrollmentGroups/dur', {
      displayName: 'dur',
      type: 'iot',
      attestation: { type: 'x509' },
    });
    const up = await api(running, 'PUT', '/api/enrollmentGroups/dur/certificates/primary', {
      certificate: root.certificate.pem,
      verified: true,
    });
    assert.equal(up.status, 200);
    const leaf = await createDeviceCertificate({ commonName: 'dur-device', issuer: root });
    // The device exists (created by its attestation) and authenticates through the verified CA.
    const att = await api(running, 'PUT', '/api/devices/dur-device/attestation', {
      type: 'x509',
      x509: { clientCertificates: { primary: { certificate: leaf.certificate.pem } } },
    });
    assert.equal(att.status, 200, JSON.stringify(att.body));

    const ca = await readFile(running.caPath);
    const client = mqtt.connect(`mqtts://127.0.0.1:${running.mqttPort}`, {
      protocolVersion: 4,
      clientId: 'dur-device',
      username: 'localhost/dur-device/?api-version=2021-04-12',
      clean: false,
      reconnectPeriod: 0,
      ca,
      servername: 'localhost',
      cert: leaf.certificate.pem,
      key: leaf.privateKey.toPem(),
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    client.on('error', () => undefined);

    const acked = new Set<number>();
    let sent = 0;
    let stop = false;
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    // Keep up to 50 messages in flight, as fast as acknowledgements allow.
    const pump = async () => {
      while (!stop) {
        const seq = sent++;
        await new Promise<void>((resolve) => {
          client.publish(
            'devices/dur-device/messages/events/',
            JSON.stringify({ seq }),
            { qos: 1 },
            (err) => {
              if (!err) acked.add(seq);
              resolve();
            },
          );
        });
      }
    };
    const pumps = Array.from({ length: 50 }, () => pump());
    while (acked.size < 1000) await new Promise((r) => setTimeout(r, 20));
    running.child.kill('SIGKILL');
    await closed;
    stop = true;
    client.end(true);
    await Promise.race([Promise.all(pumps), new Promise((r) => setTimeout(r, 2000))]);
    const ackedAtKill = [...acked];
    assert.ok(ackedAtKill.length >= 1000);

    running = await serve(dataDir);
    const history = await api<{ value: Array<{ body: { seq: number } }> }>(
      running,
      'GET',
      '/api/devices/dur-device/telemetry?limit=10000',
    );
    assert.equal(history.status, 200, JSON.stringify(history.body));
    const stored = new Set(history.body.value.map((m) => m.body.seq));
    const lost = ackedAtKill.filter((seq) => !stored.has(seq));
    assert.deepEqual(
      lost,
      [],
      `${lost.length} acknowledged messages were lost (of ${ackedAtKill.length} acknowledged, ${stored.size} stored)`,
    );
  });
});
