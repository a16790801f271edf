/**
 * The facts a {@link Certificate} exposes, read straight from the DER of an ordinary
 * certificate (RFC 5280 §4.1) without building a full ASN.1 object tree: a device
 * certificate costs about a tenth of what the general parser needs. Anything this reader does
 * not recognise (an extension other than the five below, unusual time encodings, unique IDs,
 * non-minimal DER) makes it return undefined, and the caller uses the general parser
 * instead, so the two never disagree on a certificate this one accepts.
 */
import { children, contentEquals, expectTag, hex, oidString, readTlv, type Tlv } from './der.js';
import { canonicalName } from './name.js';
import { readPlainName } from './plain-name.js';
import { x509 } from './webcrypto.js';

export interface CertificateFields {
  subject: NameFacts;
  issuer: NameFacts;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
  pathLen: number | undefined;
  extendedKeyUsage: string[] | undefined;
  keyUsage: number | undefined;
  subjectKeyIdentifier: string | undefined;
}

/** A distinguished name in the forms Gatehouse uses; `name()` builds the object on demand. */
export interface NameFacts {
  text: string;
  commonName: string | undefined;
  /** {@link canonicalName}, the key path building compares. */
  key: string;
  name(): x509.Name;
}

/** The value of the last (most specific) CN attribute; DER lists RDNs from the root down. */
export function lastCommonName(name: x509.Name): string | undefined {
  const values = name.getField('CN');
  return values.length > 0 ? values[values.length - 1] : undefined;
}

export function nameFacts(name: x509.Name): NameFacts {
  return {
    text: name.toString(),
    commonName: lastCommonName(name),
    key: canonicalName(name),
    name: () => name,
  };
}

/**
 * Parsed issuer names by DER: every device of a CA shares its issuer name, so one parse serves
 * them all. Subjects are not kept (each device has its own). Bounded; oldest first out.
 */
const NAMES = new Map<string, NameFacts>();
const NAMES_LIMIT = 1000;

function readName(der: Uint8Array, t: Tlv, keep: boolean): NameFacts {
  const bytes = der.subarray(t.offset, t.end);
  const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const hit = NAMES.get(key);
  if (hit) return hit;
  const copy = Uint8Array.from(bytes);
  // A plain name is read without asn1js; its Name object is built only when asked for (and then
  // kept for an issuer).
  const plain = readPlainName(der, t);
  let built: x509.Name | undefined = plain ? undefined : new x509.Name(copy);
  const facts = built ? nameFacts(built) : plain!;
  const name = keep ? () => (built ??= new x509.Name(copy)) : () => new x509.Name(copy);
  // Keep only the strings for a subject.
  if (!keep) built = undefined;
  const result: NameFacts = { text: facts.text, commonName: facts.commonName, key: facts.key, name };
  if (keep) {
    if (NAMES.size >= NAMES_LIMIT) NAMES.delete(NAMES.keys().next().value as string);
    NAMES.set(key, result);
  }
  return result;
}

const DIGITS = /^\d+Z$/;

