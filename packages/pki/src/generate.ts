import { isIP } from 'node:net';
import { Certificate, displayName, internals } from './certificate.js';
import { PkiError } from './errors.js';
import { buildExtensions, type Profile } from './extensions.js';
import { PrivateKey, signatureAlgorithmFor, toSigningCryptoKey, type KeySpec } from './keys.js';
import { isValidNonce } from './proof-of-possession.js';
import { randomSerialNumber } from './serial-number.js';
import { x509 } from './webcrypto.js';

/**
 * A CA that can sign: its certificate and the matching private key.
 *
 * @example
 * ```ts
 * const issuer: Issuer = { certificate: readCertificate(caPem), privateKey: readPrivateKey(caKeyPem) };
 * ```
 */
export interface Issuer {
  certificate: Certificate;
  privateKey: PrivateKey;
}

/**
 * A newly issued certificate, its private key and its chain.
 *
 * @example
 * ```ts
 * const { certificate, privateKey, chain } = await createDeviceCertificate({ commonName: 'dev1', issuer: root });
 * writeFileSync('dev1_fullchain.pem', chain.map((c) => c.pem).join(''));
 * ```
 */
export interface Issued {
  certificate: Certificate;
  privateKey: PrivateKey;
  /** `[certificate, ...parents up to the root]` — what a `_fullchain.pem` file holds. */
  chain: Certificate[];
}

/**
 * Options every generator takes.
 *
 * @example
 * ```ts
 * const options: CommonOptions = { keySpec: { type: 'rsa', bits: 2048 }, days: 30 };
 * ```
 */
export interface CommonOptions {
  /** Use this key instead of generating one. */
  key?: PrivateKey;
  /** What key to generate when `key` is absent; default ECDSA P-256. */
  keySpec?: KeySpec;
  /** Validity in days, counted from `notBefore` when given, else from now. */
  days?: number;
  /** Start of validity; default now − 5 minutes, so clocks a little behind ours still accept it. */
  notBefore?: Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const BACKDATE_MS = 5 * 60 * 1000;
/** RFC 5280 Appendix A: ub-common-name INTEGER ::= 64. */
const MAX_CN_LENGTH = 64;

function checkCommonName(commonName: string): void {
  if (typeof commonName !== 'string' || commonName.length === 0 || commonName.length > MAX_CN_LENGTH) {
    throw new RangeError(`The common name must be 1 to ${MAX_CN_LENGTH} characters long.`);
  }
}

/**
 * A self-signed certificate that is not a CA: subject equals issuer and its own key verifies its
 * signature. create_test_cert.js signs `device <name> <parent>` with any parent, and Azure's
 * individual-enrollment how-to issues its secondary certificate from the self-signed primary.
 */
function isSelfSignedLeaf(certificate: Certificate): boolean {
  return !certificate.isCA && certificate.isSelfIssued && certificate.isSignedBy(certificate);
}

/**
 * Issuing refuses an issuer whose key does not match, that is not a CA or that has expired.
 * `selfSignedLeafIssues` lets a self-signed non-CA certificate issue (device certificates only);
 * a non-CA issued by someone else is refused all the same.
 */
function checkIssuer(issuer: Issuer, selfSignedLeafIssues = false): void {
  const { certificate, privateKey } = issuer;
  const name = displayName(certificate);
  if (!certificate.matchesKey(privateKey)) {
    throw new PkiError(
      'ERR_PKI_KEY_MISMATCH',
      `The private key does not belong to the certificate "${name}".`,
      { certificate: name, sha256Thumbprint: certificate.sha256Thumbprint },
    );
  }
  if (!certificate.isCA && !(selfSignedLeafIssues && isSelfSignedLeaf(certificate))) {
    throw new PkiError(
      'ERR_PKI_NOT_A_CA',
      `The certificate "${name}" is not a CA certificate (basicConstraints CA:TRUE is missing), so it cannot issue certificates.`,
      { certificate: name, sha256Thumbprint: certificate.sha256Thumbprint },
    );
  }
  const now = new Date();
  if (certificate.notAfter.getTime() < now.getTime()) {
    throw new PkiError(
      'ERR_PKI_EXPIRED',
      `The ${certificate.isCA ? 'CA ' : ''}certificate "${name}" expired on ${certificate.notAfter.toISOString()}.`,
      { certificate: name, notAfter: certificate.notAfter.toISOString(), time: now.toISOString() },
    );
  }
}

interface IssueInput {
  profile: Profile;
  subject: x509.Name;
  options: CommonOptions;
  defaultDays: number;
  issuer?: Issuer;
  issuerChain?: Certificate[];
  /** The issuer may be a self-signed non-CA certificate (see {@link checkIssuer}). */
  selfSignedLeafIssues?: boolean;
  pathLen?: number;
  dnsNames?: string[];
  ipAddresses?: string[];
}

function validity(options: CommonOptions, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const days = options.days ?? defaultDays;
  if (!Number.isFinite(days) || days <= 0) throw new RangeError('days must be a positive number.');
  const start = options.notBefore ?? new Date();
  const notBefore = options.notBefore ?? new Date(start.getTime() - BACKDATE_MS);
  return { notBefore, notAfter: new Date(start.getTime() + days * DAY_MS) };
}

function spki(key: PrivateKey): Uint8Array {
  return new Uint8Array(key.publicKey.export({ type: 'spki', format: 'der' }));
}

/** The issuer's chain, starting with the issuer's own certificate. */
function parentChain(issuer: Issuer, issuerChain: Certificate[] | undefined): Certificate[] {
  const chain = issuerChain ?? [];
  return chain[0]?.sha256Thumbprint === issuer.certificate.sha256Thumbprint
    ? chain
    : [issuer.certificate, ...chain];
}

async function issue(input: IssueInput): Promise<Issued> {
  const { options, issuer } = input;
  if (issuer) checkIssuer(issuer, input.selfSignedLeafIssues === true);
  const privateKey = options.key ?? (await PrivateKey.generate(options.keySpec));
  const signer = issuer?.privateKey ?? privateKey;
  const subjectPublicKey = spki(privateKey);
  const { notBefore, notAfter } = validity(options, input.defaultDays);
  const extensions = await buildExtensions({
    profile: input.profile,
    subjectPublicKey,
    ...(issuer ? { issuer: issuer.certificate, issuerPublicKey: spki(issuer.privateKey) } : {}),
    ...(input.pathLen !== undefined ? { pathLen: input.pathLen } : {}),
    rsa: privateKey.keyObject.asymmetricKeyType === 'rsa',
    ...(input.dnsNames ? { dnsNames: input.dnsNames } : {}),
    ...(input.ipAddresses ? { ipAddresses: input.ipAddresses } : {}),
  });
  const generated = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: input.subject,
    // RFC 5280 §4.1.2.4: the issuer field MUST equal the issuer's subject; reuse its encoding
    // byte for byte so name matching never depends on string types.
    issuer: issuer ? internals(issuer.certificate).subjectName : input.subject,
    notBefore,
    notAfter,
    publicKey: subjectPublicKey,
    signingKey: await toSigningCryptoKey(signer.keyObject),
    signingAlgorithm: signatureAlgorithmFor(signer.keyObject),
    extensions,
  });
  const certificate = new Certificate(new Uint8Array(generated.rawData));
  const chain = issuer ? [certificate, ...parentChain(issuer, input.issuerChain)] : [certificate];
  return { certificate, privateKey, chain };
}

