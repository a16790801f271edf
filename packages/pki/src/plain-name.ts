/**
 * Reads a plain distinguished name (RFC 5280 §4.1.2.4) straight from its DER: one attribute per
 * RDN, a type @peculiar/x509 has a short name for, and a PrintableString, UTF8String or
 * IA5String value of printable ASCII that RFC 4514 §2.4 would not escape. That is what device
 * and CA certificates carry (`CN=mytestdevice`, `C=DE, O=Example, CN=root`). Anything else
 * (multi-valued RDNs, other types or string types, characters that need escaping, non-ASCII)
 * gives undefined and the general parser reads the name, so the text, CN and comparison key
 * are the same either way.
 */
import { children, expectTag, type Tlv } from './der.js';
import { canonicalName, type NameJson } from './name.js';

/** Attribute type OID contents → the short name @peculiar/x509 prints. */
const SHORT_NAMES = new Map<string, string>([
  ['550403', 'CN'],
  ['550407', 'L'],
  ['550408', 'ST'],
  ['55040a', 'O'],
  ['55040b', 'OU'],
  ['550406', 'C'],
  ['55042a', 'G'],
  ['55042b', 'I'],
  ['550404', 'SN'],
  ['55040c', 'T'],
  ['0992268993f22c640119', 'DC'],
  ['2a864886f70d010901', 'E'],
]);

/** PrintableString, UTF8String, IA5String (X.680 §41). */
const STRING_TAGS = new Set([0x13, 0x0c, 0x16]);

/** Printable ASCII with nothing RFC 4514 §2.4 escapes: no `,+"\<>;`, no leading space or `#`, no trailing space. */
const PLAIN_VALUE =
  /^[\x21\x24-\x2a\x2d-\x3a\x3d\x3f-\x5b\x5d-\x7e][\x20\x21\x23-\x2a\x2d-\x3a\x3d\x3f-\x5b\x5d-\x7e]*(?<! )$/;

export interface PlainName {
  text: string;
  commonName: string | undefined;
  key: string;
}

/** The name in `t` (a Name SEQUENCE), or undefined when it is not plain. */
export function readPlainName(der: Uint8Array, t: Tlv): PlainName | undefined {
  const parts: string[] = [];
  const json: NameJson = [];
  let commonName: string | undefined;
  for (const rdn of children(der, t)) {
    if (rdn.tag !== 0x31) return undefined;
    const attributes = children(der, rdn);
    if (attributes.length !== 1) return undefined;
    const pair = children(der, expectTag(attributes[0], 0x30));
    if (pair.length !== 2) return undefined;
    const oid = expectTag(pair[0], 0x06);
    const type = SHORT_NAMES.get(
      Buffer.from(der.buffer, der.byteOffset + oid.start, oid.end - oid.start).toString('hex'),
    );
    const value = pair[1]!;
    if (type === undefined || !STRING_TAGS.has(value.tag)) return undefined;
    const text = Buffer.from(der.buffer, der.byteOffset + value.start, value.end - value.start).toString(
      'latin1',
    );
    if (!PLAIN_VALUE.test(text)) return undefined;
    parts.push(`${type}=${text}`);
    json.push({ [type]: [text] });
    if (type === 'CN') commonName = text;
  }
  return { text: parts.join(', '), commonName, key: canonicalName(json) };
}
