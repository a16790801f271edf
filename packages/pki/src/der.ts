/**
 * A minimal DER reader (X.690 §8.1, §10): tag, definite length, content bounds. Only what
 * the certificate fast path needs; it throws on anything it does not recognise and its
 * callers then fall back to the full ASN.1 parser.
 */

/** One TLV: `tag` is the identifier octet at `offset`, `[start, end)` the contents. */
export interface Tlv {
  tag: number;
  offset: number;
  start: number;
  end: number;
}

export class DerError extends Error {}

/** The TLV starting at `offset`, which must end by `limit`. Low tag numbers only (X.690 §8.1.2.2). */
export function readTlv(der: Uint8Array, offset: number, limit: number): Tlv {
  const tag = der[offset];
  const first = der[offset + 1];
  if (tag === undefined || first === undefined || offset + 2 > limit) throw new DerError('truncated');
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag number');
  let start = offset + 2;
  let length = first;
  if (first >= 0x80) {
    const octets = first & 0x7f;
    // X.690 §10.1: definite form, minimal octets; indefinite (0x80) is not DER.
    if (octets === 0 || octets > 4 || start + octets > limit) throw new DerError('bad length');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + (der[start + i] as number);
    start += octets;
    if (length < 0x80 || (octets > 1 && der[offset + 2] === 0)) throw new DerError('non-minimal length');
  }
  const end = start + length;
  if (end > limit) throw new DerError('truncated');
  return { tag, offset, start, end };
}

/** The TLVs inside a constructed value, in order. */
export function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let offset = parent.start;
  while (offset < parent.end) {
    const t = readTlv(der, offset, parent.end);
    out.push(t);
    offset = t.end;
  }
  return out;
}

export function expectTag(t: Tlv | undefined, tag: number): Tlv {
  if (!t || t.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}`);
  return t;
}

/** Dotted form of an OBJECT IDENTIFIER's contents (X.690 §8.19). */
export function oidString(der: Uint8Array, t: Tlv): string {
  if (t.end === t.start) throw new DerError('empty OID');
  const arcs: number[] = [];
  let value = 0;
  for (let i = t.start; i < t.end; i++) {
    const b = der[i] as number;
    if (value === 0 && b === 0x80) throw new DerError('non-minimal OID arc');
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new DerError('OID arc too large');
    if ((b & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    }
  }
  if ((der[t.end - 1] as number) & 0x80) throw new DerError('truncated OID');
  const first = arcs[0] as number;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

/** Contents as lower-case hex. */
export function hex(der: Uint8Array, t: Tlv): string {
  return Buffer.from(der.buffer, der.byteOffset + t.start, t.end - t.start).toString('hex');
}

/** Whether the contents equal `bytes` (for comparing OIDs without decoding them). */
export function contentEquals(der: Uint8Array, t: Tlv, bytes: readonly number[]): boolean {
  if (t.end - t.start !== bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (der[t.start + i] !== bytes[i]) return false;
  return true;
}
