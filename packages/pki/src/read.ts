import { Certificate } from './certificate.js';
import { PkiError } from './errors.js';
import { decodeBase64, findPemBlocks } from './pem.js';

/** RFC 7468 §5.1 label, plus the legacy `X509 CERTIFICATE` it says parsers should accept. */
const CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE']);

/**
 * Parsed certificates by DER. A Certificate is immutable, so one parse serves
 * every later read of the same bytes: a device's leaf on its DPS and then its
 * hub connection, a group's CA on every attestation. Least recently used out
 * first; small, because every entry is memory held per device, while the CAs
 * that every read needs stay hot.
 */
const PARSED = new Map<string, Certificate>();
const PARSED_LIMIT = 2_000;

function parse(der: Buffer, decodedByOpenssl = false): Certificate {
  const key = der.toString('base64');
  const hit = PARSED.get(key);
  if (hit) {
    PARSED.delete(key);
    PARSED.set(key, hit);
    return hit;
  }
  const certificate = new Certificate(der, { decodedByOpenssl });
  // A TLS peer's own certificate serves its one connection and is cheap to read again (no
  // OpenSSL decode): keeping it would hold memory per connected device. Its CAs are kept.
  if (decodedByOpenssl && !certificate.isCA) return certificate;
  if (PARSED.size >= PARSED_LIMIT) PARSED.delete(PARSED.keys().next().value as string);
  PARSED.set(key, certificate);
  return certificate;
}

/** Length of the DER TLV that starts at `offset` (X.690 §8.1.3), or undefined when malformed. */
function derLength(der: Buffer, offset: number): number | undefined {
  const first = der[offset + 1];
  if (der[offset] !== 0x30 || first === undefined) return undefined;
  if (first < 0x80) return 2 + first;
  const octets = first & 0x7f;
  if (octets === 0 || octets > 4 || offset + 2 + octets > der.length) return undefined;
  let length = 0;
  for (let i = 0; i < octets; i++) length = length * 256 + (der[offset + 2 + i] ?? 0);
  return 2 + octets + length;
}

/** One or more concatenated DER certificates. */
function fromDer(der: Buffer): Certificate[] {
  const certificates: Certificate[] = [];
  let offset = 0;
  while (offset < der.length) {
    const length = derLength(der, offset);
    if (length === undefined || offset + length > der.length) {
      throw new PkiError('ERR_PKI_NOT_A_CERTIFICATE', 'The DER data is truncated or is not a certificate.', {
        offset,
      });
    }
    certificates.push(parse(der.subarray(offset, offset + length)));
    offset += length;
  }
  return certificates;
}

function fromText(text: string, nested: boolean): Certificate[] {
  const blocks = findPemBlocks(text);
  const certificateBlocks = blocks.filter((b) => CERTIFICATE_LABELS.has(b.label));
  if (certificateBlocks.length > 0) {
    return certificateBlocks.map((block, index) => {
      try {
        return parse(block.der);
      } catch (cause) {
        throw new PkiError(
          'ERR_PKI_NOT_A_CERTIFICATE',
          `PEM block ${index + 1} is labelled CERTIFICATE but does not hold a valid certificate.`,
          { index },
          { cause },
        );
      }
    });
  }
  if (blocks.length > 0 || nested) return [];
  // No PEM armour: base64 of a PEM file (what the Azure CLI uploads) or of DER.
  const decoded = decodeBase64(text.trim().replace(/^"|"$/g, ''));
  return decoded ? fromBuffer(decoded, true) : [];
}

function fromBuffer(data: Buffer, nested: boolean): Certificate[] {
  const latin1 = data.toString('latin1');
  if (latin1.includes('-----BEGIN')) return fromText(latin1, nested);
  if (data[0] !== 0x30) return nested ? [] : fromText(latin1, nested);
  try {
    return fromDer(data);
  } catch (err) {
    // 0x30 is also the character "0": the buffer may be base64 text after all.
    const fromBase64 = nested ? [] : fromText(latin1, nested);
    if (fromBase64.length > 0) return fromBase64;
    throw err;
  }
}

/**
 * Reads every certificate in the input, in order: PEM blocks (bundles included; text outside the
 * blocks, such as create_test_cert.js's trailing `null` line, is ignored), DER (one or several
 * concatenated), or base64 of either (the Azure CLI uploads base64 of a PEM file).
 *
 * @throws PkiError `ERR_PKI_NOT_A_CERTIFICATE` when the input holds no certificate, or when a
 * CERTIFICATE block or DER structure is corrupt.
 *
 * @example
 * ```ts
 * const [leaf, ...presented] = readCertificates(readFileSync('mytestdevice_fullchain.pem'));
 * ```
 */
export function readCertificates(input: string | Buffer): Certificate[] {
  const certificates = typeof input === 'string' ? fromText(input, false) : fromBuffer(input, false);
  if (certificates.length === 0) {
    throw new PkiError(
      'ERR_PKI_NOT_A_CERTIFICATE',
      'The input holds no certificate in PEM, DER or base64 form.',
    );
  }
  return certificates;
}

/**
 * Reads the first certificate of the input (see {@link readCertificates} for the accepted forms).
 *
 * @throws PkiError `ERR_PKI_NOT_A_CERTIFICATE`
 *
 * @example
 * ```ts
 * const root = readCertificate(base64FromTheAzureCli);
 * root.subjectCN; // 'mytestrootcert'
 * ```
 */
export function readCertificate(input: string | Buffer): Certificate {
  const [first] = readCertificates(input);
  if (!first) throw new PkiError('ERR_PKI_NOT_A_CERTIFICATE', 'The input holds no certificate.');
  return first;
}

/**
 * Reads one certificate of a TLS peer's chain, as Node gives it (`getPeerCertificate(true)`'s
 * `raw`, one DER certificate). OpenSSL decoded exactly these bytes during the handshake, so they
 * are not decoded by OpenSSL a second time; the facts read are the same as
 * {@link readCertificate}'s. Only CA certificates read this way are kept in the parse cache.
 *
 * @throws PkiError `ERR_PKI_NOT_A_CERTIFICATE` when the DER is not one certificate.
 *
 * @example
 * ```ts
 * const leaf = readHandshakeCertificate(tlsSocket.getPeerCertificate(true).raw);
 * leaf.subjectCN; // 'mytestdevice'
 * ```
 */
export function readHandshakeCertificate(der: Buffer): Certificate {
  const length = derLength(der, 0);
  if (length !== der.length) {
    throw new PkiError('ERR_PKI_NOT_A_CERTIFICATE', 'The DER data is truncated or is not a certificate.', {
      offset: 0,
    });
  }
  return parse(der, true);
}