function cn(commonName: string): x509.Name {
  return new x509.Name([{ CN: [commonName] }]);
}

/**
 * Creates a self-signed root CA: basicConstraints CA critical, keyUsage keyCertSign + cRLSign
 * critical, subject key identifier; valid 10 years by default.
 *
 * @example
 * ```ts
 * const root = await createRootCa({ commonName: 'mytestrootcert' });
 * writeFileSync('mytestrootcert_cert.pem', root.certificate.pem);
 * writeFileSync('mytestrootcert_key.pem', root.privateKey.toPem(), { mode: 0o600 });
 * ```
 */
export async function createRootCa(o: CommonOptions & { commonName: string }): Promise<Issued> {
  checkCommonName(o.commonName);
  return issue({ profile: 'ca', subject: cn(o.commonName), options: o, defaultDays: 3650 });
}

/**
 * Creates an intermediate CA signed by `issuer`, with an optional pathLenConstraint; valid 10
 * years by default.
 *
 * @throws PkiError `ERR_PKI_KEY_MISMATCH`, `ERR_PKI_NOT_A_CA`, `ERR_PKI_EXPIRED` for a bad issuer.
 *
 * @example
 * ```ts
 * const root = await createRootCa({ commonName: 'root' });
 * const intermediate = await createIntermediateCa({ commonName: 'intermediate', issuer: root, pathLen: 0 });
 * intermediate.chain.length; // 2
 * ```
 */
export async function createIntermediateCa(
  o: CommonOptions & { commonName: string; issuer: Issuer; issuerChain?: Certificate[]; pathLen?: number },
): Promise<Issued> {
  checkCommonName(o.commonName);
  if (o.pathLen !== undefined && (!Number.isInteger(o.pathLen) || o.pathLen < 0)) {
    throw new RangeError('pathLen must be a non-negative integer.');
  }
  return issue({
    profile: 'ca',
    subject: cn(o.commonName),
    options: o,
    defaultDays: 3650,
    issuer: o.issuer,
    ...(o.issuerChain ? { issuerChain: o.issuerChain } : {}),
    ...(o.pathLen !== undefined ? { pathLen: o.pathLen } : {}),
  });
}

