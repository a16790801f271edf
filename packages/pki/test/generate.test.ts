import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  PkiError,
  createDeviceCertificate,
  createIntermediateCa,
  createRootCa,
  createServerCertificate,
  createVerificationCertificate,
  readCertificate,
  readPrivateKey,
  type KeySpec,
} from '../src/index.js';
import {
  DAY,
  FIXTURE_TIME,
  fixture,
  openssl,
  skipWithoutOpenssl,
  tempDir,
  writeTemp,
  x509,
} from './helpers.js';

function text(pem: string): string {
  return openssl(['x509', '-text', '-noout'], pem);
}

for (const [label, keySpec, signature] of [
  ['EC P-256', { type: 'ec' }, 'ecdsa-with-SHA256'],
  ['EC P-384', { type: 'ec', curve: 'P-384' }, 'ecdsa-with-SHA384'],
  ['RSA 2048', { type: 'rsa', bits: 2048 }, 'sha256WithRSAEncryption'],
] as [string, KeySpec, string][]) {
  test(`openssl verify accepts our ${label} root → intermediate → device chain, signed with ${signature}`, async (t) => {
    if (skipWithoutOpenssl(t)) return;
    const dir = tempDir(t);
    const root = await createRootCa({ commonName: `${label} root`, keySpec });
    const intermediate = await createIntermediateCa({ commonName: `${label} int`, issuer: root, keySpec });
    const device = await createDeviceCertificate({
      commonName: 'mytestdevice',
      issuer: intermediate,
      issuerChain: intermediate.chain,
      keySpec,
    });
    const rootFile = writeTemp(dir, 'root.pem', root.certificate.pem);
    const intFile = writeTemp(dir, 'int.pem', intermediate.certificate.pem);
    const leafFile = writeTemp(dir, 'leaf.pem', device.certificate.pem);
    const out = openssl([
      'verify',
      '-CAfile',
      rootFile,
      '-untrusted',
      intFile,
      '-purpose',
      'sslclient',
      leafFile,
    ]);
    assert.equal(out.trim(), `${leafFile}: OK`);
    for (const cert of device.chain)
      assert.match(text(cert.pem), new RegExp(`Signature Algorithm: ${signature}`));
    assert.deepEqual(
      device.chain.map((c) => c.subjectCN),
      ['mytestdevice', `${label} int`, `${label} root`],
    );
  });
}

