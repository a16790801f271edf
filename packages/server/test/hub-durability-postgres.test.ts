/**
 * "Acknowledged means durable" on PostgreSQL (CLUSTER.md §6.4): a device streams QoS 1
 * telemetry to `gatehouse serve --database-url` in its own process, the process is killed
 * with SIGKILL mid-stream, and every message the device saw acknowledged is a row in
 * PostgreSQL; a second node with an empty data folder serves them through the REST API.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { createDeviceCertificate, createRootCa } from '@gatehouse/pki';

import { startServe, type ServeProcess } from '../bench/util.js';
import { postgresSkipReason, withPostgres } from './helpers/postgres.js';

const TOKEN = 'durability-token-0123456789abcdef';

async function api<T>(s: ServeProcess, method: string, path: string, body?: unknown) {
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

describe('telemetry durability on PostgreSQL across SIGKILL', { skip: postgresSkipReason() }, () => {
  const pg = withPostgres();
  const dirs: string[] = [];
  const running: ServeProcess[] = [];
  const node = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-pg-durability-'));
    dirs.push(dir);
    const s = await startServe(dir, TOKEN, ['--database-url', pg.url]);
    running.push(s);
    return s;
  };
  after(async () => {
    for (const s of running) s.child.kill('SIGKILL');
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('every acknowledged message is in PostgreSQL after the node is killed', async () => {
    const first = await node();
    const root = await createRootCa({ commonName: 'pg-durability-root' });
    await api(first, 'PUT', '/api/enrollmentGroups/dur', {
      displayName: 'dur',
      type: 'iot',
      attestation: { type: 'x509' },
    });
    const up = await api(first, 'PUT', '/api/enrollmentGroups/dur/certificates/primary', {
      certificate: root.certificate.pem,
      verified: true,
    });
    assert.equal(up.status, 200);
    const leaf = await createDeviceCertificate({ commonName: 'pg-dur-device', issuer: root });
    const att = await api(first, 'PUT', '/api/devices/pg-dur-device/attestation', {
      type: 'x509',
      x509: { clientCertificates: { primary: { certificate: leaf.certificate.pem } } },
    });
    assert.equal(att.status, 200, JSON.stringify(att.body));

    const client = mqtt.connect(`mqtts://127.0.0.1:${first.mqttPort}`, {
      protocolVersion: 4,
      clientId: 'pg-dur-device',
      username: 'localhost/pg-dur-device/?api-version=2021-04-12',
      clean: false,
      reconnectPeriod: 0,
      ca: await readFile(first.caPath),
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
    // 50 messages in flight, as fast as acknowledgements allow: batches commit while more arrive.
    const pump = async () => {
      while (!stop) {
        const seq = sent++;
        await new Promise<void>((resolve) =>
          client.publish(
            'devices/pg-dur-device/messages/events/',
            JSON.stringify({ seq }),
            { qos: 1 },
            (err) => {
              if (!err) acked.add(seq);
              resolve();
            },
          ),
        );
      }
    };
    const pumps = Array.from({ length: 50 }, () => pump());
    while (acked.size < 1000) await new Promise((r) => setTimeout(r, 20));
    first.child.kill('SIGKILL');
    await closed;
    stop = true;
    client.end(true);
    await Promise.race([Promise.all(pumps), new Promise((r) => setTimeout(r, 2000))]);
    const ackedAtKill = [...acked];

    const rows = await pg.query<{ seq: number }>(
      "SELECT (convert_from(body, 'UTF8')::jsonb->>'seq')::int AS seq FROM telemetry WHERE device_id = 'pg-dur-device'",
    );
    const stored = new Set(rows.map((r) => r.seq));
    const lost = ackedAtKill.filter((seq) => !stored.has(seq));
    assert.deepEqual(lost, [], `${lost.length} of ${ackedAtKill.length} acknowledged messages lost`);
    console.log(`# ${ackedAtKill.length} acknowledged, ${stored.size} stored, ${sent} sent at the kill`);

    // Another node, nothing in its data folder: the same history through its REST API.
    const second = await node();
    const history = await api<{ value: Array<{ body: { seq: number } }> }>(
      second,
      'GET',
      '/api/devices/pg-dur-device/telemetry?limit=10000',
    );
    assert.equal(history.status, 200, JSON.stringify(history.body));
    assert.equal(history.body.value.length, stored.size);
  });
});
