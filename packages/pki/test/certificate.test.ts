import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  PrivateKey,
  createDeviceCertificate,
  createIntermediateCa,
  createRootCa,
  createServerCertificate,
  createVerificationCertificate,
  readCertificate,
} from '../src/index.js';
import { DAY, openssl, skipWithoutOpenssl } from './helpers.js';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

test('certificate facts of a generated root, intermediate and device', async () => {
  const root = await createRootCa({ commonName: 'mytestrootcert' });
  const intermediate = await createIntermediateCa({ commonName: 'intermediate', issuer: root, pathLen: 1 });
  const device = await createDeviceCertificate({ commonName: 'mytestdevice', issuer: intermediate });

  const r = root.certificate;
  assert.equal(r.subject, 'CN=mytestrootcert');
  assert.equal(r.issuer, 'CN=mytestrootcert');
  assert.equal(r.subjectCN, 'mytestrootcert');
  assert.equal(r.issuerCN, 'mytestrootcert');
  assert.equal(r.isCA, true);
  assert.equal(r.pathLen, undefined);
  assert.equal(r.isSelfIssued, true);
  assert.equal(r.keyType, 'EC P-256');
  assert.equal(r.extendedKeyUsage, undefined);

  const i = intermediate.certificate;
  assert.equal(i.issuerCN, 'mytestrootcert');
  assert.equal(i.isCA, true);
  assert.equal(i.pathLen, 1);
  assert.equal(i.isSelfIssued, false);

  const d = device.certificate;
  assert.equal(d.subject, 'CN=mytestdevice');
  assert.equal(d.issuer, 'CN=intermediate');
  assert.equal(d.isCA, false);
  assert.equal(d.pathLen, undefined);
  assert.deepEqual(d.extendedKeyUsage, [CLIENT_AUTH]);
  assert.equal(d.isSelfIssued, false);

  assert.ok(d.isSignedBy(i));
  assert.ok(d.isSignedBy(intermediate.privateKey.publicKey));
  assert.ok(!d.isSignedBy(r));
  assert.ok(i.isSignedBy(r));
  assert.ok(r.isSignedBy(r));
  assert.ok(d.matchesKey(device.privateKey));
  assert.ok(!d.matchesKey(root.privateKey));
});

test('serial numbers are random, positive, non-zero and at most 20 octets (RFC 5280 §4.1.2.2)', async () => {
  const root = await createRootCa({ commonName: 'serials' });
  const serials = new Set<string>();
  for (let n = 0; n < 20; n++) {
    const { certificate } = await createDeviceCertificate({
      commonName: `d${n}`,
      issuer: root,
      key: root.privateKey,
    });
    const serial = certificate.serialNumber;
    assert.match(serial, /^[0-9A-F]+$/);
    assert.equal(serial.length, 40);
    const first = parseInt(serial.slice(0, 2), 16);
    assert.ok(first > 0 && first < 0x80, serial);
    serials.add(serial);
  }
  assert.equal(serials.size, 20);
});

test('isValidAt is inclusive at both ends (RFC 5280 §4.1.2.5)', async () => {
  const notBefore = new Date('2030-01-01T00:00:00Z');
  const { certificate } = await createRootCa({ commonName: 'window', notBefore, days: 1 });
  assert.equal(certificate.notBefore.toISOString(), '2030-01-01T00:00:00.000Z');
  assert.equal(certificate.notAfter.toISOString(), '2030-01-02T00:00:00.000Z');
  assert.ok(certificate.isValidAt(notBefore));
  assert.ok(certificate.isValidAt(new Date('2030-01-02T00:00:00Z')));
  assert.ok(!certificate.isValidAt(new Date('2029-12-31T23:59:59Z')));
  assert.ok(!certificate.isValidAt(new Date('2030-01-02T00:00:01Z')));
});

test('default validity: CA 10 years, device 1 year, verification 1 day, server 1 year; notBefore 5 minutes back', async () => {
  const before = Date.now();
  const root = await createRootCa({ commonName: 'defaults' });
  const intermediate = await createIntermediateCa({ commonName: 'int', issuer: root });
  const device = await createDeviceCertificate({ commonName: 'dev', issuer: root });
  const selfSigned = await createDeviceCertificate({ commonName: 'self' });
  const verification = await createVerificationCertificate({ nonce: 'ABC123', ca: root });
  const server = await createServerCertificate({ commonName: 'localhost', issuer: root });
  const after = Date.now();
  const cases: [string, Date, Date, number][] = [
    ['root', root.certificate.notBefore, root.certificate.notAfter, 3650],
    ['intermediate', intermediate.certificate.notBefore, intermediate.certificate.notAfter, 3650],
    ['device', device.certificate.notBefore, device.certificate.notAfter, 365],
    ['self-signed device', selfSigned.certificate.notBefore, selfSigned.certificate.notAfter, 365],
    ['verification', verification.certificate.notBefore, verification.certificate.notAfter, 1],
    ['server', server.certificate.notBefore, server.certificate.notAfter, 365],
  ];
  // X.509 times have a one-second resolution.
  for (const [name, notBefore, notAfter, days] of cases) {
    assert.ok(
      notBefore.getTime() >= before - 5 * 60_000 - 1000 && notBefore.getTime() <= after - 5 * 60_000,
      name,
    );
    assert.ok(
      notAfter.getTime() >= before + days * DAY - 1000 && notAfter.getTime() <= after + days * DAY,
      name,
    );
  }
});

test('thumbprints equal `openssl x509 -fingerprint -sha1|-sha256` without colons', async (t) => {
  if (skipWithoutOpenssl(t)) return;
  for (const keySpec of [{ type: 'ec' as const }, { type: 'rsa' as const }]) {
    const { certificate } = await createRootCa({ commonName: 'thumbprint', keySpec });
    const sha1 = openssl(['x509', '-noout', '-fingerprint', '-sha1'], certificate.pem);
    const sha256 = openssl(['x509', '-noout', '-fingerprint', '-sha256'], certificate.pem);
    assert.equal(certificate.sha1Thumbprint, sha1.trim().split('=')[1]?.replace(/:/g, ''));
    assert.equal(certificate.sha256Thumbprint, sha256.trim().split('=')[1]?.replace(/:/g, ''));
    assert.match(certificate.sha1Thumbprint, /^[0-9A-F]{40}$/);
    assert.match(certificate.sha256Thumbprint, /^[0-9A-F]{64}$/);
    const serial = openssl(['x509', '-noout', '-serial'], certificate.pem).trim();
    assert.equal(`serial=${certificate.serialNumber}`, serial);
  }
});

test('keyType of certificates follows the key', async () => {
  const key = await PrivateKey.generate({ type: 'ec', curve: 'P-384' });
  const { certificate } = await createRootCa({ commonName: 'p384', key });
  assert.equal(certificate.keyType, 'EC P-384');
  assert.equal(readCertificate(certificate.pem).keyType, 'EC P-384');
  assert.deepEqual(
    (await createServerCertificate({ commonName: 's', issuer: { certificate, privateKey: key } })).certificate
      .extendedKeyUsage,
    [SERVER_AUTH],
  );
});
