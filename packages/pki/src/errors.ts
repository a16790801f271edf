/**
 * Every code a {@link PkiError} can carry, in the order of the package README. Kept as a runtime
 * list so a test can check it against the documentation.
 */
export const PKI_ERROR_CODES = [
  'ERR_PKI_NOT_A_CERTIFICATE',
  'ERR_PKI_MALFORMED_KEY',
  'ERR_PKI_UNSUPPORTED_KEY',
  'ERR_PKI_KEY_MISMATCH',
  'ERR_PKI_NOT_A_CA',
  'ERR_PKI_EXPIRED',
  'ERR_PKI_NOT_YET_VALID',
  'ERR_PKI_BAD_SIGNATURE',
  'ERR_PKI_ISSUER_NOT_CA',
  'ERR_PKI_PATH_LENGTH_EXCEEDED',
  'ERR_PKI_NO_PATH',
  'ERR_PKI_NOT_CLIENT_AUTH',
  'ERR_PKI_CHAIN_TOO_DEEP',
  'ERR_PKI_INVALID_NONCE',
  'ERR_PKI_POP_CN_MISMATCH',
  'ERR_PKI_POP_BAD_SIGNATURE',
  'ERR_PKI_POP_EXPIRED',
  'ERR_PKI_POP_NOT_YET_VALID',
] as const;

/**
 * A stable machine-readable reason for a {@link PkiError}.
 *
 * - `ERR_PKI_NOT_A_CERTIFICATE` — input holds no parseable certificate
 * - `ERR_PKI_MALFORMED_KEY` — input holds no parseable private key
 * - `ERR_PKI_UNSUPPORTED_KEY` — key type/curve/size we do not support
 * - `ERR_PKI_KEY_MISMATCH` — private key does not belong to the certificate
 * - `ERR_PKI_NOT_A_CA` — a certificate used as issuer is not a CA
 * - `ERR_PKI_EXPIRED` — notAfter < time (leaf, intermediate or anchor)
 * - `ERR_PKI_NOT_YET_VALID` — notBefore > time
 * - `ERR_PKI_BAD_SIGNATURE` — issuer DN matches but the signature does not verify
 * - `ERR_PKI_ISSUER_NOT_CA` — an issuer in the path lacks basicConstraints CA:true
 * - `ERR_PKI_PATH_LENGTH_EXCEEDED` — pathLenConstraint violated
 * - `ERR_PKI_NO_PATH` — no path from the leaf to any trusted anchor
 * - `ERR_PKI_NOT_CLIENT_AUTH` — leaf has an EKU without clientAuth (when required)
 * - `ERR_PKI_CHAIN_TOO_DEEP` — more than maxDepth certificates
 * - `ERR_PKI_INVALID_NONCE` — verification code empty, too long or not [A-Za-z0-9]
 * - `ERR_PKI_POP_CN_MISMATCH` — verification certificate CN != the code
 * - `ERR_PKI_POP_BAD_SIGNATURE` — verification certificate not signed by the CA key
 * - `ERR_PKI_POP_EXPIRED` / `ERR_PKI_POP_NOT_YET_VALID` — verification certificate outside its validity
 *
 * @example
 * ```ts
 * function status(code: PkiErrorCode): number {
 *   return code === 'ERR_PKI_NOT_A_CERTIFICATE' ? 400 : 401;
 * }
 * ```
 */
export type PkiErrorCode = (typeof PKI_ERROR_CODES)[number];

/**
 * The one error class of the package. `message` is a plain sentence that names the certificate
 * (by its CN) and is safe to show to the user; `detail` carries structured facts (which
 * certificate, dates, thumbprints) for logs and API responses.
 *
 * @example
 * ```ts
 * try {
 *   validateChain({ leaf, presented, anchors: [root] });
 * } catch (err) {
 *   if (err instanceof PkiError && err.code === 'ERR_PKI_EXPIRED') console.log(err.message, err.detail);
 *   else throw err;
 * }
 * ```
 */
export class PkiError extends Error {
  /** Stable reason, see {@link PkiErrorCode}. */
  readonly code: PkiErrorCode;
  /** Structured facts about the failure (certificate names, dates, thumbprints). */
  readonly detail?: Record<string, unknown>;

  constructor(
    code: PkiErrorCode,
    message: string,
    detail?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PkiError';
    this.code = code;
    if (detail !== undefined) this.detail = detail;
  }
}

/**
 * One sentence per code, for docs/errors.md (generated from this table, so the
 * documentation cannot drift from the code).
 *
 * @example
 * ```ts
 * console.log(PKI_ERROR_DESCRIPTIONS.ERR_PKI_NO_PATH);
 * ```
 */
export const PKI_ERROR_DESCRIPTIONS: Record<PkiErrorCode, string> = {
  ERR_PKI_NOT_A_CERTIFICATE: 'The input holds no parseable certificate (PEM, DER, or base64 of either).',
  ERR_PKI_MALFORMED_KEY: 'The input holds no unencrypted private key (PKCS#1, PKCS#8 or SEC1).',
  ERR_PKI_UNSUPPORTED_KEY:
    'The key type, curve or size is not supported (EC P-256/P-384, RSA 2048 bits or more).',
  ERR_PKI_KEY_MISMATCH: 'The private key does not belong to the certificate it is used with.',
  ERR_PKI_NOT_A_CA: 'A certificate used to issue another is not a CA (no basicConstraints CA:true).',
  ERR_PKI_EXPIRED: 'A certificate (leaf, intermediate or anchor) expired before the time checked.',
  ERR_PKI_NOT_YET_VALID: 'A certificate is not valid yet at the time checked (check clocks).',
  ERR_PKI_BAD_SIGNATURE: "A certificate names an issuer, but the issuer's key did not sign it.",
  ERR_PKI_ISSUER_NOT_CA: 'An issuer in the chain is not a CA, or its keyUsage lacks keyCertSign.',
  ERR_PKI_PATH_LENGTH_EXCEEDED: "The chain is longer than an issuer's pathLenConstraint allows.",
  ERR_PKI_NO_PATH:
    'No chain leads from the certificate to a trusted anchor; the message names the missing issuer.',
  ERR_PKI_NOT_CLIENT_AUTH:
    'The leaf has an extended key usage without clientAuth, so it cannot authenticate a device.',
  ERR_PKI_CHAIN_TOO_DEEP: 'The chain holds more certificates than allowed (8 by default).',
  ERR_PKI_INVALID_NONCE: 'A verification code must be 1–64 letters and digits.',
  ERR_PKI_POP_CN_MISMATCH: "The verification certificate's subject CN is not exactly the verification code.",
  ERR_PKI_POP_BAD_SIGNATURE:
    "The verification certificate was not signed with the CA certificate's private key.",
  ERR_PKI_POP_EXPIRED: 'The verification certificate has expired.',
  ERR_PKI_POP_NOT_YET_VALID: 'The verification certificate is not valid yet (check clocks).',
};
