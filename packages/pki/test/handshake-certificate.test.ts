// readHandshakeCertificate: the chain a real TLS client sends, read from Node's `raw` without a
// second OpenSSL decode, gives the same facts as readCertificate; bad DER is refused.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import tls, { type DetailedPeerCertificate } from 'node:tls';
import {
  PkiError,
  createDeviceCertificate,
  createIntermediateCa,
  createRootCa,
  createServerCertificate,
  readCertificate,
  readHandshakeCertificate,
  validateChain,
  type Certificate,
} from '../src/index.js';

function facts(c: Certificate): Record<string, unknown> {
  return {
    der: c.der.toString('hex'),
    subject: c.subject,
    issuer: c.issuer,
    subjectCN: c.subjectCN,
    issuerCN: c.issuerCN,
    serialNumber: c.serialNumber,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    isCA: c.isCA,
    pathLen: c.pathLen,
    keyType: c.keyType,
    sha1: c.sha1Thumbprint,
    sha256: c.sha256Thumbprint,
    eku: c.extendedKeyUsage,
    selfIssued: c.isSelfIssued,
  };
}

test('the chain received in a TLS handshake reads as readCertificate reads it, and validates', async (t) => {
  const root = await createRootCa({ commonName: 'handshake-root' });
  const intermediate = await createIntermediateCa({ commonName: 'handshake-intermediate', issuer: root });
  const device = await createDeviceCertificate({
    commonName: 'handshake-device',
    issuer: intermediate,
    keySpec: { type: 'rsa' },
  });
  const serverCa = await createRootCa({ commonName: 'handshake-server-ca' });
  const serverCert = await createServerCertificate({
    commonName: 'localhost',
    dnsNames: ['localhost'],
    issuer: serverCa,
  });
  const received: Buffer[] = [];
  const server = tls.createServer(
    {
      key: serverCert.privateKey.toPem(),
      cert: serverCert.certificate.pem,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (socket) => {
      let peer: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      while (peer?.raw && !received.some((d) => d.equals(peer!.raw))) {
        received.push(peer.raw);
        peer = peer.issuerCertificate;
      }
      socket.end('done');
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const client = tls.connect({
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    servername: 'localhost',
    ca: serverCa.certificate.pem,
    key: device.privateKey.toPem(),
    cert: device.certificate.pem + intermediate.certificate.pem,
  });
  client.resume();
  await once(client, 'end');
  client.destroy();

  assert.equal(received.length, 2, 'leaf and intermediate were received');
  // The generators' certificates were made by OpenSSL's decode, not through the read cache, so
  // what is compared below is the handshake path against the checked one.
  const [leaf, sent] = received.map((der) => readHandshakeCertificate(der)) as [Certificate, Certificate];
  assert.deepEqual(facts(leaf), facts(device.certificate));
  assert.deepEqual(facts(sent), facts(intermediate.certificate));
  assert.equal(leaf.isSignedBy(sent), true);
  // The device's own certificate is not kept (memory per connected device); its CA is.
  assert.notEqual(readHandshakeCertificate(received[0]!), leaf);
  assert.equal(readHandshakeCertificate(received[1]!), sent);
  const { anchor } = validateChain({
    leaf,
    presented: [sent],
    anchors: [readCertificate(root.certificate.pem)],
  });
  assert.equal(anchor.subjectCN, 'handshake-root');
});

test('truncated DER, two certificates and trailing bytes are refused', async () => {
  const root = await createRootCa({ commonName: 'handshake-bad' });
  const der = root.certificate.der;
  for (const [label, bad] of [
    ['truncated', der.subarray(0, der.length - 1)],
    ['two certificates', Buffer.concat([der, der])],
    ['trailing byte', Buffer.concat([der, Buffer.from([0])])],
    ['not DER', Buffer.from('hello world')],
  ] as const) {
    assert.throws(
      () => readHandshakeCertificate(bad),
      (err: unknown) => err instanceof PkiError && err.code === 'ERR_PKI_NOT_A_CERTIFICATE',
      label,
    );
  }
});
