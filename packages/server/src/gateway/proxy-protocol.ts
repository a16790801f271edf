/**
 * The PROXY protocol, version 2 (binary), as a receiver: HAProxy in `mode tcp` with TLS
 * passthrough and `send-proxy-v2` puts this header before the device's TLS ClientHello, so
 * the node learns the device's real address (CLUSTER.md §2a). Pure functions over bytes; the
 * socket side is proxy-acceptor.ts. Facts and section numbers are those of HAProxy's
 * doc/proxy-protocol.txt ("the spec" below).
 */
import { gatewayError as proxyProtocolError } from './errors.js';

/** §2.2: the 12-byte signature; a null byte at the 5th position, so never a C string. */
export const PROXY_V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
/** §2.2: signature, ver_cmd, fam and the 16-bit length. */
export const PROXY_V2_FIXED_BYTES = 16;
/**
 * The largest `len` accepted (address block + TLVs). §2 designs both formats to fit in 536
 * bytes (the smallest TCP segment every host supports); with passthrough HAProxy sends the
 * addresses and, when configured, a few short TLVs (unique ID ≤ 128 bytes, §2.2.5; authority).
 */
export const PROXY_V2_DEFAULT_MAX_LENGTH = 1024;

/** A complete, valid header. */
export interface ProxyHeaderV2 {
  /** §2.2: LOCAL (health check of the proxy itself) or PROXY (a relayed connection). */
  command: 'local' | 'proxy';
  /**
   * The original client, for PROXY over TCP/IPv4 or TCP/IPv6. Absent for LOCAL and for the
   * families the spec lets a receiver treat as UNSPEC (§2.2: "use the real connection
   * endpoints"): UNSPEC, UDP, AF_UNIX.
   */
  source?: { address: string; port: number; family: 'IPv4' | 'IPv6' };
  destination?: { address: string; port: number };
  /** Bytes the header took: 16 + len. The TLS stream starts right after. */
  headerBytes: number;
  /** TLV types seen (skipped, §2.2: "A receiver may choose to skip over and ignore…"). */
  tlvTypes: number[];
}

export type ProxyParseResult = { complete: false } | { complete: true; header: ProxyHeaderV2 };

/** §2.2: the high nibble of byte 14. */
const FAMILY_INET = 0x1;
const FAMILY_INET6 = 0x2;
const FAMILY_UNIX = 0x3;
const FAMILY_UNSPEC = 0x0;
/** §2.2: the low nibble of byte 14. */
const PROTO_UNSPEC = 0x0;
const PROTO_STREAM = 0x1;
const PROTO_MAX = 0x2;
/** §2.2: bytes of the address block per family (2×4+2×2, 2×16+2×2, 2×108). */
const ADDRESS_BYTES: Record<number, number> = { [FAMILY_INET]: 12, [FAMILY_INET6]: 36, [FAMILY_UNIX]: 216 };

/** Whether `bytes` could still become the signature (a prefix of it, or all of it). */
export function startsLikeProxyV2(bytes: Buffer): boolean {
  const n = Math.min(bytes.length, PROXY_V2_SIGNATURE.length);
  return n > 0 && bytes.subarray(0, n).equals(PROXY_V2_SIGNATURE.subarray(0, n));
}

/**
 * Parses the header at the start of `bytes`. Returns `{complete: false}` while more bytes are
 * needed (the spec, §2.2: "must not start to parse an address before the whole address block
 * is received"), the header once complete, and throws a `GatehouseError` with an
 * `ERR_PROXY_*` code for anything the spec says to reject.
 *
 * @example
 * const r = parseProxyV2(firstBytes);
 * if (r.complete) socket.unshift(firstBytes.subarray(r.header.headerBytes));
 */
