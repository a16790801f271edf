import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkProofOfPossession,
  readCertificate,
  readCertificates,
  readPrivateKey,
  validateChain,
} from '../src/index.js';
import { DAY, FIXTURE_TIME, fixture, forge, openssl, skipWithoutOpenssl } from './helpers.js';

// Known answers: what `openssl x509 -fingerprint` printed when the fixtures were made (NOTES.md).
const THUMBPRINTS: Record<string, [string, string]> = {
  mytestrootcert: [
    '8ED254F8414C1F5326C6DA9AEE942535469E9104',
    'E449A322A1387BD8D4C2159F38D76B7F775FBB274D525A373E15AF63D1AF600E',
  ],
  intermediateCa1: [
    'E1BD8FA84302B0505864AA846EF0DE2D967A43AA',
    '78FEF3EDB8989B020578FD3C831EDF11CEA2D2F27B5E6A09590BEC0792242056',
  ],
  device42: [
    'EFE6BE38046E313575F404AEDCE27D97BA220393',
    '1576F93FD3F57F4DB9DF940EF11964CFB1AD77EDBFC3E233D5C5342DC400AD76',
  ],
  mytestdevice: [
    '8129DFCF86880A7B4876DCE3A34576587FA516F7',
    '4FFE0FD4627D21D38BB833D6E6230CBB1105B3EDDD7371906120424DFDC4CB39',
  ],
  mytestprimarycert: [
    '676B88FA8EBEC1D17DE2264834888F93F14C54A0',
    '4981E02F62EC670C3327EC78484C938145152BA75022BFEED926FE2DEE9EFF1D',
  ],
  verification: [
    '164835513A9824723C592179A50CFC07C7AE2AD7',
    'E31AFF20D4E42D967956F379CBACA910261C3CA7B1A5EF4A504A18DD5CF65C11',
  ],
};

const cert = (name: string) => readCertificate(fixture(`${name}_cert.pem`));
const root = cert('mytestrootcert');

test('fixture thumbprints equal what openssl printed when they were made', () => {
  for (const [name, [sha1, sha256]] of Object.entries(THUMBPRINTS)) {
    const c = cert(name);
    assert.equal(c.sha1Thumbprint, sha1, name);
    assert.equal(c.sha256Thumbprint, sha256, name);
  }
});

test('fixture facts: CA without keyUsage, device with critical clientAuth EKU, RSA 2048, no key identifiers', () => {
  assert.equal(root.isCA, true);
  assert.equal(root.pathLen, undefined);
  assert.equal(root.isSelfIssued, true);
  assert.equal(root.keyType, 'RSA 2048');
  assert.equal(root.extendedKeyUsage, undefined);
  const device = cert('device42');
  assert.equal(device.subject, 'CN=Device 42');
  assert.equal(device.issuer, 'CN=Intermediate CA 1');
  assert.equal(device.subjectCN, 'Device 42');
  assert.equal(device.isCA, false);
  assert.deepEqual(device.extendedKeyUsage, ['1.3.6.1.5.5.7.3.2']);
  assert.match(device.serialNumber, /^[0-9A-F]+$/);
  for (const name of Object.keys(THUMBPRINTS)) {
    assert.ok(cert(name).matchesKey(readPrivateKey(fixture(`${name}_key.pem`))), name);
  }
});

test('every fullchain file (trailing `null` included) validates to the root', () => {
  const expected: Record<string, string[]> = {
    mytestdevice: ['mytestdevice', 'mytestrootcert'],
    device42: ['Device 42', 'Intermediate CA 1', 'mytestrootcert'],
    intermediateCa1: ['Intermediate CA 1', 'mytestrootcert'],
    verification: ['0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF', 'mytestrootcert'],
  };
  for (const [name, path] of Object.entries(expected)) {
    const text = fixture(`${name}_fullchain.pem`).toString();
    assert.match(text, /-----END CERTIFICATE-----\nnull$/);
    const [leaf, ...presented] = readCertificates(text);
    assert.ok(leaf);
    const result = validateChain({ leaf, presented, anchors: [root], time: FIXTURE_TIME });
    assert.deepEqual(
      result.path.map((c) => c.subjectCN),
      path,
      name,
    );
  }
});

test('the fixture chain validates from base64-of-PEM and DER inputs, and to the intermediate as anchor', () => {
  const chainPem = fixture('device42_fullchain.pem').toString();
  const fromBase64 = readCertificates(Buffer.from(chainPem).toString('base64'));
  const anchor = readCertificate(fixture('intermediateCa1_cert.pem').toString('base64'));
  const leafFromDer = readCertificate(cert('device42').der);
  const [, ...presented] = fromBase64;
  const viaRoot = validateChain({
    leaf: leafFromDer,
    presented,
    anchors: [readCertificate(root.der)],
    time: FIXTURE_TIME,
  });
  assert.equal(viaRoot.path.length, 3);
  const viaIntermediate = validateChain({ leaf: leafFromDer, anchors: [anchor], time: FIXTURE_TIME });
  assert.deepEqual(
    viaIntermediate.path.map((c) => c.sha256Thumbprint),
    [THUMBPRINTS['device42']?.[1], THUMBPRINTS['intermediateCa1']?.[1]],
  );
});

test('the self-signed fixture device validates only as its own anchor (thumbprint enrollment)', () => {
  const primary = readCertificate(fixture('mytestprimarycert_fullchain.pem'));
  assert.equal(primary.isSelfIssued, true);
  assert.equal(primary.isCA, false);
  assert.deepEqual(validateChain({ leaf: primary, anchors: [primary], time: FIXTURE_TIME }).path, [primary]);
  assert.throws(() => validateChain({ leaf: primary, anchors: [root], time: FIXTURE_TIME }), {
    code: 'ERR_PKI_NO_PATH',
  });
});

test('a certificate issued by a create_test_cert device (no basicConstraints) is refused', async () => {
  const device = cert('mytestdevice');
  const issued = await forge({
    commonName: 'issued by a device',
    key: readPrivateKey(fixture('device42_key.pem')),
    issuer: { certificate: device, privateKey: readPrivateKey(fixture('mytestdevice_key.pem')), chain: [] },
    notBefore: new Date(FIXTURE_TIME.getTime() - DAY),
    notAfter: new Date(FIXTURE_TIME.getTime() + DAY),
  });
  assert.throws(
    () => validateChain({ leaf: issued, presented: [device], anchors: [root], time: FIXTURE_TIME }),
    {
      code: 'ERR_PKI_ISSUER_NOT_CA',
    },
  );
});

test('the fixture verification certificate proves possession of the root key', () => {
  const verification = cert('verification');
  const code = '0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF';
  checkProofOfPossession({
    verificationCertificate: verification,
    caCertificate: root,
    code,
    time: FIXTURE_TIME,
  });
  assert.throws(
    () =>
      checkProofOfPossession({
        verificationCertificate: verification,
        caCertificate: cert('intermediateCa1'),
        code,
        time: FIXTURE_TIME,
      }),
    { code: 'ERR_PKI_POP_BAD_SIGNATURE' },
  );
});

test('openssl agrees with the fixture chain and the thumbprints we read', (t) => {
  if (skipWithoutOpenssl(t)) return;
  const device = cert('device42');
  const fp = openssl(['x509', '-noout', '-fingerprint', '-sha256'], device.pem);
  assert.equal(fp.trim().split('=')[1]?.replace(/:/g, ''), device.sha256Thumbprint);
});
