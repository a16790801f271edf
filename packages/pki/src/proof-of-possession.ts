import { displayName, type Certificate } from './certificate.js';
import { PkiError } from './errors.js';

const NONCE = /^[A-Za-z0-9]{1,64}$/;

/**
 * Whether `code` can be a verification code: 1 to 64 letters or digits. 64 is the X.520 upper
 * bound of a common name (RFC 5280 Appendix A, ub-common-name), which the code must fit in.
 *
 * @example
 * ```ts
 * isValidNonce('AAEC1DA657F1B63F440BCB58DFE5E3E274B6162D2B2FA6CD'); // true
 * isValidNonce('has space'); // false
 * ```
 */
export function isValidNonce(code: string): boolean {
  return typeof code === 'string' && NONCE.test(code);
}

/**
 * Checks a CA proof of possession (PROTOCOL.md §7.3): the verification certificate's subject CN
 * must equal `code` exactly, its signature must verify with the CA certificate's public key (the
 * proof that the uploader holds the CA's private key), and it must be valid at `time`. Its
 * issuer name is not compared: the signature is the proof.
 *
 * @throws PkiError `ERR_PKI_INVALID_NONCE`, `ERR_PKI_POP_CN_MISMATCH`, `ERR_PKI_POP_BAD_SIGNATURE`,
 * `ERR_PKI_POP_EXPIRED`, `ERR_PKI_POP_NOT_YET_VALID`
 *
 * @example
 * ```ts
 * checkProofOfPossession({
 *   verificationCertificate: readCertificate(uploadedPem),
 *   caCertificate: group.certificate,
 *   code: group.verificationCode,
 * }); // throws PkiError unless the proof holds
 * ```
 */
export function checkProofOfPossession(o: {
  verificationCertificate: Certificate;
  caCertificate: Certificate;
  code: string;
  time?: Date;
}): void {
  const { verificationCertificate: cert, caCertificate: ca, code } = o;
  const time = o.time ?? new Date();
  if (!isValidNonce(code)) {
    throw new PkiError('ERR_PKI_INVALID_NONCE', 'The verification code must be 1 to 64 letters or digits.', {
      length: typeof code === 'string' ? code.length : undefined,
    });
  }
  const detail = {
    certificate: displayName(cert),
    caCertificate: displayName(ca),
    sha256Thumbprint: cert.sha256Thumbprint,
  };
  if (cert.subjectCN !== code) {
    throw new PkiError(
      'ERR_PKI_POP_CN_MISMATCH',
      `The verification certificate's common name "${cert.subjectCN ?? ''}" is not the verification code "${code}".`,
      { ...detail, subjectCN: cert.subjectCN, code },
    );
  }
  if (!cert.isSignedBy(ca)) {
    throw new PkiError(
      'ERR_PKI_POP_BAD_SIGNATURE',
      `The verification certificate "${displayName(cert)}" is not signed with the private key of the CA certificate "${displayName(ca)}".`,
      detail,
    );
  }
  if (cert.notAfter.getTime() < time.getTime()) {
    throw new PkiError(
      'ERR_PKI_POP_EXPIRED',
      `The verification certificate "${displayName(cert)}" expired on ${cert.notAfter.toISOString()}.`,
      { ...detail, notAfter: cert.notAfter.toISOString(), time: time.toISOString() },
    );
  }
  if (cert.notBefore.getTime() > time.getTime()) {
    throw new PkiError(
      'ERR_PKI_POP_NOT_YET_VALID',
      `The verification certificate "${displayName(cert)}" is not valid before ${cert.notBefore.toISOString()}.`,
      { ...detail, notBefore: cert.notBefore.toISOString(), time: time.toISOString() },
    );
  }
}
