/**
 * Findings of the PKI fuzzer (packages/server/fuzz/fuzz-pki.ts), kept as regressions: the fast
 * DER reader must never accept a certificate the general parser refuses.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';

import { createDeviceCertificate, PkiError, readCertificate } from '../src/index.js';
import { parseFully, readCertificateFields } from '../src/internals.js';

/** The DER with the tag of the EC curve OID (after id-ecPublicKey) replaced by `tag`. */
function withCurveTag(der: Buffer, tag: number): Buffer {
  const ecPublicKey = Buffer.from('06072a8648ce3d0201', 'hex');
  const at = der.indexOf(ecPublicKey);
  assert.ok(at > 0, 'an EC certificate');
  const out = Buffer.from(der);
  assert.equal(out[at + ecPublicKey.length], 0x06);
  out[at + ecPublicKey.length] = tag;
  return out;
}

describe('fast certificate reader, fuzzer findings', () => {
  // Seed 11, inputs 73652, 81410 and 138956: tags 0x78, 0x7d and 0xb5.
  for (const tag of [0x78, 0x7d, 0xb5]) {
    it(`declines a public key whose curve parameter has tag 0x${tag.toString(16)}, as the general parser refuses it`, async () => {
      const { certificate } = await createDeviceCertificate({ commonName: 'fuzz-regression' });
      const der = withCurveTag(certificate.der, tag);
      new X509Certificate(der); // OpenSSL still parses it: the fast reader is asked
      assert.throws(() => parseFully(der), PkiError);
      assert.equal(readCertificateFields(der), undefined);
      assert.throws(
        () => readCertificate(der),
        (err: unknown) => err instanceof PkiError && err.code === 'ERR_PKI_NOT_A_CERTIFICATE',
      );
    });
  }

  it('still reads an ordinary EC certificate itself', async () => {
    const { certificate } = await createDeviceCertificate({ commonName: 'fuzz-regression' });
    assert.equal(readCertificateFields(certificate.der)?.subject.commonName, 'fuzz-regression');
  });
});
