/**
 * The client chain as the gateway reads it from a real TLS handshake: exactly the certificates
 * the device sent, leaf first, in order (PROTOCOL.md §7.4), with a self-signed root sent along
 * read once, and nothing for a client without a certificate. On Node.js 24 and later this goes
 * through `getPeerX509Certificate()`, before through `getPeerCertificate(true)`: the same
 * answers either way, and a second read of the same connection gives the same chain.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import * as tls from 'node:tls';

import {
  createDeviceCertificate,
  createIntermediateCa,
  createRootCa,
  createServerCertificate,
} from '@gatehouse/pki';

import { peerCertificateDers, peerCertificates } from '../src/gateway/peer-certificates.js';

const root = await createRootCa({ commonName: 'peer-root' });
const intermediate = await createIntermediateCa({ commonName: 'peer-intermediate', issuer: root });
const device = await createDeviceCertificate({ commonName: 'peer-device', issuer: intermediate });
const serverCert = await createServerCertificate({
  commonName: 'localhost',
  dnsNames: ['localhost'],
  issuer: root,
});

/** Connects with `cert` (PEM, possibly a chain) and returns what the server read, twice. */
async function received(
  cert: string | undefined,
): Promise<{ first: Buffer[]; second: Buffer[]; cns: string[] }> {
  let seen: { first: Buffer[]; second: Buffer[]; cns: string[] } | undefined;
  const server = tls.createServer(
    {
      key: serverCert.privateKey.toPem(),
      cert: serverCert.certificate.pem,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (socket) => {
      const first = peerCertificateDers(socket);
      const second = peerCertificateDers(socket);
      const cns = peerCertificates(socket).map((c) => c.subjectCN ?? '');
      seen = { first, second, cns };
      socket.end();
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const client = tls.connect({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      servername: 'localhost',
      ca: root.certificate.pem,
      ...(cert ? { cert, key: device.privateKey.toPem() } : {}),
    });
    client.resume();
    await once(client, 'close');
  } finally {
    server.close();
  }
  assert.ok(seen, 'the server saw the connection');
  return seen;
}

const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');

test('leaf and intermediate: both, leaf first; a second read gives the same chain', async () => {
  const { first, second, cns } = await received(device.certificate.pem + intermediate.certificate.pem);
  assert.deepEqual(first, [der(device.certificate.pem), der(intermediate.certificate.pem)]);
  assert.deepEqual(second, first);
  assert.deepEqual(cns, ['peer-device', 'peer-intermediate']);
});

test('the whole chain up to a self-signed root: each certificate once', async () => {
  const { first } = await received(
    device.certificate.pem + intermediate.certificate.pem + root.certificate.pem,
  );
  assert.deepEqual(first, [
    der(device.certificate.pem),
    der(intermediate.certificate.pem),
    der(root.certificate.pem),
  ]);
});

test('the leaf alone', async () => {
  const { first } = await received(device.certificate.pem);
  assert.deepEqual(first, [der(device.certificate.pem)]);
});

test('no client certificate: an empty chain', async () => {
  const { first, second, cns } = await received(undefined);
  assert.deepEqual(first, []);
  assert.deepEqual(second, []);
  assert.deepEqual(cns, []);
});
