// The DER fast reader against the general parser (@peculiar/x509): for every certificate the
// fast reader accepts, both must give the same facts; the rest must fall back.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { readCertificateFields, type CertificateFields } from '../src/certificate-fields.js';
import { parseFully } from '../src/certificate.js';
import {
  createDeviceCertificate,
  createIntermediateCa,
  createRootCa,
  createServerCertificate,
  createVerificationCertificate,
  readCertificate,
  readCertificates,
} from '../src/index.js';
import { FIXTURES, fixture, openssl, skipWithoutOpenssl, tempDir, writeTemp } from './helpers.js';

function comparable(f: CertificateFields): Record<string, unknown> {
  const { subject, issuer, ...rest } = f;
  const name = (n: CertificateFields['subject']) => ({
    text: n.text,
    commonName: n.commonName,
    key: n.key,
    der: Buffer.from(n.name().toArrayBuffer()).toString('hex'),
  });
  return { ...rest, subject: name(subject), issuer: name(issuer) };
}

/** Asserts agreement and returns whether the fast reader handled the certificate. */
function agree(der: Buffer, label: string): boolean {
  const fast = readCertificateFields(der);
  const full = parseFully(der);
  if (fast) assert.deepEqual(comparable(fast), comparable(full), label);
  return fast !== undefined;
}

test('generated certificates: the fast reader handles CA, device and verification certificates identically', async () => {
  const root = await createRootCa({ commonName: 'mytestrootcert' });
  const intermediate = await createIntermediateCa({ commonName: 'intermediate', issuer: root, pathLen: 1 });
  const device = await createDeviceCertificate({ commonName: 'mytestdevice', issuer: intermediate });
  const rsa = await createDeviceCertificate({
    commonName: 'rsa-device',
    issuer: root,
    keySpec: { type: 'rsa' },
  });
  const verification = await createVerificationCertificate({ nonce: 'ABC123', ca: root });
  for (const [label, issued] of Object.entries({ root, intermediate, device, rsa, verification }))
    assert.equal(agree(issued.certificate.der, label), true, `${label} takes the fast path`);
  // A server certificate carries subjectAltName, which only the general parser reads.
  const server = await createServerCertificate({
    commonName: 'localhost',
    issuer: root,
    dnsNames: ['localhost'],
  });
  assert.equal(agree(server.certificate.der, 'server'), false);
  assert.equal(readCertificate(server.certificate.pem).subject, 'CN=localhost');
});

test('create_test_cert.js fixtures (OpenSSL): same facts on either path', () => {
  for (const file of readdirSync(FIXTURES).filter((f) => f.endsWith('_cert.pem'))) {
    for (const c of readCertificates(fixture(file))) agree(c.der, file);
  }
});

/** A self-signed certificate made by openssl with the given subject and options. */
function opensslCert(t: TestContext, subj: string, extra: string[], ext: string[] = []): Buffer {
  const dir = tempDir(t);
  const conf = writeTemp(dir, 'ext.cnf', ['[v3]', ...ext, ''].join('\n'));
  const keyFile = join(dir, 'key.pem');
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile]);
  const pem = openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    keyFile,
    '-subj',
    subj,
    '-utf8',
    '-config',
    conf,
    '-extensions',
    'v3',
    ...extra,
    '-outform',
    'PEM',
  ]);
  return readCertificate(pem).der;
}

const NAME_CASES: Array<[string, string]> = [
  ['several attributes', '/C=DE/ST=Berlin/L=Berlin/O=Example GmbH/OU=Devices/CN=device-1'],
  ['escaped characters', '/O=Smith\\, Jones + Co/CN=a "quoted" \\+ plus;semi'],
  ['UTF-8 and e-mail', '/CN=Gerät-ü/emailAddress=ops@example.com'],
  ['multi-valued RDN', '/O=Example/CN=dev+OU=lab'],
  ['leading and trailing spaces', '/CN= padded '],
  ['two CNs', '/CN=outer/CN=inner'],
];

for (const [label, subj] of NAME_CASES) {
  test(`names: ${label} read the same on both paths`, (t) => {
    if (skipWithoutOpenssl(t)) return;
    const der = opensslCert(
      t,
      subj,
      ['-days', '30'],
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyAgreement,decipherOnly',
        'extendedKeyUsage=clientAuth,1.3.6.1.4.1.311.10.3.4',
        'subjectKeyIdentifier=hash',
      ],
    );
    assert.equal(agree(der, label), true);
  });
}

test('GeneralizedTime after 2049, pathLenConstraint and a sign octet in the serial', (t) => {
  if (skipWithoutOpenssl(t)) return;
  const der = opensslCert(
    t,
    '/CN=long-lived-ca',
    ['-days', '20000', '-set_serial', '0x80aabbccdd'],
    [
      'basicConstraints=critical,CA:TRUE,pathlen:3',
      'keyUsage=critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid:always',
    ],
  );
  assert.equal(agree(der, 'long-lived'), true);
  const fields = readCertificateFields(der)!;
  assert.equal(fields.notAfter.getUTCFullYear() > 2049, true);
  assert.equal(fields.serialNumber, '80AABBCCDD');
  assert.equal(fields.pathLen, 3);
});

test('an extension the fast reader does not know sends the certificate to the general parser', (t) => {
  if (skipWithoutOpenssl(t)) return;
  const der = opensslCert(t, '/CN=with-comment', ['-days', '30'], ['nsComment="made by hand"']);
  assert.equal(readCertificateFields(der), undefined);
  assert.equal(readCertificate(der).subjectCN, 'with-comment');
});

test('isSignedBy over the DER agrees with OpenSSL X509_verify (EC, RSA, wrong issuer, bad signature)', async () => {
  const { X509Certificate } = await import('node:crypto');
  const root = await createRootCa({ commonName: 'sig-root' });
  const rsaRoot = await createRootCa({ commonName: 'sig-rsa-root', keySpec: { type: 'rsa' } });
  const other = await createRootCa({ commonName: 'sig-other' });
  const ec = await createDeviceCertificate({ commonName: 'sig-ec', issuer: root });
  const rsa = await createDeviceCertificate({ commonName: 'sig-rsa', issuer: rsaRoot });
  const tampered = Buffer.from(ec.certificate.der);
  tampered[tampered.length - 3]! ^= 0x01;
  const cases: Array<[string, Buffer, typeof root]> = [
    ['EC leaf, its root', ec.certificate.der, root],
    ['EC leaf, another root', ec.certificate.der, other],
    ['EC leaf, an RSA root', ec.certificate.der, rsaRoot],
    ['RSA leaf, its root', rsa.certificate.der, rsaRoot],
    ['RSA leaf, an EC root', rsa.certificate.der, root],
    ['tampered signature', tampered, root],
    ['self-signed root', root.certificate.der, root],
  ];
  for (const [label, der, issuer] of cases) {
    const expected = new X509Certificate(der).verify(
      issuer.certificate.isCA
        ? new X509Certificate(issuer.certificate.der).publicKey
        : issuer.privateKey.publicKey,
    );
    assert.equal(readCertificate(der).isSignedBy(issuer.certificate), expected, label);
  }
  assert.equal(readCertificate(ec.certificate.der).isSignedBy(root.certificate), true);
});