export function parseProxyV2(bytes: Buffer, maxLength = PROXY_V2_DEFAULT_MAX_LENGTH): ProxyParseResult {
  if (!startsLikeProxyV2(bytes)) {
    // 0x16 is a TLS handshake record (RFC 8446 §5.1): the peer skipped the header entirely.
    if (bytes[0] === 0x16)
      throw proxyProtocolError('ERR_PROXY_HEADER_MISSING', 'TLS started without a PROXY v2 header');
    const v1 = bytes.subarray(0, 6).toString('latin1') === 'PROXY ';
    throw proxyProtocolError(
      'ERR_PROXY_BAD_SIGNATURE',
      v1 ? 'PROXY v1 (text) header; only v2 is accepted' : 'the PROXY v2 signature does not match',
    );
  }
  if (bytes.length < PROXY_V2_FIXED_BYTES) return { complete: false };

  const verCmd = bytes[12]!;
  const version = verCmd >> 4;
  if (version !== 0x2)
    throw proxyProtocolError('ERR_PROXY_BAD_VERSION', `PROXY header version ${version}; only 2 is accepted`);
  const commandBits = verCmd & 0x0f;
  if (commandBits > 0x1)
    throw proxyProtocolError(
      'ERR_PROXY_BAD_COMMAND',
      `PROXY v2 command 0x${commandBits.toString(16)} is unassigned`,
    );

  const fam = bytes[13]!;
  const family = fam >> 4;
  const protocol = fam & 0x0f;
  if (family > FAMILY_UNIX || protocol > PROTO_MAX)
    throw proxyProtocolError(
      'ERR_PROXY_BAD_FAMILY',
      `PROXY v2 family/protocol byte 0x${fam.toString(16).padStart(2, '0')} is not defined`,
    );

  // §2.2: "Receivers MUST always consider this field to skip the appropriate number of bytes".
  const length = bytes.readUInt16BE(14);
  if (length > maxLength)
    throw proxyProtocolError(
      'ERR_PROXY_HEADER_TOO_LONG',
      `PROXY v2 header announces ${length} bytes; at most ${maxLength} are accepted`,
    );
  const headerBytes = PROXY_V2_FIXED_BYTES + length;
  if (bytes.length < headerBytes) return { complete: false };
  const body = bytes.subarray(PROXY_V2_FIXED_BYTES, headerBytes);

  // §2.2 LOCAL: "discard the protocol block including the family which is ignored".
  if (commandBits === 0x0) return { complete: true, header: { command: 'local', headerBytes, tlvTypes: [] } };

  // §2.2 UNSPEC (family or protocol): "The receiver should ignore address information", so
  // nothing after the fixed part is interpreted, TLVs included.
  if (family === FAMILY_UNSPEC || protocol === PROTO_UNSPEC)
    return { complete: true, header: { command: 'proxy', headerBytes, tlvTypes: [] } };
  const addressBytes = ADDRESS_BYTES[family] ?? 0;
  if (length < addressBytes)
    throw proxyProtocolError(
      'ERR_PROXY_ADDRESS_TRUNCATED',
      `PROXY v2 length ${length} is shorter than the ${addressBytes}-byte address block of its family`,
    );
  const tlvTypes = skipTlvs(body.subarray(addressBytes));
  const header: ProxyHeaderV2 = { command: 'proxy', headerBytes, tlvTypes };
  // Only TCP carries the device's address; UNSPEC, UDP and AF_UNIX fall back to the real
  // endpoints, as §2.2 allows ("falls back to the UNSPEC mode").
  if (protocol === PROTO_STREAM && family === FAMILY_INET) {
    header.source = { address: ipv4(body, 0), port: body.readUInt16BE(8), family: 'IPv4' };
    header.destination = { address: ipv4(body, 4), port: body.readUInt16BE(10) };
  } else if (protocol === PROTO_STREAM && family === FAMILY_INET6) {
    header.source = { address: ipv6(body, 0), port: body.readUInt16BE(32), family: 'IPv6' };
    header.destination = { address: ipv6(body, 16), port: body.readUInt16BE(34) };
  }
  return { complete: true, header };
}

/** §2.2 TLVs: type (1 byte), length (2 bytes, big endian), value; skipped, but framed exactly. */
function skipTlvs(tlvs: Buffer): number[] {
  const types: number[] = [];
  let at = 0;
  while (at < tlvs.length) {
    if (at + 3 > tlvs.length)
      throw proxyProtocolError('ERR_PROXY_ADDRESS_TRUNCATED', 'a PROXY v2 TLV header runs past the header');
    const type = tlvs[at]!;
    const size = tlvs.readUInt16BE(at + 1);
    at += 3 + size;
    if (at > tlvs.length)
      throw proxyProtocolError(
        'ERR_PROXY_ADDRESS_TRUNCATED',
        `PROXY v2 TLV 0x${type.toString(16)} of ${size} bytes runs past the header`,
      );
    types.push(type);
  }
  return types;
}

function ipv4(b: Buffer, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** RFC 5952 text form (lower case, longest zero run as `::`), like Node's own `remoteAddress`. */
function ipv6(b: Buffer, at: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(at + i * 2));
  // An IPv4-mapped address (::ffff:a.b.c.d) is written the way Node reports it.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${ipv4(b, at + 12)}`;
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i > 1) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/**
 * Builds a header, for tests and tools (the sender side of §2.2).
 *
 * @example
 * encodeProxyV2({ command: 'proxy', source: { address: '203.0.113.7', port: 50000 },
 *   destination: { address: '10.0.0.5', port: 8883 } });
 */
export function encodeProxyV2(header: {
  command: 'local' | 'proxy';
  source?: { address: string; port: number };
  destination?: { address: string; port: number };
  tlvs?: Array<{ type: number; value: Buffer }>;
}): Buffer {
  let fam = 0x00;
  let addresses = Buffer.alloc(0);
  if (header.source && header.destination) {
    const v6 = header.source.address.includes(':');
    fam = v6 ? 0x21 : 0x11;
    const size = v6 ? 16 : 4;
    addresses = Buffer.alloc(size * 2 + 4);
    writeAddress(addresses, 0, header.source.address, v6);
    writeAddress(addresses, size, header.destination.address, v6);
    addresses.writeUInt16BE(header.source.port, size * 2);
    addresses.writeUInt16BE(header.destination.port, size * 2 + 2);
  }
  const tlvs = (header.tlvs ?? []).map(({ type, value }) => {
    const t = Buffer.alloc(3);
    t[0] = type;
    t.writeUInt16BE(value.length, 1);
    return Buffer.concat([t, value]);
  });
  const body = Buffer.concat([addresses, ...tlvs]);
  const fixed = Buffer.alloc(4);
  fixed[0] = 0x20 | (header.command === 'proxy' ? 0x1 : 0x0);
  fixed[1] = fam;
  fixed.writeUInt16BE(body.length, 2);
  return Buffer.concat([PROXY_V2_SIGNATURE, fixed, body]);
}

function writeAddress(out: Buffer, at: number, address: string, v6: boolean): void {
  if (!v6) {
    address.split('.').forEach((p, i) => (out[at + i] = Number(p)));
    return;
  }
  const [head = '', tail] = address.split('::');
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  groups.forEach((g, i) => out.writeUInt16BE(g, at + i * 2));
}
