import { createHash, verify, X509Certificate as NodeX509Certificate, type KeyObject } from 'node:crypto';
import {
  nameFacts,
  readCertificateFields,
  signedParts,
  type CertificateFields,
} from './certificate-fields.js';
import { PkiError } from './errors.js';
import { describeKey, type PrivateKey } from './keys.js';
import { encodePem } from './pem.js';
import { x509 } from './webcrypto.js';

/** Parsed pieces other modules of this package need but the public API does not show. */
export interface CertificateInternals {
  /** node:crypto's view (OpenSSL), made on demand: kept only for CA certificates, which verify many. */
  readonly node: NodeX509Certificate;
  /** The subject public key (cached for CA certificates). */
  readonly publicKey: KeyObject;
  readonly subjectName: x509.Name;
  readonly issuerName: x509.Name;
  subjectKey: string;
  issuerKey: string;
  /** RFC 5280 §4.2.1.3 key usage bits, undefined when the extension is absent. */
  keyUsage: number | undefined;
  /** RFC 5280 §4.2.1.2 subject key identifier (hex), undefined when absent. */
  subjectKeyIdentifier: string | undefined;
}

const INTERNALS = new WeakMap<Certificate, CertificateInternals>();

/** @internal */
export function internals(certificate: Certificate): CertificateInternals {
  const found = INTERNALS.get(certificate);
  if (!found) throw new TypeError('Not a Certificate made by @gatehouse/pki.');
  return found;
}

/** Upper-case hex digest of the DER: what node's `fingerprint`/`fingerprint256` give, without colons. */
function thumbprint(algorithm: 'sha1' | 'sha256', der: Buffer): string {
  return createHash(algorithm).update(der).digest('hex').toUpperCase();
}

/** OpenSSL's parse, which also checks the encoding. */
function opensslParse(der: Uint8Array): NodeX509Certificate {
  try {
    return new NodeX509Certificate(Buffer.from(der));
  } catch (cause) {
    throw new PkiError('ERR_PKI_NOT_A_CERTIFICATE', 'The data is not a valid X.509 certificate.', undefined, {
      cause,
    });
  }
}

/**
 * The general parser (@peculiar/x509), for certificates the fast reader leaves alone.
 * @internal
 */
export function parseFully(der: Buffer): CertificateFields {
  let parsed: x509.X509Certificate;
  try {
    parsed = new x509.X509Certificate(der);
  } catch (cause) {
    throw new PkiError('ERR_PKI_NOT_A_CERTIFICATE', 'The data is not a valid X.509 certificate.', undefined, {
      cause,
    });
  }
  try {
    const basic = parsed.getExtension(x509.BasicConstraintsExtension);
    const eku = parsed.getExtension(x509.ExtendedKeyUsageExtension);
    const keyUsage = parsed.getExtension(x509.KeyUsagesExtension);
    const ski = parsed.getExtension(x509.SubjectKeyIdentifierExtension);
    return {
      subject: nameFacts(parsed.subjectName),
      issuer: nameFacts(parsed.issuerName),
      serialNumber: parsed.serialNumber.toUpperCase(),
      notBefore: parsed.notBefore,
      notAfter: parsed.notAfter,
      isCA: basic?.ca === true,
      pathLen: basic?.ca === true ? basic.pathLength : undefined,
      extendedKeyUsage: eku ? Array.from(eku.usages, (u) => String(u)) : undefined,
      keyUsage: keyUsage?.usages,
      subjectKeyIdentifier: ski?.keyId,
    };
  } catch (cause) {
    throw new PkiError(
      'ERR_PKI_NOT_A_CERTIFICATE',
      'The certificate has a malformed extension or name.',
      undefined,
      {
        cause,
      },
    );
  }
}

/** @internal */
export interface CertificateOptions {
  /**
   * The DER is exactly what OpenSSL decoded moments ago (a TLS peer's certificate, as Node's
   * `raw`): its encoding is not checked again.
   */
  decodedByOpenssl?: boolean;
}

/**
 * An X.509 certificate with the facts Gatehouse needs already extracted. Obtain one with
 * {@link readCertificate}/{@link readCertificates} or from the generators.
 *
 * @example
 * ```ts
 * const cert = readCertificate(readFileSync('mytestdevice_cert.pem'));
 * cert.subjectCN;         // 'mytestdevice' — the registration ID
 * cert.sha256Thumbprint;  // '9F86D0…' — what the hub compares for self-signed devices
 * cert.isValidAt(new Date());
 * ```
 */
