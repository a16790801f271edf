import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  type webcrypto as wc,
} from 'node:crypto';
import { promisify } from 'node:util';
import { PkiError } from './errors.js';
import { findPemBlocks } from './pem.js';
import { webcrypto } from './webcrypto.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * What kind of key to generate: ECDSA on P-256 (the default) or P-384, or RSA of 2048, 3072 or
 * 4096 bits.
 *
 * @example
 * ```ts
 * const spec: KeySpec = { type: 'rsa', bits: 2048 }; // what create_test_cert.js makes
 * ```
 */
export type KeySpec = { type: 'ec'; curve?: 'P-256' | 'P-384' } | { type: 'rsa'; bits?: 2048 | 3072 | 4096 };

const CURVE_NAMES: Record<string, 'P-256' | 'P-384' | undefined> = {
  prime256v1: 'P-256',
  'P-256': 'P-256',
  secp384r1: 'P-384',
  'P-384': 'P-384',
};

/** The smallest RSA modulus we sign with or accept; NIST SP 800-57 retired 1024 bits. */
const MIN_RSA_BITS = 2048;

/** A human-readable key description such as `EC P-256` or `RSA 2048` (also for keys we do not support). */
export function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = details.namedCurve ?? 'unknown curve';
      return `EC ${CURVE_NAMES[curve] ?? curve}`;
    }
    case 'rsa':
      return `RSA ${details.modulusLength ?? '?'}`;
    case 'rsa-pss':
      return `RSA-PSS ${details.modulusLength ?? '?'}`;
    case 'ed25519':
      return 'Ed25519';
    case 'ed448':
      return 'Ed448';
    default:
      return String(key.asymmetricKeyType ?? key.type);
  }
}

/** Why we cannot sign with this key, or undefined when it is one we support. */
function unsupportedReason(key: KeyObject): string | undefined {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    return CURVE_NAMES[details.namedCurve ?? '']
      ? undefined
      : 'only the curves P-256 and P-384 are supported';
  }
  if (key.asymmetricKeyType === 'rsa') {
    return (details.modulusLength ?? 0) >= MIN_RSA_BITS
      ? undefined
      : `RSA keys need at least ${MIN_RSA_BITS} bits`;
  }
  return 'only EC (P-256, P-384) and RSA keys are supported';
}

/**
 * The WebCrypto algorithm that signs with this key: ECDSA with SHA-256 on P-256 and SHA-384 on
 * P-384 (RFC 5758 §3.2 pairs the hash with the curve size), RSA PKCS#1 v1.5 with SHA-256
 * (sha256WithRSAEncryption, RFC 4055 §5, as create_test_cert.js uses).
 */
export function signatureAlgorithmFor(
  key: KeyObject,
): (wc.EcKeyImportParams & { hash: string }) | wc.RsaHashedImportParams {
  if (key.asymmetricKeyType === 'ec') {
    const curve = CURVE_NAMES[key.asymmetricKeyDetails?.namedCurve ?? ''] ?? 'P-256';
    return { name: 'ECDSA', namedCurve: curve, hash: curve === 'P-384' ? 'SHA-384' : 'SHA-256' };
  }
  return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
}

/** Converts a node private key to a WebCrypto signing key (through PKCS#8 DER). */
export async function toSigningCryptoKey(key: KeyObject): Promise<wc.CryptoKey> {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, signatureAlgorithmFor(key), false, ['sign']);
}

/** Converts a node public key to a WebCrypto verification key (through SPKI DER). */
export async function toPublicCryptoKey(key: KeyObject): Promise<wc.CryptoKey> {
  const der = key.export({ type: 'spki', format: 'der' });
  return webcrypto.subtle.importKey('spki', der, signatureAlgorithmFor(key), true, ['verify']);
}

/**
 * A private key we can sign certificates with: ECDSA P-256/P-384 or RSA of at least 2048 bits.
 * Wraps a node:crypto `KeyObject`.
 *
 * @example
 * ```ts
 * const key = await PrivateKey.generate({ type: 'ec', curve: 'P-384' });
 * key.keyType; // 'EC P-384'
 * writeFileSync('device_key.pem', key.toPem(), { mode: 0o600 });
 * ```
 */
export class PrivateKey {
  /** The private key. */
  readonly keyObject: KeyObject;
  /** The matching public key. */
  readonly publicKey: KeyObject;
  /** `EC P-256`, `EC P-384`, `RSA 2048`, `RSA 3072`, `RSA 4096` … */
  readonly keyType: string;

  /**
   * Wraps a node private key.
   * @throws PkiError `ERR_PKI_MALFORMED_KEY` for a public or secret key, `ERR_PKI_UNSUPPORTED_KEY`
   * for a key type, curve or size we do not sign with.
   */
  constructor(keyObject: KeyObject) {
    if (keyObject.type !== 'private') {
      throw new PkiError('ERR_PKI_MALFORMED_KEY', `Expected a private key but got a ${keyObject.type} key.`);
    }
    const keyType = describeKey(keyObject);
    const reason = unsupportedReason(keyObject);
    if (reason !== undefined) {
      throw new PkiError('ERR_PKI_UNSUPPORTED_KEY', `The key is ${keyType}; ${reason}.`, { keyType });
    }
    this.keyObject = keyObject;
    this.publicKey = createPublicKey(keyObject);
    this.keyType = keyType;
  }

