import { displayName, internals, type Certificate } from './certificate.js';
import { PkiError } from './errors.js';
import { EKU_CLIENT_AUTH } from './extensions.js';
import { x509 } from './webcrypto.js';

/**
 * What {@link validateChain} checks.
 *
 * @example
 * ```ts
 * const options: ValidateChainOptions = { leaf, presented: peerChain, anchors: verifiedCas, time: new Date() };
 * ```
 */
export interface ValidateChainOptions {
  /** The end-entity certificate to validate (the TLS client certificate). */
  leaf: Certificate;
  /** Other certificates the peer sent (intermediates, possibly the root and the leaf again). */
  presented?: Certificate[];
  /** Trusted certificates: roots or intermediates (an enrollment group's certificate). */
  anchors: Certificate[];
  /** When to check validity periods; default now. */
  time?: Date;
  /** Most certificates a path may hold, leaf and anchor included; default 8. */
  maxDepth?: number;
  /** Refuse a leaf whose extendedKeyUsage lacks clientAuth; default true. */
  requireClientAuth?: boolean;
}

/**
 * A validated certification path.
 *
 * @example
 * ```ts
 * const { path, anchor } = validateChain({ leaf, presented, anchors });
 * console.log(path.map((c) => c.subjectCN).join(' → '), 'trusted through', anchor.sha1Thumbprint);
 * ```
 */
export interface ValidatedChain {
  /** Leaf first, anchor last. */
  path: Certificate[];
  /** The trusted certificate the path ends at. */
  anchor: Certificate;
}

/** Upper bound on signature checks per call, so a hostile bundle cannot make path search explode. */
const MAX_SIGNATURE_CHECKS = 1000;

interface Failure {
  error: PkiError;
  /** 0 no issuer found, 1 issuer name matched but signature failed, 2 a complete path failed a check. */
  rank: number;
  length: number;
}

function describe(certificate: Certificate): Record<string, unknown> {
  return {
    certificate: displayName(certificate),
    subject: certificate.subject,
    issuer: certificate.issuer,
    sha256Thumbprint: certificate.sha256Thumbprint,
  };
}

function role(index: number, length: number): string {
  if (index === 0) return 'certificate';
  return index === length - 1 ? 'trusted certificate' : 'intermediate certificate';
}