test('openssl shows the root CA extensions: CA:TRUE critical, Certificate Sign/CRL Sign critical, SKI', async (t) => {
  if (skipWithoutOpenssl(t)) return;
  const root = await createRootCa({ commonName: 'mytestrootcert' });
  const out = text(root.certificate.pem);
  assert.match(out, /X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
  assert.match(out, /X509v3 Key Usage: critical\n\s+Certificate Sign, CRL Sign\n/);
  assert.match(out, /X509v3 Subject Key Identifier:/);
  assert.doesNotMatch(out, /Authority Key Identifier/);
  assert.match(out, /Issuer: CN ?= ?mytestrootcert\n/);
});

test('openssl shows the intermediate extensions: pathlen, SKI and an AKI equal to the root SKI', async (t) => {
  if (skipWithoutOpenssl(t)) return;
  const root = await createRootCa({ commonName: 'root' });
  const intermediate = await createIntermediateCa({ commonName: 'int', issuer: root, pathLen: 0 });
  const out = text(intermediate.certificate.pem);
  assert.match(out, /X509v3 Basic Constraints: critical\n\s+CA:TRUE, pathlen:0\n/);
  assert.match(out, /Certificate Sign, CRL Sign/);
  const rootSki = /Subject Key Identifier: *\n\s+([0-9A-F:]+)/.exec(text(root.certificate.pem))?.[1];
  const aki = /Authority Key Identifier: *\n\s+(?:keyid:)?([0-9A-F:]+)/.exec(out)?.[1];
  assert.ok(rootSki);
  assert.equal(aki, rootSki);
});

test('openssl shows the device extensions: TLS Web Client Authentication, Digital Signature', async (t) => {
  if (skipWithoutOpenssl(t)) return;
  const root = await createRootCa({ commonName: 'root' });
  const device = await createDeviceCertificate({ commonName: 'mytestdevice', issuer: root });
  const out = text(device.certificate.pem);
  assert.match(out, /Subject: CN ?= ?mytestdevice\n/);
  assert.match(out, /X509v3 Extended Key Usage: *\n\s+TLS Web Client Authentication\n/);
  assert.match(out, /X509v3 Key Usage: critical\n\s+Digital Signature\n/);
  assert.match(out, /CA:FALSE/);
  assert.match(out, /Authority Key Identifier/);

  const selfSigned = await createDeviceCertificate({ commonName: 'mytestprimarycert' });
  const selfOut = text(selfSigned.certificate.pem);
  assert.match(selfOut, /Issuer: CN ?= ?mytestprimarycert\n/);
  assert.match(selfOut, /TLS Web Client Authentication/);
  assert.doesNotMatch(selfOut, /Authority Key Identifier/);
  assert.ok(selfSigned.certificate.isSelfIssued && selfSigned.certificate.isSignedBy(selfSigned.certificate));
  assert.equal(selfSigned.chain.length, 1);
});

test('openssl shows the server extensions: TLS Web Server Authentication and the SANs', async (t) => {
  if (skipWithoutOpenssl(t)) return;
  const root = await createRootCa({ commonName: 'server ca', keySpec: { type: 'rsa' } });
  const server = await createServerCertificate({
    commonName: 'gatehouse.local',
    dnsNames: ['gatehouse.local', 'localhost'],
    ipAddresses: ['127.0.0.1', '::1'],
    issuer: root,
    keySpec: { type: 'rsa' },
  });
  const out = text(server.certificate.pem);
  assert.match(out, /Subject: CN ?= ?gatehouse.local\n/);
  assert.match(out, /X509v3 Extended Key Usage: *\n\s+TLS Web Server Authentication\n/);
  assert.match(out, /DNS:gatehouse.local, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1/);
  assert.match(out, /Digital Signature, Key Encipherment/);

  const byName = await createServerCertificate({ commonName: 'localhost', issuer: root });
  assert.match(text(byName.certificate.pem), /DNS:localhost\n/);
  const byIp = await createServerCertificate({ commonName: '127.0.0.1', issuer: root });
  assert.match(text(byIp.certificate.pem), /IP Address:127.0.0.1\n/);
});

test('openssl shows the verification certificate: CN = nonce, issuer = CA subject, client auth', async (t) => {
  if (skipWithoutOpenssl(t)) return;
  const dir = tempDir(t);
  const root = await createRootCa({ commonName: 'mytestrootcert' });
  const nonce = 'AAEC1DA657F1B63F440BCB58DFE5E3E274B6162D2B2FA6CD';
  const verification = await createVerificationCertificate({ nonce, ca: root });
  const out = text(verification.certificate.pem);
  assert.match(out, new RegExp(`Subject: CN ?= ?${nonce}\n`));
  assert.match(out, /Issuer: CN ?= ?mytestrootcert\n/);
  assert.match(out, /TLS Web Client Authentication/);
  const rootFile = writeTemp(dir, 'root.pem', root.certificate.pem);
  const leafFile = writeTemp(dir, 'verification.pem', verification.certificate.pem);
  assert.equal(openssl(['verify', '-CAfile', rootFile, leafFile]).trim(), `${leafFile}: OK`);
  assert.ok(
    verification.certificate.notAfter.getTime() - verification.certificate.notBefore.getTime() <=
      DAY + 5 * 60_000,
  );
});

test('our private keys match our certificates (openssl pkey -pubout = openssl x509 -pubkey)', async (t) => {
  if (skipWithoutOpenssl(t)) return;
  const root = await createRootCa({ commonName: 'root', keySpec: { type: 'rsa' } });
  const device = await createDeviceCertificate({
    commonName: 'dev',
    issuer: root,
    keySpec: { type: 'ec', curve: 'P-384' },
  });
  for (const issued of [root, device]) {
    assert.equal(
      openssl(['pkey', '-pubout'], issued.privateKey.toPem()),
      openssl(['x509', '-pubkey', '-noout'], issued.certificate.pem),
    );
    assert.ok(issued.certificate.matchesKey(issued.privateKey));
  }
});

test('issuing from a create_test_cert.js root (PKCS#1 key, no SKI) works and openssl verifies it', async (t) => {
  const root = {
    certificate: readCertificate(fixture('mytestrootcert_cert.pem')),
    privateKey: readPrivateKey(fixture('mytestrootcert_key.pem')),
  };
  const device = await createDeviceCertificate({
    commonName: 'ours',
    issuer: root,
    notBefore: new Date(FIXTURE_TIME.getTime() - DAY),
    days: 10,
  });
  assert.ok(device.certificate.isSignedBy(root.certificate));
  const aki = new x509.X509Certificate(device.certificate.der).getExtension(
    x509.AuthorityKeyIdentifierExtension,
  );
  assert.ok(aki?.keyId, 'AKI falls back to the SHA-1 of the issuer key');
  if (skipWithoutOpenssl(t)) return;
  const dir = tempDir(t);
  const rootFile = writeTemp(dir, 'root.pem', root.certificate.pem);
  const leafFile = writeTemp(dir, 'leaf.pem', device.certificate.pem);
  const attime = String(Math.floor(FIXTURE_TIME.getTime() / 1000));
  assert.equal(
    openssl(['verify', '-attime', attime, '-CAfile', rootFile, leafFile]).trim(),
    `${leafFile}: OK`,
  );
});

test('chain = [certificate, ...issuer chain]; the issuer is put in front when issuerChain omits it', async () => {
  const root = await createRootCa({ commonName: 'root' });
  const intermediate = await createIntermediateCa({ commonName: 'int', issuer: root });
  const a = await createDeviceCertificate({
    commonName: 'a',
    issuer: intermediate,
    issuerChain: intermediate.chain,
  });
  const b = await createDeviceCertificate({
    commonName: 'b',
    issuer: intermediate,
    issuerChain: [root.certificate],
  });
  const c = await createDeviceCertificate({ commonName: 'c', issuer: intermediate });
  assert.deepEqual(
    a.chain.map((x) => x.subjectCN),
    ['a', 'int', 'root'],
  );
  assert.deepEqual(
    b.chain.map((x) => x.subjectCN),
    ['b', 'int', 'root'],
  );
  assert.deepEqual(
    c.chain.map((x) => x.subjectCN),
    ['c', 'int'],
  );
  assert.deepEqual(
    intermediate.chain.map((x) => x.subjectCN),
    ['int', 'root'],
  );
});

test('the key option is used as given', async () => {
  const first = await createRootCa({ commonName: 'root' });
  const again = await createRootCa({ commonName: 'root again', key: first.privateKey });
  assert.equal(again.privateKey, first.privateKey);
  assert.ok(again.certificate.matchesKey(first.privateKey));
});

test('issuing refuses a bad issuer: key mismatch, not a CA, expired', async () => {
  const root = await createRootCa({ commonName: 'root' });
  const other = await createRootCa({ commonName: 'other' });
  const device = await createDeviceCertificate({ commonName: 'leaf', issuer: root });
  const expired = await createRootCa({
    commonName: 'old root',
    notBefore: new Date('2001-01-01T00:00:00Z'),
    days: 1,
  });
  const cases: [string, () => Promise<unknown>, string, RegExp][] = [
    [
      'key mismatch',
      () =>
        createDeviceCertificate({
          commonName: 'x',
          issuer: { certificate: root.certificate, privateKey: other.privateKey },
        }),
      'ERR_PKI_KEY_MISMATCH',
      /"root"/,
    ],
    [
      'not a CA',
      () => createDeviceCertificate({ commonName: 'x', issuer: device }),
      'ERR_PKI_NOT_A_CA',
      /"leaf"/,
    ],
    [
      'expired',
      () => createIntermediateCa({ commonName: 'x', issuer: expired }),
      'ERR_PKI_EXPIRED',
      /"old root" expired/,
    ],
    [
      'verification with a non-CA',
      () => createVerificationCertificate({ nonce: 'ABC', ca: device }),
      'ERR_PKI_NOT_A_CA',
      /"leaf"/,
    ],
    [
      'server certificate from an expired CA',
      () => createServerCertificate({ commonName: 'localhost', issuer: expired }),
      'ERR_PKI_EXPIRED',
      /"old root"/,
    ],
    [
      'an invalid nonce',
      () => createVerificationCertificate({ nonce: 'not valid!', ca: root }),
      'ERR_PKI_INVALID_NONCE',
      /letters or digits/,
    ],
  ];
  for (const [name, run, code, message] of cases) {
    await assert.rejects(
      run,
      (err: unknown) => err instanceof PkiError && err.code === code && message.test(err.message),
      name,
    );
  }
});

test('a self-signed device certificate issues a device certificate only when allowed, as create_test_cert.js does', async () => {
  const root = await createRootCa({ commonName: 'root' });
  const primary = await createDeviceCertificate({ commonName: 'mytestprimarycert' });
  const secondary = await createDeviceCertificate({
    commonName: 'mytestsecondarycert',
    issuer: primary,
    allowSelfSignedIssuer: true,
  });
  assert.equal(secondary.certificate.issuer, 'CN=mytestprimarycert');
  assert.equal(secondary.certificate.isCA, false);
  assert.ok(secondary.certificate.isSignedBy(primary.certificate));
  assert.deepEqual(
    secondary.chain.map((c) => c.subject),
    ['CN=mytestsecondarycert', 'CN=mytestprimarycert'],
  );
  const leaf = await createDeviceCertificate({ commonName: 'leaf', issuer: root });
  const expiredPrimary = await createDeviceCertificate({
    commonName: 'old primary',
    notBefore: new Date('2001-01-01T00:00:00Z'),
    days: 1,
  });
  const refusals: [string, () => Promise<unknown>, string][] = [
    [
      'a self-signed device without the option',
      () => createDeviceCertificate({ commonName: 'x', issuer: primary }),
      'ERR_PKI_NOT_A_CA',
    ],
    [
      'a device issued by a CA, even with the option',
      () => createDeviceCertificate({ commonName: 'x', issuer: leaf, allowSelfSignedIssuer: true }),
      'ERR_PKI_NOT_A_CA',
    ],
    [
      'a self-signed device issuing an intermediate',
      () => createIntermediateCa({ commonName: 'x', issuer: primary }),
      'ERR_PKI_NOT_A_CA',
    ],
    [
      'a self-signed device issuing a verification certificate',
      () => createVerificationCertificate({ nonce: 'ABC', ca: primary }),
      'ERR_PKI_NOT_A_CA',
    ],
    [
      'a self-signed device with the wrong key',
      () =>
        createDeviceCertificate({
          commonName: 'x',
          issuer: { certificate: primary.certificate, privateKey: leaf.privateKey },
          allowSelfSignedIssuer: true,
        }),
      'ERR_PKI_KEY_MISMATCH',
    ],
    [
      'an expired self-signed device',
      () => createDeviceCertificate({ commonName: 'x', issuer: expiredPrimary, allowSelfSignedIssuer: true }),
      'ERR_PKI_EXPIRED',
    ],
  ];
  for (const [name, run, code] of refusals) {
    await assert.rejects(run, (err: unknown) => err instanceof PkiError && err.code === code, name);
  }
});

test('generators refuse nonsensical options with RangeError', async () => {
  const root = await createRootCa({ commonName: 'root' });
  await assert.rejects(createRootCa({ commonName: '' }), RangeError);
  await assert.rejects(createRootCa({ commonName: 'x'.repeat(65) }), RangeError);
  await assert.rejects(createRootCa({ commonName: 'x', days: 0 }), RangeError);
  await assert.rejects(createIntermediateCa({ commonName: 'x', issuer: root, pathLen: -1 }), RangeError);
  await assert.rejects(
    createServerCertificate({ commonName: 'x', issuer: root, ipAddresses: ['nope'] }),
    RangeError,
  );
});