export class Certificate {
  /** The certificate as PEM (re-encoded from DER, 64-character lines). */
  get pem(): string {
    return (this.#pem ??= encodePem('CERTIFICATE', this.der));
  }
  #pem: string | undefined;
  /** The DER encoding. */
  readonly der: Buffer;
  /** Subject DN in one line, attributes in encoding order, e.g. `CN=mytestrootcert`. */
  readonly subject: string;
  /** Issuer DN in one line, e.g. `CN=mytestrootcert`. */
  readonly issuer: string;
  /** The subject's common name (the last CN attribute), if any. */
  readonly subjectCN: string | undefined;
  /** The issuer's common name (the last CN attribute), if any. */
  readonly issuerCN: string | undefined;
  /** Serial number, upper-case hex without leading zero octet. */
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** basicConstraints cA (RFC 5280 §4.2.1.9). */
  readonly isCA: boolean;
  /** basicConstraints pathLenConstraint (RFC 5280 §4.2.1.9), undefined when absent. */
  readonly pathLen: number | undefined;
  /** Public key description, as {@link PrivateKey.keyType} (`EC P-256`, `RSA 2048` …). */
  get keyType(): string {
    return (this.#keyType ??= describeKey(internals(this).publicKey));
  }
  #keyType: string | undefined;
  /** SHA-1 of the DER, upper-case hex without colons (what DPS shows). */
  readonly sha1Thumbprint: string;
  /** SHA-256 of the DER, upper-case hex without colons (what IoT Hub shows). */
  readonly sha256Thumbprint: string;
  /** extendedKeyUsage OIDs (RFC 5280 §4.2.1.12); undefined when the extension is absent. */
  readonly extendedKeyUsage: string[] | undefined;
  /** Subject equals issuer (RFC 5280 §6.1: "self-issued"); true for roots and self-signed devices. */
  readonly isSelfIssued: boolean;

  /**
   * Parses one DER certificate. Prefer {@link readCertificate}, which accepts every encoding.
   * @throws PkiError `ERR_PKI_NOT_A_CERTIFICATE`
   */
  constructor(der: Uint8Array, options: CertificateOptions = {}) {
    // OpenSSL checks the encoding (unless it just did, in a TLS handshake); its object is
    // dropped (it costs native memory per certificate) and made again only when a signature or
    // the key is needed.
    let node: NodeX509Certificate | undefined = options.decodedByOpenssl ? undefined : opensslParse(der);
    this.der = node ? Buffer.from(node.raw) : Buffer.from(der);
    const f = readCertificateFields(this.der) ?? parseFully(this.der);
    this.subject = f.subject.text;
    this.issuer = f.issuer.text;
    this.subjectCN = f.subject.commonName;
    this.issuerCN = f.issuer.commonName;
    this.serialNumber = f.serialNumber;
    this.notBefore = f.notBefore;
    this.notAfter = f.notAfter;
    this.isCA = f.isCA;
    this.pathLen = f.pathLen;
    this.sha1Thumbprint = thumbprint('sha1', this.der);
    this.sha256Thumbprint = thumbprint('sha256', this.der);
    this.extendedKeyUsage = f.extendedKeyUsage;
    this.isSelfIssued = f.subject.key === f.issuer.key;
    const { subject, issuer } = f;
    const keep = this.isCA;
    const raw = this.der;
    if (!keep) node = undefined;
    let publicKey: KeyObject | undefined;
    INTERNALS.set(this, {
      get node() {
        if (node) return node;
        const made = opensslParse(raw);
        if (keep) node = made;
        return made;
      },
      get publicKey() {
        if (publicKey) return publicKey;
        const key = this.node.publicKey;
        if (keep) publicKey = key;
        return key;
      },
      get subjectName() {
        return subject.name();
      },
      get issuerName() {
        return issuer.name();
      },
      subjectKey: subject.key,
      issuerKey: issuer.key,
      keyUsage: f.keyUsage,
      subjectKeyIdentifier: f.subjectKeyIdentifier,
    });
  }

  /**
   * Whether this certificate's signature verifies with the issuer's public key. Checks only the
   * signature — not names, dates or CA flags (use {@link validateChain} for that).
   *
   * @example
   * ```ts
   * device.isSignedBy(root);              // true
   * device.isSignedBy(otherKey.publicKey); // false
   * ```
   */
  isSignedBy(issuer: Certificate | KeyObject): boolean {
    const key = issuer instanceof Certificate ? internals(issuer).publicKey : issuer;
    // ECDSA and RSA PKCS #1 with SHA-2 straight over the DER (no second OpenSSL parse of a leaf);
    // other algorithms through OpenSSL's X509_verify.
    const parts = signedParts(this.der);
    try {
      return parts ? verify(parts.hash, parts.tbs, key, parts.signature) : internals(this).node.verify(key);
    } catch {
      return false;
    }
  }

  /**
   * Whether the private key belongs to this certificate (same public key).
   *
   * @example
   * ```ts
   * if (!cert.matchesKey(readPrivateKey(keyPem))) throw new Error('wrong key file');
   * ```
   */
  matchesKey(key: PrivateKey): boolean {
    const mine = internals(this).publicKey.export({ type: 'spki', format: 'der' });
    const theirs = key.publicKey.export({ type: 'spki', format: 'der' });
    return mine.equals(theirs);
  }

  /**
   * Whether `time` lies within notBefore…notAfter, both inclusive (RFC 5280 §4.1.2.5).
   *
   * @example
   * ```ts
   * cert.isValidAt(new Date('2030-01-01T00:00:00Z'));
   * ```
   */
  isValidAt(time: Date): boolean {
    const t = time.getTime();
    return this.notBefore.getTime() <= t && t <= this.notAfter.getTime();
  }
}

/** The name to show in messages: the CN, else the whole subject. */
export function displayName(certificate: Certificate): string {
  return certificate.subjectCN ?? certificate.subject;
}