/** The checks RFC 5280 §6.1.3 and §6.1.4 make on a complete path, or the first that fails. */
function checkPath(
  path: Certificate[],
  time: Date,
  maxDepth: number,
  requireClientAuth: boolean,
): PkiError | undefined {
  const leaf = path[0];
  if (!leaf) return new PkiError('ERR_PKI_NO_PATH', 'The chain is empty.');
  for (const [index, cert] of path.entries()) {
    const name = displayName(cert);
    const what = role(index, path.length);
    const detail = { ...describe(cert), position: index, role: what, time: time.toISOString() };
    // §6.1.3 (a)(2): the validity period includes the current time — for every certificate,
    // the anchor included (a trust anchor past its notAfter is no longer trusted here).
    if (cert.notAfter.getTime() < time.getTime()) {
      return new PkiError(
        'ERR_PKI_EXPIRED',
        `The ${what} "${name}" expired on ${cert.notAfter.toISOString()}.`,
        {
          ...detail,
          notAfter: cert.notAfter.toISOString(),
        },
      );
    }
    if (cert.notBefore.getTime() > time.getTime()) {
      return new PkiError(
        'ERR_PKI_NOT_YET_VALID',
        `The ${what} "${name}" is not valid before ${cert.notBefore.toISOString()}.`,
        { ...detail, notBefore: cert.notBefore.toISOString() },
      );
    }
    if (index === 0) continue;
    const issued = displayName(path[index - 1] ?? cert);
    // §6.1.4 (k): every issuer must assert basicConstraints cA TRUE.
    if (!cert.isCA) {
      return new PkiError(
        'ERR_PKI_ISSUER_NOT_CA',
        `The ${what} "${name}" issued "${issued}" but is not a CA certificate (basicConstraints CA:TRUE is missing).`,
        detail,
      );
    }
    // §6.1.4 (n): if keyUsage is present, keyCertSign must be set.
    const keyUsage = internals(cert).keyUsage;
    if (keyUsage !== undefined && (keyUsage & x509.KeyUsageFlags.keyCertSign) === 0) {
      return new PkiError(
        'ERR_PKI_ISSUER_NOT_CA',
        `The ${what} "${name}" issued "${issued}" but its key usage does not allow signing certificates (keyCertSign).`,
        detail,
      );
    }
    // §6.1.4 (l), (m): pathLenConstraint counts the non-self-issued intermediates below this CA.
    if (cert.pathLen !== undefined) {
      const below = path.slice(1, index).filter((c) => !c.isSelfIssued).length;
      if (below > cert.pathLen) {
        return new PkiError(
          'ERR_PKI_PATH_LENGTH_EXCEEDED',
          `The ${what} "${name}" allows at most ${cert.pathLen} intermediate certificate(s) below it, but the chain has ${below}.`,
          { ...detail, pathLen: cert.pathLen, intermediatesBelow: below },
        );
      }
    }
  }
  // §4.2.1.12: when the extension is present, the certificate may only be used for the listed purposes.
  if (
    requireClientAuth &&
    leaf.extendedKeyUsage !== undefined &&
    !leaf.extendedKeyUsage.includes(EKU_CLIENT_AUTH)
  ) {
    return new PkiError(
      'ERR_PKI_NOT_CLIENT_AUTH',
      `The certificate "${displayName(leaf)}" may not be used for client authentication: its extended key usage does not include clientAuth.`,
      { ...describe(leaf), extendedKeyUsage: leaf.extendedKeyUsage },
    );
  }
  if (path.length > maxDepth) {
    return new PkiError(
      'ERR_PKI_CHAIN_TOO_DEEP',
      `The chain of "${displayName(leaf)}" has ${path.length} certificates, more than the ${maxDepth} allowed.`,
      { ...describe(leaf), length: path.length, maxDepth, path: path.map(displayName) },
    );
  }
  return undefined;
}

function uniqueByThumbprint(certificates: Certificate[]): Certificate[] {
  const seen = new Map<string, Certificate>();
  for (const c of certificates) if (!seen.has(c.sha256Thumbprint)) seen.set(c.sha256Thumbprint, c);
  return [...seen.values()];
}

/**
 * Validates a client certificate chain (RFC 5280 §6.1, without policies or name constraints):
 * builds a path from `leaf` through `presented` to any certificate in `anchors`, linking each
 * certificate to an issuer whose subject DN equals its issuer DN **and** whose public key
 * verifies its signature (key identifiers are never used: create_test_cert.js on OpenSSL 1.1
 * writes none). An anchor may be an intermediate. A leaf that is itself an anchor (a self-signed
 * device certificate registered by thumbprint) validates as the path `[leaf]`.
 *
 * Every certificate of the path, anchor included, must be valid at `time`; every issuer must be
 * a CA and respect pathLenConstraint; the leaf's extendedKeyUsage, when present, must include
 * clientAuth (unless `requireClientAuth` is false); the path may hold at most `maxDepth`
 * certificates. All candidate paths are tried before failing, and the error reported is the most
 * specific one met: a complete path failing a check beats a signature mismatch, which beats a
 * missing issuer.
 *
 * @throws PkiError `ERR_PKI_EXPIRED`, `ERR_PKI_NOT_YET_VALID`, `ERR_PKI_BAD_SIGNATURE`,
 * `ERR_PKI_ISSUER_NOT_CA`, `ERR_PKI_PATH_LENGTH_EXCEEDED`, `ERR_PKI_NO_PATH`,
 * `ERR_PKI_NOT_CLIENT_AUTH`, `ERR_PKI_CHAIN_TOO_DEEP`
 *
 * @example
 * ```ts
 * const [leaf, ...presented] = readCertificates(readFileSync('mytestdevice_fullchain.pem'));
 * const { path } = validateChain({ leaf, presented, anchors: [readCertificate(rootPem)] });
 * path.map((c) => c.subjectCN); // ['mytestdevice', 'mytestrootcert']
 * ```
 */
