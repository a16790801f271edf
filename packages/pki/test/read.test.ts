import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PkiError, readCertificate, readCertificates } from '../src/index.js';
import { fixture } from './helpers.js';

const rootPem = fixture('mytestrootcert_cert.pem').toString();
const fullchain = fixture('device42_fullchain.pem').toString();
const root = readCertificate(rootPem);

const ACCEPTED: [string, () => string | Buffer, string[]][] = [
  ['a PEM string', () => rootPem, ['mytestrootcert']],
  ['a PEM buffer', () => Buffer.from(rootPem), ['mytestrootcert']],
  [
    'a fullchain with a trailing `null` line',
    () => fullchain,
    ['Device 42', 'Intermediate CA 1', 'mytestrootcert'],
  ],
  ['CRLF line ends', () => rootPem.replace(/\n/g, '\r\n'), ['mytestrootcert']],
  [
    'junk text between blocks',
    () => `subject=CN = x\n${rootPem}garbage\n\n${rootPem}`,
    ['mytestrootcert', 'mytestrootcert'],
  ],
  [
    'the legacy X509 CERTIFICATE label',
    () => rootPem.replace(/CERTIFICATE/g, 'X509 CERTIFICATE'),
    ['mytestrootcert'],
  ],
  ['DER', () => root.der, ['mytestrootcert']],
  [
    'concatenated DER',
    () => Buffer.concat([readCertificates(fullchain)[0]?.der ?? Buffer.alloc(0), root.der]),
    ['Device 42', 'mytestrootcert'],
  ],
  ['base64 of PEM (Azure CLI upload)', () => Buffer.from(rootPem).toString('base64'), ['mytestrootcert']],
  [
    'base64 of a fullchain',
    () => Buffer.from(fullchain).toString('base64'),
    ['Device 42', 'Intermediate CA 1', 'mytestrootcert'],
  ],
  ['base64 of DER', () => root.der.toString('base64'), ['mytestrootcert']],
  [
    'base64 of DER with line breaks and quotes',
    () => `"${root.der.toString('base64').replace(/.{64}/g, '$&\n')}"\n`,
    ['mytestrootcert'],
  ],
  ['base64 of DER as a buffer', () => Buffer.from(root.der.toString('base64')), ['mytestrootcert']],
];

for (const [name, input, cns] of ACCEPTED) {
  test(`readCertificates reads ${name}`, () => {
    const certs = readCertificates(input());
    assert.deepEqual(
      certs.map((c) => c.subjectCN),
      cns,
    );
    for (const c of certs)
      if (c.subjectCN === 'mytestrootcert') assert.equal(c.sha256Thumbprint, root.sha256Thumbprint);
  });
}

const REFUSED: [string, () => string | Buffer][] = [
  ['an empty string', () => ''],
  ['`null`', () => 'null'],
  ['a private key', () => fixture('mytestrootcert_key.pem')],
  ['random bytes', () => Buffer.from([0x01, 0x02, 0x03])],
  ['truncated DER', () => root.der.subarray(0, 100)],
  ['DER with trailing garbage', () => Buffer.concat([root.der, Buffer.from([0x30, 0x05, 0x01])])],
  ['a corrupt CERTIFICATE block', () => rootPem.replace(/\n[A-Za-z0-9+/]{64}\n/, '\nAAAA\n')],
  [
    'a CERTIFICATE block holding a key',
    () => '-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n',
  ],
  ['base64 of text', () => Buffer.from('hello world').toString('base64')],
];

for (const [name, input] of REFUSED) {
  test(`readCertificates refuses ${name} with ERR_PKI_NOT_A_CERTIFICATE`, () => {
    assert.throws(
      () => readCertificates(input()),
      (err: unknown) => err instanceof PkiError && err.code === 'ERR_PKI_NOT_A_CERTIFICATE',
    );
  });
}

test('readCertificate returns the first certificate and the PEM it gives re-reads to the same DER', () => {
  const leaf = readCertificate(fullchain);
  assert.equal(leaf.subjectCN, 'Device 42');
  assert.ok(readCertificate(leaf.pem).der.equals(leaf.der));
  assert.equal(leaf.pem, fixture('device42_cert.pem').toString());
});
