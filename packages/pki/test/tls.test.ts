import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import tls from 'node:tls';
import {
  createDeviceCertificate,
  createRootCa,
  createServerCertificate,
  readCertificate,
  validateChain,
  type Issued,
} from '../src/index.js';

/** Connects a TLS client with the device's chain; resolves true when the server accepted it. */
async function connect(port: number, ca: string, device: Issued): Promise<{ ok: boolean; error?: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca,
      key: device.privateKey.toPem(),
      cert: device.chain.map((c) => c.pem).join(''),
    });
    // TLS 1.3 reports a refused client certificate after the handshake, as an alert on read.
    socket.once('data', (data) => {
      resolve({ ok: data.toString() === 'hello' });
      socket.end();
    });
    socket.once('error', (err) => resolve({ ok: false, error: err.message }));
    socket.once('close', () => resolve({ ok: false, error: 'closed' }));
  });
}

test('a Node TLS server trusting our root accepts our device certificate and refuses another root’s', async (t) => {
  const serverCa = await createRootCa({ commonName: 'gatehouse server ca' });
  const server = await createServerCertificate({
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    issuer: serverCa,
  });
  const deviceRoot = await createRootCa({ commonName: 'mytestrootcert', keySpec: { type: 'rsa' } });
  const device = await createDeviceCertificate({
    commonName: 'mytestdevice',
    issuer: deviceRoot,
    keySpec: { type: 'rsa' },
  });
  const strangerRoot = await createRootCa({ commonName: 'stranger root' });
  const stranger = await createDeviceCertificate({ commonName: 'stranger', issuer: strangerRoot });

  const peers: string[] = [];
  const listener = tls.createServer(
    {
      key: server.privateKey.toPem(),
      cert: server.chain.map((c) => c.pem).join(''),
      ca: deviceRoot.certificate.pem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket) => {
      const peer = socket.getPeerCertificate();
      const leaf = readCertificate(peer.raw);
      // Our own validation agrees with OpenSSL's.
      validateChain({ leaf, anchors: [deviceRoot.certificate] });
      peers.push(leaf.subjectCN ?? '');
      socket.end('hello');
    },
  );
  listener.on('tlsClientError', () => {});
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  t.after(() => listener.close());
  const { port } = listener.address() as AddressInfo;

  assert.deepEqual(await connect(port, serverCa.certificate.pem, device), { ok: true });
  const refused = await connect(port, serverCa.certificate.pem, stranger);
  assert.equal(refused.ok, false);
  assert.deepEqual(peers, ['mytestdevice']);
});