export function validateChain(o: ValidateChainOptions): ValidatedChain {
  const time = o.time ?? new Date();
  const maxDepth = o.maxDepth ?? 8;
  const requireClientAuth = o.requireClientAuth ?? true;
  if (!Number.isInteger(maxDepth) || maxDepth < 1)
    throw new RangeError('maxDepth must be a positive integer.');
  const { leaf } = o;
  const anchors = uniqueByThumbprint(o.anchors);
  const anchorThumbprints = new Set(anchors.map((a) => a.sha256Thumbprint));

  if (anchorThumbprints.has(leaf.sha256Thumbprint)) {
    const error = checkPath([leaf], time, maxDepth, requireClientAuth);
    if (error) throw error;
    return { path: [leaf], anchor: leaf };
  }

  // Anchors first, so the shortest path to a trusted certificate is found first.
  const pool = uniqueByThumbprint([...anchors, ...(o.presented ?? [])]);
  const failures: Failure[] = [];
  let signatureChecks = 0;

  const search = (path: Certificate[]): ValidatedChain | undefined => {
    const current = path[path.length - 1] as Certificate;
    const inPath = new Set(path.map((c) => c.sha256Thumbprint));
    // RFC 5280 §6.1.3 (a)(4): the issuer name must equal the working issuer name.
    const candidates = pool.filter(
      (c) => !inPath.has(c.sha256Thumbprint) && internals(c).subjectKey === internals(current).issuerKey,
    );
    if (candidates.length === 0) {
      failures.push({
        rank: 0,
        length: path.length,
        error: new PkiError(
          'ERR_PKI_NO_PATH',
          `The chain of "${displayName(leaf)}" does not reach a trusted certificate: the issuer "${current.issuer}" of "${displayName(current)}" is neither trusted nor presented.`,
          { ...describe(current), leaf: displayName(leaf), path: path.map(displayName) },
        ),
      });
      return undefined;
    }
    for (const candidate of candidates) {
      if (++signatureChecks > MAX_SIGNATURE_CHECKS) return undefined;
      // §6.1.3 (a)(1): the signature verifies with the working public key.
      if (!current.isSignedBy(candidate)) {
        failures.push({
          rank: 1,
          length: path.length,
          error: new PkiError(
            'ERR_PKI_BAD_SIGNATURE',
            `The signature of "${displayName(current)}" does not verify with the public key of "${displayName(candidate)}", although that certificate has the issuer's name.`,
            { ...describe(current), issuerCandidate: describe(candidate), leaf: displayName(leaf) },
          ),
        });
        continue;
      }
      const next = [...path, candidate];
      if (anchorThumbprints.has(candidate.sha256Thumbprint)) {
        const error = checkPath(next, time, maxDepth, requireClientAuth);
        if (!error) return { path: next, anchor: candidate };
        failures.push({ rank: 2, length: next.length, error });
        continue;
      }
      const found = search(next);
      if (found) return found;
    }
    return undefined;
  };

  const found = search([leaf]);
  if (found) return found;
  // Highest rank wins; within a rank, the path that got furthest; then the first met.
  const best = failures.reduce<Failure | undefined>(
    (a, b) => (!a || b.rank > a.rank || (b.rank === a.rank && b.length > a.length) ? b : a),
    undefined,
  );
  throw (
    best?.error ??
    new PkiError(
      'ERR_PKI_NO_PATH',
      `The chain of "${displayName(leaf)}" does not reach a trusted certificate.`,
      {
        ...describe(leaf),
      },
    )
  );
}
