import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { PkiError, PrivateKey, readPrivateKey, createRootCa, type KeySpec } from '../src/index.js';
import { fixture, openssl, skipWithoutOpenssl } from './helpers.js';

const SPECS: [KeySpec | undefined, string][] = [
  [undefined, 'EC P-256'],
  [{ type: 'ec' }, 'EC P-256'],
  [{ type: 'ec', curve: 'P-384' }, 'EC P-384'],
  [{ type: 'rsa' }, 'RSA 2048'],
  [{ type: 'rsa', bits: 3072 }, 'RSA 3072'],
  [{ type: 'rsa', bits: 4096 }, 'RSA 4096'], // the one slow generation of the suite
];

for (const [spec, keyType] of SPECS) {
  test(`PrivateKey.generate(${JSON.stringify(spec)}) makes ${keyType} and round-trips through PKCS#8 PEM`, async () => {
    const key = await PrivateKey.generate(spec);
    assert.equal(key.keyType, keyType);
    const pem = key.toPem();
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
    const again = readPrivateKey(pem);
    assert.equal(again.keyType, keyType);
    assert.ok(again.publicKey.equals(key.publicKey));
  });
}

test('PrivateKey.generate refuses specs outside the contract', async () => {
  await assert.rejects(PrivateKey.generate({ type: 'rsa', bits: 1024 as 2048 }), {
    code: 'ERR_PKI_UNSUPPORTED_KEY',
  });
  await assert.rejects(PrivateKey.generate({ type: 'ec', curve: 'P-521' as 'P-256' }), {
    code: 'ERR_PKI_UNSUPPORTED_KEY',
  });
  await assert.rejects(PrivateKey.generate({ type: 'ed25519' } as unknown as KeySpec), {
    code: 'ERR_PKI_UNSUPPORTED_KEY',
  });
});

test('readPrivateKey reads PKCS#1 (create_test_cert.js), PKCS#8 and SEC1, with text around the block', () => {
  const pkcs1 = fixture('mytestrootcert_key.pem').toString();
  assert.match(pkcs1, /BEGIN RSA PRIVATE KEY/);
  assert.equal(readPrivateKey(pkcs1).keyType, 'RSA 2048');
  assert.equal(readPrivateKey(Buffer.from(`junk before\n${pkcs1}\nnull\n`)).keyType, 'RSA 2048');

  const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
  const sec1 = ec.export({ type: 'sec1', format: 'pem' }).toString();
  assert.match(sec1, /BEGIN EC PRIVATE KEY/);
  // `openssl ecparam -genkey` writes an EC PARAMETERS block before the key.
  const withParams = `-----BEGIN EC PARAMETERS-----\nBgUrgQQAIg==\n-----END EC PARAMETERS-----\n${sec1}`;
  assert.equal(readPrivateKey(withParams).keyType, 'EC P-384');

  const pkcs8 = ec.export({ type: 'pkcs8', format: 'pem' }).toString();
  assert.equal(readPrivateKey(`Bag Attributes\n${pkcs8}`).keyType, 'EC P-384');
});

test('readPrivateKey reads DER in PKCS#8, PKCS#1 and SEC1', () => {
  const rsa = readPrivateKey(fixture('mytestrootcert_key.pem'));
  for (const type of ['pkcs8', 'pkcs1'] as const) {
    const der = rsa.keyObject.export({ type, format: 'der' });
    assert.ok(readPrivateKey(der).publicKey.equals(rsa.publicKey), type);
  }
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  assert.equal(readPrivateKey(ec.export({ type: 'sec1', format: 'der' })).keyType, 'EC P-256');
});

const REFUSALS: [string, () => string | Buffer, string][] = [
  ['empty input', () => '', 'ERR_PKI_MALFORMED_KEY'],
  ['a certificate, not a key', () => fixture('mytestrootcert_cert.pem'), 'ERR_PKI_MALFORMED_KEY'],
  ['random bytes', () => Buffer.from([1, 2, 3, 4]), 'ERR_PKI_MALFORMED_KEY'],
  [
    'a corrupt key block',
    () => '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
    'ERR_PKI_MALFORMED_KEY',
  ],
  [
    'an encrypted PKCS#8 key',
    () =>
      generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' })
        .toString(),
    'ERR_PKI_MALFORMED_KEY',
  ],
  [
    'a public key',
    () =>
      generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .publicKey.export({ type: 'spki', format: 'pem' })
        .toString(),
    'ERR_PKI_MALFORMED_KEY',
  ],
  [
    'an Ed25519 key',
    () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    'ERR_PKI_UNSUPPORTED_KEY',
  ],
  [
    'a P-521 key',
    () =>
      generateKeyPairSync('ec', { namedCurve: 'secp521r1' })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString(),
    'ERR_PKI_UNSUPPORTED_KEY',
  ],
  [
    'an RSA 1024 key',
    () =>
      generateKeyPairSync('rsa', { modulusLength: 1024 })
        .privateKey.export({ type: 'pkcs1', format: 'pem' })
        .toString(),
    'ERR_PKI_UNSUPPORTED_KEY',
  ],
];

for (const [name, input, code] of REFUSALS) {
  test(`readPrivateKey refuses ${name} with ${code}`, () => {
    assert.throws(
      () => readPrivateKey(input()),
      (err: unknown) => err instanceof PkiError && err.code === code && err.message.length > 0,
    );
  });
}

test('openssl reads our PKCS#8 keys and finds the public key of our certificate', async (t) => {
  if (skipWithoutOpenssl(t)) return;
  for (const keySpec of [{ type: 'ec' }, { type: 'ec', curve: 'P-384' }, { type: 'rsa' }] as KeySpec[]) {
    const root = await createRootCa({ commonName: 'key check', keySpec });
    const fromKey = openssl(['pkey', '-pubout'], root.privateKey.toPem());
    const fromCert = openssl(['x509', '-pubkey', '-noout'], root.certificate.pem);
    assert.equal(fromKey, fromCert, root.privateKey.keyType);
  }
});