/** UTCTime `YYMMDDHHMMSSZ` (RFC 5280 §4.1.2.5.1) or GeneralizedTime `YYYYMMDDHHMMSSZ` (§4.1.2.5.2). */
function readTime(der: Uint8Array, t: Tlv): Date {
  const s = Buffer.from(der.buffer, der.byteOffset + t.start, t.end - t.start).toString('latin1');
  let year: number;
  let rest: string;
  if (t.tag === 0x17 && s.length === 13 && DIGITS.test(s)) {
    const yy = Number(s.slice(0, 2));
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    rest = s.slice(2);
  } else if (t.tag === 0x18 && s.length === 15 && DIGITS.test(s)) {
    year = Number(s.slice(0, 4));
    rest = s.slice(4);
  } else {
    throw new Error('time encoding');
  }
  const [mo, d, h, mi, se] = [0, 2, 4, 6, 8].map((i) => Number(rest.slice(i, i + 2))) as [
    number,
    number,
    number,
    number,
    number,
  ];
  if (year < 1950 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
    throw new Error('time value');
  const date = new Date(Date.UTC(year, mo - 1, d, h, mi, se));
  if (date.getUTCDate() !== d) throw new Error('time value');
  return date;
}

const OID_BASIC_CONSTRAINTS = [0x55, 0x1d, 0x13];
const OID_KEY_USAGE = [0x55, 0x1d, 0x0f];
const OID_EXT_KEY_USAGE = [0x55, 0x1d, 0x25];
const OID_SUBJECT_KEY_ID = [0x55, 0x1d, 0x0e];
const OID_AUTHORITY_KEY_ID = [0x55, 0x1d, 0x23];

interface Extensions {
  isCA: boolean;
  pathLen: number | undefined;
  extendedKeyUsage: string[] | undefined;
  keyUsage: number | undefined;
  subjectKeyIdentifier: string | undefined;
}

function readExtensions(der: Uint8Array, list: Tlv | undefined): Extensions {
  const out: Extensions = {
    isCA: false,
    pathLen: undefined,
    extendedKeyUsage: undefined,
    keyUsage: undefined,
    subjectKeyIdentifier: undefined,
  };
  if (!list) return out;
  const seen = new Set<string>();
  for (const ext of children(der, expectTag(children(der, list)[0], 0x30))) {
    const parts = children(der, expectTag(ext, 0x30));
    const oid = expectTag(parts[0], 0x06);
    let i = 1;
    if (parts[i]?.tag === 0x01) i++; // critical BOOLEAN
    const value = expectTag(parts[i], 0x04);
    if (parts.length !== i + 1) throw new Error('extension shape');
    // RFC 5280 §4.2: a certificate must not include more than one instance of an extension.
    const id = hex(der, oid);
    if (seen.has(id)) throw new Error('duplicate extension');
    seen.add(id);
    const inner = readTlv(der, value.start, value.end);
    if (inner.end !== value.end) throw new Error('trailing data');
    if (contentEquals(der, oid, OID_BASIC_CONSTRAINTS)) {
      // §4.2.1.9: SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }.
      const bc = children(der, expectTag(inner, 0x30));
      let j = 0;
      let ca = false;
      if (bc[j]?.tag === 0x01) {
        const b = bc[j++]!;
        if (b.end - b.start !== 1) throw new Error('boolean');
        ca = der[b.start] !== 0;
      }
      let pathLen: number | undefined;
      if (bc[j]?.tag === 0x02) {
        const n = bc[j++]!;
        if (n.end - n.start < 1 || n.end - n.start > 2 || (der[n.start] as number) & 0x80)
          throw new Error('pathLen');
        pathLen = n.end - n.start === 1 ? der[n.start]! : der[n.start]! * 256 + der[n.start + 1]!;
      }
      if (j !== bc.length) throw new Error('basicConstraints shape');
      out.isCA = ca;
      out.pathLen = ca ? pathLen : undefined;
    } else if (contentEquals(der, oid, OID_KEY_USAGE)) {
      // §4.2.1.3: BIT STRING; bit n (from the first octet's high bit) is flag 2^n.
      expectTag(inner, 0x03);
      const unused = der[inner.start];
      const octets = inner.end - inner.start - 1;
      if (unused === undefined || unused > 7 || octets < 1 || octets > 2) throw new Error('keyUsage');
      let flags = 0;
      for (let bit = 0; bit < octets * 8 - unused; bit++) {
        if ((der[inner.start + 1 + (bit >> 3)] as number) & (0x80 >> (bit & 7))) flags |= 1 << bit;
      }
      out.keyUsage = flags;
    } else if (contentEquals(der, oid, OID_EXT_KEY_USAGE)) {
      // §4.2.1.12: SEQUENCE SIZE (1..MAX) OF KeyPurposeId.
      out.extendedKeyUsage = children(der, expectTag(inner, 0x30)).map((p) =>
        oidString(der, expectTag(p, 0x06)),
      );
    } else if (contentEquals(der, oid, OID_SUBJECT_KEY_ID)) {
      out.subjectKeyIdentifier = hex(der, expectTag(inner, 0x04));
    } else if (contentEquals(der, oid, OID_AUTHORITY_KEY_ID)) {
      // §4.2.1.1: SEQUENCE { [0] keyIdentifier, [1] authorityCertIssuer, [2] serial }, in order.
      let last = -1;
      for (const c of children(der, expectTag(inner, 0x30))) {
        const n = c.tag === 0x80 ? 0 : c.tag === 0xa1 ? 1 : c.tag === 0x82 ? 2 : -1;
        if (n <= last) throw new Error('authorityKeyIdentifier shape');
        last = n;
      }
    } else {
      throw new Error('extension not handled here');
    }
  }
  return out;
}

/**
 * Whether subjectPublicKeyInfo has the shape the general parser insists on: SEQUENCE {
 * SEQUENCE { OID, parameters absent, NULL, OID or SEQUENCE }, BIT STRING }. OpenSSL parses the key
 * lazily, so a certificate with broken key parameters still reaches this reader (found by the
 * PKI fuzzer: an EC curve OID whose tag was mutated); declining leaves the refusal to the
 * general parser, as before.
 */
function plainPublicKeyInfo(der: Uint8Array, spki: Tlv): boolean {
  const [algorithm, key, ...extra] = children(der, spki);
  if (extra.length > 0 || algorithm?.tag !== 0x30 || key?.tag !== 0x03) return false;
  const [oid, parameters, ...more] = children(der, algorithm);
  if (more.length > 0 || oid?.tag !== 0x06) return false;
  return parameters === undefined || [0x05, 0x06, 0x30].includes(parameters.tag);
}

/**
 * The fields of `der`, or undefined when this reader does not handle the certificate (then
 * use the general parser). `der` is one complete certificate that node:crypto accepted.
 */
export function readCertificateFields(der: Uint8Array): CertificateFields | undefined {
  try {
    const cert = readTlv(der, 0, der.length);
    if (cert.tag !== 0x30 || cert.end !== der.length) return undefined;
    const [tbsTlv, sigAlg, signature, ...extra] = children(der, cert);
    if (extra.length > 0) return undefined;
    expectTag(sigAlg, 0x30);
    expectTag(signature, 0x03);
    const tbs = children(der, expectTag(tbsTlv, 0x30));
    let i = 0;
    if (tbs[i]?.tag === 0xa0) {
      // Version [0] EXPLICIT INTEGER: v3 (2) is what every certificate here carries.
      const v = children(der, tbs[i++]!);
      if (v.length !== 1 || v[0]!.tag !== 0x02 || v[0]!.end - v[0]!.start !== 1 || der[v[0]!.start] !== 2)
        return undefined;
    } else {
      return undefined;
    }
    const serial = expectTag(tbs[i++], 0x02);
    expectTag(tbs[i++], 0x30); // signature AlgorithmIdentifier
    const issuerTlv = expectTag(tbs[i++], 0x30);
    const validity = children(der, expectTag(tbs[i++], 0x30));
    const subjectTlv = expectTag(tbs[i++], 0x30);
    if (!plainPublicKeyInfo(der, expectTag(tbs[i++], 0x30))) return undefined;
    const extensionsTlv = tbs[i]?.tag === 0xa3 ? tbs[i++] : undefined;
    if (i !== tbs.length || validity.length !== 2) return undefined;
    if (serial.end === serial.start) return undefined;
    // As @peculiar/x509 shows it: the INTEGER octets, less a sign octet in front of a high bit.
    let serialStart = serial.start;
    if (serial.end - serial.start > 1 && der[serial.start] === 0 && der[serial.start + 1]! > 0x7f)
      serialStart++;
    const extensions = readExtensions(der, extensionsTlv);
    return {
      issuer: readName(der, issuerTlv, true),
      subject: readName(der, subjectTlv, false),
      serialNumber: hex(der, { ...serial, start: serialStart }).toUpperCase(),
      notBefore: readTime(der, validity[0]!),
      notAfter: readTime(der, validity[1]!),
      ...extensions,
    };
  } catch {
    return undefined;
  }
}

/** What a certificate's signature covers and is, for a verification without OpenSSL's parse. */
export interface SignedParts {
  tbs: Buffer;
  /** The hash of the signature algorithm (RFC 5758 §3.2 ECDSA, RFC 4055 §5 RSA PKCS #1 v1.5). */
  hash: 'sha256' | 'sha384' | 'sha512';
  signature: Buffer;
}

/** AlgorithmIdentifier DER → hash; anything else (PSS, EdDSA, SHA-1 …) is left to OpenSSL. */
const SIGNATURE_ALGORITHMS: Record<string, SignedParts['hash']> = {
  '300a06082a8648ce3d040302': 'sha256',
  '300a06082a8648ce3d040303': 'sha384',
  '300a06082a8648ce3d040304': 'sha512',
  '300d06092a864886f70d01010b0500': 'sha256',
  '300d06092a864886f70d01010c0500': 'sha384',
  '300d06092a864886f70d01010d0500': 'sha512',
};

/**
 * The signed part, hash and signature of `der`, when the algorithm is one of the above and
 * the outer algorithm equals the one inside the TBSCertificate (RFC 5280 §4.1.1.2, which
 * OpenSSL's X509_verify also requires); otherwise undefined.
 */
export function signedParts(der: Buffer): SignedParts | undefined {
  try {
    const cert = readTlv(der, 0, der.length);
    const [tbs, sigAlg, signature] = children(der, cert);
    expectTag(tbs, 0x30);
    expectTag(signature, 0x03);
    const outer = der.subarray(expectTag(sigAlg, 0x30).offset, sigAlg!.end).toString('hex');
    const hash = SIGNATURE_ALGORITHMS[outer];
    if (!hash) return undefined;
    const fields = children(der, tbs!);
    const inner = fields[fields[0]?.tag === 0xa0 ? 2 : 1];
    if (!inner || der.subarray(inner.offset, inner.end).toString('hex') !== outer) return undefined;
    if (der[signature!.start] !== 0) return undefined; // unused bits
    return {
      tbs: der.subarray(tbs!.offset, tbs!.end),
      hash,
      signature: der.subarray(signature!.start + 1, signature!.end),
    };
  } catch {
    return undefined;
  }
}
