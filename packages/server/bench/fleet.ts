import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDeviceCertificate, createRootCa, type Issued } from '@gatehouse/pki';
import type { ServeProcess } from './util.js';

export const BENCH_TOKEN = 'bench-admin-token-0123456789abcdef';

export interface Fleet {
  root: Issued;
  devices: Array<{ id: string; cert: string; key: string }>;
}

/** N device certificates from one root (EC P-256). */
export async function makeFleet(n: number, prefix: string): Promise<Fleet> {
  const root = await createRootCa({ commonName: `${prefix}-root` });
  const devices: Fleet['devices'] = [];
  for (let i = 0; i < n; i++) {
    const d = await createDeviceCertificate({ commonName: `${prefix}-${i}`, issuer: root });
    devices.push({ id: `${prefix}-${i}`, cert: d.certificate.pem, key: d.privateKey.toPem() });
  }
  return { root, devices };
}

/** Enroll the fleet in Gatehouse: a group with the root (verified on upload) and each device created. */
export async function enrollFleet(server: ServeProcess, fleet: Fleet): Promise<void> {
  const api = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${server.httpPort}${path}`, {
      method,
      headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  };
  await api('PUT', `/api/enrollmentGroups/bench-${fleet.root.certificate.subjectCN}`, {
    displayName: 'bench',
    type: 'iot',
    attestation: { type: 'x509' },
  });
  await api('PUT', `/api/enrollmentGroups/bench-${fleet.root.certificate.subjectCN}/certificates/primary`, {
    certificate: fleet.root.certificate.pem,
    verified: true,
  });
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < fleet.devices.length) {
        const d = fleet.devices[next++]!;
        await api('PUT', `/api/devices/${d.id}`, { displayName: d.id });
      }
    }),
  );
}

export async function serverTls(server: ServeProcess, dataDir: string) {
  return {
    ca: await readFile(server.caPath),
    certfile: join(dataDir, 'server-cert.pem'),
    keyfile: join(dataDir, 'server-key.pem'),
  };
}