  /**
   * Generates a new key; ECDSA P-256 unless told otherwise.
   *
   * @example
   * ```ts
   * const ec = await PrivateKey.generate();
   * const rsa = await PrivateKey.generate({ type: 'rsa', bits: 3072 });
   * ```
   */
  static async generate(spec: KeySpec = { type: 'ec' }): Promise<PrivateKey> {
    if (spec.type === 'ec') {
      const namedCurve = spec.curve ?? 'P-256';
      if (namedCurve !== 'P-256' && namedCurve !== 'P-384') {
        throw new PkiError('ERR_PKI_UNSUPPORTED_KEY', `The curve ${String(namedCurve)} is not supported.`);
      }
      const { privateKey } = await generateKeyPairAsync('ec', { namedCurve });
      return new PrivateKey(privateKey);
    }
    if (spec.type === 'rsa') {
      const modulusLength = spec.bits ?? 2048;
      if (![2048, 3072, 4096].includes(modulusLength)) {
        throw new PkiError(
          'ERR_PKI_UNSUPPORTED_KEY',
          `RSA keys of ${String(modulusLength)} bits are not supported.`,
        );
      }
      const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength, publicExponent: 0x10001 });
      return new PrivateKey(privateKey);
    }
    throw new PkiError(
      'ERR_PKI_UNSUPPORTED_KEY',
      `The key type ${String((spec as { type: unknown }).type)} is not supported.`,
    );
  }

  /**
   * The key as unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, RFC 5958).
   *
   * @example
   * ```ts
   * const pem = (await PrivateKey.generate()).toPem();
   * ```
   */
  toPem(): string {
    return this.keyObject.export({ type: 'pkcs8', format: 'pem' }).toString();
  }
}

/** PEM labels of unencrypted private keys: PKCS#8 (RFC 7468 §10), PKCS#1 (RSA) and SEC1 (EC, RFC 5915). */
const KEY_LABELS: Record<string, 'pkcs8' | 'pkcs1' | 'sec1'> = {
  'PRIVATE KEY': 'pkcs8',
  'RSA PRIVATE KEY': 'pkcs1',
  'EC PRIVATE KEY': 'sec1',
};

function parseDer(der: Buffer): KeyObject | undefined {
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      return createPrivateKey({ key: der, format: 'der', type });
    } catch {
      // try the next encoding
    }
  }
  return undefined;
}

/**
 * Reads a private key: PEM in PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`, what
 * create_test_cert.js writes) or SEC1 (`EC PRIVATE KEY`), with any text around the block (such as
 * the `EC PARAMETERS` block `openssl ecparam` writes first); or DER in PKCS#8, PKCS#1 or SEC1.
 *
 * @throws PkiError `ERR_PKI_MALFORMED_KEY` when no unencrypted private key can be parsed,
 * `ERR_PKI_UNSUPPORTED_KEY` when the key is not EC P-256/P-384 or RSA ≥ 2048.
 *
 * @example
 * ```ts
 * const key = readPrivateKey(readFileSync('mytestrootcert_key.pem'));
 * key.keyType; // 'RSA 2048'
 * ```
 */
export function readPrivateKey(input: string | Buffer): PrivateKey {
  const text = typeof input === 'string' ? input : input.toString('latin1');
  const blocks = findPemBlocks(text);
  if (blocks.length === 0) {
    const der = typeof input === 'string' ? undefined : input;
    const key = der && der.length > 0 ? parseDer(der) : undefined;
    if (!key) throw new PkiError('ERR_PKI_MALFORMED_KEY', 'The input holds no PEM or DER private key.');
    return new PrivateKey(key);
  }
  if (blocks.some((b) => b.label === 'ENCRYPTED PRIVATE KEY') || /Proc-Type:\s*4,ENCRYPTED/.test(text)) {
    throw new PkiError(
      'ERR_PKI_MALFORMED_KEY',
      'The private key is encrypted; provide it without a passphrase.',
    );
  }
  const block = blocks.find((b) => KEY_LABELS[b.label] !== undefined);
  const type = block ? KEY_LABELS[block.label] : undefined;
  if (!block || !type) {
    const labels = blocks.map((b) => b.label).join(', ');
    throw new PkiError(
      'ERR_PKI_MALFORMED_KEY',
      `The input holds no private key PEM block (found: ${labels}).`,
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: block.der, format: 'der', type });
  } catch (cause) {
    throw new PkiError('ERR_PKI_MALFORMED_KEY', `The ${block.label} block cannot be parsed.`, undefined, {
      cause,
    });
  }
  return new PrivateKey(key);
}
