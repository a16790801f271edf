/**
 * `npm run bench -- revocation [--devices 1000] [--runs 10]`
 *
 * How long a revocation takes to close a live session when many are connected: a real server
 * (SQLite, in process) with N X.509 devices of one root connected over MQTT/TLS on loopback.
 * Measured from the REST call to the device's socket closing:
 * - baseline: disabling one device (the direct kick of that device's connection);
 * - CRL: importing a CRL that revokes one more device (the sessions whose chain it names are
 *   checked again,
 *   revocation/session-sweep.ts).
 * Prints p50 and max of each and the ratio CRL / baseline. Goal (HARDENING.md R1–R2): < 1 s.
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';

import { createDeviceCertificate, createRootCa, type Issued } from '@gatehouse/pki';
import mqtt, { type MqttClient } from 'mqtt';

import { opensslCa } from '../test/helpers/openssl-ca.js';
import { base64Pem } from '../test/helpers/pki-files.js';
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from '../test/helpers/test-server.js';
import { arg, percentile } from './util.js';

const DEVICES = arg('devices', 1000);
const RUNS = arg('runs', 10);

function connect(server: TestServer, id: string, leaf: Issued): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtts://127.0.0.1:${server.mqtt.port}`, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    keepalive: 0,
    ca: readFileSync(server.serverCaPath!),
    servername: 'localhost',
    cert: leaf.certificate.pem,
    key: leaf.privateKey.toPem(),
    clientId: id,
    username: `${server.hostName}/${id}/?api-version=2021-04-12`,
    clean: true,
  });
}

async function timeClose(client: MqttClient, action: () => Promise<number>): Promise<number> {
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  const start = performance.now();
  const status = await action();
  if (status >= 300) throw new Error(`the revoking call answered ${status}`);
  await closed;
  return performance.now() - start;
}

async function main(): Promise<void> {
  console.log(
    `revocation: ${DEVICES} X.509 devices connected over MQTT/TLS, ${RUNS} runs each; SQLite, one process; ${cpus().length} cores, Node ${process.version}`,
  );
  const server = await startTestServer({ webRoot: '' });
  try {
    const root = await createRootCa({ commonName: 'bench-revocation-root' });
    await server.api('PUT', '/api/enrollmentGroups/bench-revocation', {
      displayName: 'bench',
      type: 'iot',
      attestation: { type: 'x509' },
    });
    await server.api('PUT', '/api/enrollmentGroups/bench-revocation/certificates/primary', {
      certificate: base64Pem(root.certificate),
      verified: true,
    });
    const devices: Array<{ id: string; leaf: Issued; client?: MqttClient }> = [];
    for (let i = 0; i < DEVICES; i++) {
      const id = `bench-rev-${i}`;
      devices.push({ id, leaf: await createDeviceCertificate({ commonName: id, issuer: root }) });
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < devices.length) {
          const d = devices[next++]!;
          const put = await server.api('PUT', `/api/devices/${d.id}`, { displayName: d.id });
          if (put.status >= 300) throw new Error(JSON.stringify(put.body));
          d.client = await connect(server, d.id, d.leaf);
        }
      }),
    );
    if (server.hub.registry.size !== DEVICES) throw new Error(`${server.hub.registry.size} connected`);
    console.log(`${DEVICES} devices connected`);

    const baseline: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const d = devices[i]!;
      baseline.push(
        await timeClose(
          d.client!,
          async () => (await server.api('PATCH', `/api/devices/${d.id}`, { enabled: false })).status,
        ),
      );
    }
    const ca = await opensslCa(root);
    const crl: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const d = devices[RUNS + i]!;
      await ca.revoke(d.leaf.certificate);
      const body = await ca.crl();
      crl.push(
        await timeClose(d.client!, async () => {
          const res = await fetch(`${server.baseUrl}/api/enrollmentGroups/bench-revocation/crl`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${TEST_ADMIN_TOKEN}`,
              'content-type': 'application/x-pem-file',
            },
            body,
          });
          await res.arrayBuffer();
          return res.status;
        }),
      );
    }
    baseline.sort((a, b) => a - b);
    crl.sort((a, b) => a - b);
    const result = {
      devices: DEVICES,
      runs: RUNS,
      disableP50Ms: Math.round(percentile(baseline, 50)),
      disableMaxMs: Math.round(baseline[baseline.length - 1]!),
      crlP50Ms: Math.round(percentile(crl, 50)),
      crlMaxMs: Math.round(crl[crl.length - 1]!),
      ratioCrlToDisable: Number((percentile(crl, 50) / percentile(baseline, 50)).toFixed(2)),
      goalMs: 1000,
    };
    console.log(
      `device disabled (baseline, direct kick): p50 ${result.disableP50Ms} ms, max ${result.disableMaxMs} ms`,
    );
    console.log(
      `CRL imported (the sessions it names checked again): p50 ${result.crlP50Ms} ms, max ${result.crlMaxMs} ms; ratio ${result.ratioCrlToDisable}× the baseline; goal < 1000 ms`,
    );
    for (const d of devices) d.client?.end(true);
    console.log(JSON.stringify(result));
  } finally {
    await server.stop();
  }
}

await main();