/**
 * Creates a device (TLS client) certificate whose CN is the device/registration ID: EKU
 * clientAuth, keyUsage digitalSignature; signed by `issuer`, or self-signed when there is none.
 * Valid 1 year by default. With `allowSelfSignedIssuer`, the issuer may also be a self-signed
 * device certificate, as create_test_cert.js allows (Azure's how-to issues its individual
 * enrollment's secondary certificate from the self-signed primary); a non-CA issuer that is not
 * self-signed is refused either way.
 *
 * @throws PkiError `ERR_PKI_KEY_MISMATCH`, `ERR_PKI_NOT_A_CA`, `ERR_PKI_EXPIRED` for a bad issuer.
 *
 * @example
 * ```ts
 * const device = await createDeviceCertificate({ commonName: 'mytestdevice', issuer: intermediate, issuerChain: intermediate.chain });
 * const primary = await createDeviceCertificate({ commonName: 'mytestprimarycert' });
 * const secondary = await createDeviceCertificate({
 *   commonName: 'mytestsecondarycert', issuer: primary, allowSelfSignedIssuer: true,
 * });
 * ```
 */
export async function createDeviceCertificate(
  o: CommonOptions & {
    commonName: string;
    issuer?: Issuer;
    issuerChain?: Certificate[];
    allowSelfSignedIssuer?: boolean;
  },
): Promise<Issued> {
  checkCommonName(o.commonName);
  return issue({
    profile: 'device',
    subject: cn(o.commonName),
    options: o,
    defaultDays: 365,
    ...(o.issuer ? { issuer: o.issuer } : {}),
    ...(o.issuerChain ? { issuerChain: o.issuerChain } : {}),
    ...(o.allowSelfSignedIssuer ? { selfSignedLeafIssues: true } : {}),
  });
}

/**
 * Creates the proof-of-possession certificate for a CA upload: CN = the verification code,
 * issuer = the CA's subject, signed with the CA's key, EKU clientAuth; valid 1 day by default.
 *
 * @throws PkiError `ERR_PKI_INVALID_NONCE` for a code that is not 1–64 of [A-Za-z0-9];
 * `ERR_PKI_KEY_MISMATCH`, `ERR_PKI_NOT_A_CA`, `ERR_PKI_EXPIRED` for a bad CA.
 *
 * @example
 * ```ts
 * const { certificate } = await createVerificationCertificate({ nonce: 'AAEC1DA657F1B63F', ca: root });
 * writeFileSync('verification_cert.pem', certificate.pem);
 * ```
 */
export async function createVerificationCertificate(
  o: CommonOptions & { nonce: string; ca: Issuer },
): Promise<Issued> {
  if (!isValidNonce(o.nonce)) {
    throw new PkiError('ERR_PKI_INVALID_NONCE', 'The verification code must be 1 to 64 letters or digits.', {
      length: typeof o.nonce === 'string' ? o.nonce.length : undefined,
    });
  }
  return issue({ profile: 'device', subject: cn(o.nonce), options: o, defaultDays: 1, issuer: o.ca });
}

/**
 * Creates a TLS server certificate: EKU serverAuth, DNS and IP subject alternative names, CN =
 * `commonName`; valid 1 year by default. With neither `dnsNames` nor `ipAddresses`, the common
 * name becomes the only SAN (as an IP address when it is one).
 *
 * @throws PkiError `ERR_PKI_KEY_MISMATCH`, `ERR_PKI_NOT_A_CA`, `ERR_PKI_EXPIRED` for a bad issuer.
 *
 * @example
 * ```ts
 * const server = await createServerCertificate({
 *   commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'], issuer: serverCa,
 * });
 * tls.createServer({ key: server.privateKey.toPem(), cert: server.chain.map((c) => c.pem).join('') });
 * ```
 */
export async function createServerCertificate(
  o: CommonOptions & { commonName: string; dnsNames?: string[]; ipAddresses?: string[]; issuer: Issuer },
): Promise<Issued> {
  checkCommonName(o.commonName);
  for (const ip of o.ipAddresses ?? []) {
    if (isIP(ip) === 0) throw new RangeError(`"${ip}" is not an IP address.`);
  }
  const none = (o.dnsNames ?? []).length === 0 && (o.ipAddresses ?? []).length === 0;
  const commonNameIsIp = isIP(o.commonName) !== 0;
  return issue({
    profile: 'server',
    subject: cn(o.commonName),
    options: o,
    defaultDays: 365,
    issuer: o.issuer,
    dnsNames: none && !commonNameIsIp ? [o.commonName] : (o.dnsNames ?? []),
    ipAddresses: none && commonNameIsIp ? [o.commonName] : (o.ipAddresses ?? []),
  });
}
