import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  PkiError,
  PrivateKey,
  checkProofOfPossession,
  createDeviceCertificate,
  createRootCa,
  createVerificationCertificate,
  isValidNonce,
  type Certificate,
} from '../src/index.js';
import { DAY } from './helpers.js';

const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const CODE = 'AAEC1DA657F1B63F440BCB58DFE5E3E274B6162D2B2FA6CD';

const key = await PrivateKey.generate();
const ca = await createRootCa({ commonName: 'mytestrootcert', key });
const otherCa = await createRootCa({ commonName: 'mytestrootcert', key: await PrivateKey.generate() });
const good = await createVerificationCertificate({ nonce: CODE, ca, key });
const lowerCase = await createVerificationCertificate({ nonce: CODE.toLowerCase(), ca, key });
const byOtherKey = await createVerificationCertificate({ nonce: CODE, ca: otherCa, key });
const expired = await createVerificationCertificate({
  nonce: CODE,
  ca,
  key,
  notBefore: new Date(NOW.getTime() - 3 * DAY),
});
const future = await createVerificationCertificate({
  nonce: CODE,
  ca,
  key,
  notBefore: new Date(NOW.getTime() + DAY),
});
// Self-signed with CN = code: right name, wrong key.
const selfSigned = await createDeviceCertificate({ commonName: CODE });

test('isValidNonce accepts 1 to 64 letters and digits only', () => {
  for (const ok of ['a', 'Z9', CODE, 'x'.repeat(64)]) assert.equal(isValidNonce(ok), true, ok);
  for (const bad of ['', 'x'.repeat(65), 'has space', 'dash-ed', 'ünï', 'a\n', '../etc'])
    assert.equal(isValidNonce(bad), false, bad);
});

test('a verification certificate signed with the CA key and CN = code is accepted', () => {
  checkProofOfPossession({
    verificationCertificate: good.certificate,
    caCertificate: ca.certificate,
    code: CODE,
    time: NOW,
  });
  checkProofOfPossession({
    verificationCertificate: good.certificate,
    caCertificate: ca.certificate,
    code: CODE,
  });
});

const REFUSALS: [string, Certificate, string, Date, string, RegExp][] = [
  ['an empty code', good.certificate, '', NOW, 'ERR_PKI_INVALID_NONCE', /1 to 64 letters or digits/],
  ['a code with punctuation', good.certificate, 'AB-CD', NOW, 'ERR_PKI_INVALID_NONCE', /letters or digits/],
  [
    'a code over 64 characters',
    good.certificate,
    'A'.repeat(65),
    NOW,
    'ERR_PKI_INVALID_NONCE',
    /letters or digits/,
  ],
  [
    'another code',
    good.certificate,
    'ABC123',
    NOW,
    'ERR_PKI_POP_CN_MISMATCH',
    new RegExp(`"${CODE}" is not the verification code "ABC123"`),
  ],
  [
    'a CN that differs in case only',
    lowerCase.certificate,
    CODE,
    NOW,
    'ERR_PKI_POP_CN_MISMATCH',
    /is not the verification code/,
  ],
  [
    'a certificate signed by another key with the CA name',
    byOtherKey.certificate,
    CODE,
    NOW,
    'ERR_PKI_POP_BAD_SIGNATURE',
    /not signed with the private key of the CA certificate "mytestrootcert"/,
  ],
  ['a self-signed certificate', selfSigned.certificate, CODE, NOW, 'ERR_PKI_POP_BAD_SIGNATURE', /not signed/],
  ['an expired certificate', expired.certificate, CODE, NOW, 'ERR_PKI_POP_EXPIRED', /expired on/],
  [
    'a certificate checked after its day',
    good.certificate,
    CODE,
    new Date(NOW.getTime() + 2 * DAY),
    'ERR_PKI_POP_EXPIRED',
    /expired on/,
  ],
  [
    'a certificate not yet valid',
    future.certificate,
    CODE,
    NOW,
    'ERR_PKI_POP_NOT_YET_VALID',
    /is not valid before/,
  ],
];

for (const [name, cert, code, time, expected, message] of REFUSALS) {
  test(`checkProofOfPossession refuses ${name} with ${expected}`, () => {
    assert.throws(
      () =>
        checkProofOfPossession({ verificationCertificate: cert, caCertificate: ca.certificate, code, time }),
      (err: unknown) => {
        assert.ok(err instanceof PkiError, String(err));
        assert.equal(err.code, expected, err.message);
        assert.match(err.message, message);
        assert.match(err.message, /\.$/);
        return true;
      },
    );
  });
}
