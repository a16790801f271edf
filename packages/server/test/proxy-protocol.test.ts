/**
 * The PROXY v2 parser against known bytes (STYLE.md §11: table-driven, known-answer). Every
 * refusal the spec (HAProxy doc/proxy-protocol.txt §2.2) names has a row; the accepted
 * headers include the exact bytes HAProxy 2.6 sends for TCP over IPv4.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { GatehouseError } from '../src/errors.js';
import {
  encodeProxyV2,
  parseProxyV2,
  PROXY_V2_SIGNATURE,
  type ProxyHeaderV2,
} from '../src/gateway/proxy-protocol.js';
import { TrustedProxies } from '../src/gateway/proxy-trust.js';

const SIG = PROXY_V2_SIGNATURE;
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** ver_cmd, fam, len, then the body. */
const v2 = (verCmd: number, fam: number, body: Buffer, len = body.length) => {
  const fixed = Buffer.alloc(4);
  fixed[0] = verCmd;
  fixed[1] = fam;
  fixed.writeUInt16BE(len, 2);
  return Buffer.concat([SIG, fixed, body]);
};
const IPV4_BLOCK = hex('cb007107 0a000005 c350 22b3'); // 203.0.113.7 → 10.0.0.5, 50000 → 8883
const CLIENT_HELLO = hex('160301'); // the TLS record that follows

describe('PROXY v2: accepted headers', () => {
  const cases: Array<{ name: string; bytes: Buffer; header: Partial<ProxyHeaderV2> }> = [
    {
      // As captured from HAProxy: a TCP4 header (fam 0x11, len 12).
      name: 'PROXY TCP over IPv4',
      bytes: v2(0x21, 0x11, IPV4_BLOCK),
      header: {
        command: 'proxy',
        source: { address: '203.0.113.7', port: 50000, family: 'IPv4' },
        destination: { address: '10.0.0.5', port: 8883 },
        headerBytes: 28,
        tlvTypes: [],
      },
    },
    {
      name: 'PROXY TCP over IPv6 (RFC 5952 text, like socket.remoteAddress)',
      bytes: encodeProxyV2({
        command: 'proxy',
        source: { address: '2001:db8::7', port: 443 },
        destination: { address: 'fd00::1:5', port: 8883 },
      }),
      header: {
        command: 'proxy',
        source: { address: '2001:db8::7', port: 443, family: 'IPv6' },
        destination: { address: 'fd00::1:5', port: 8883 },
        headerBytes: 52,
      },
    },
    {
      name: 'PROXY TCP over IPv6, an IPv4-mapped source',
      bytes: encodeProxyV2({
        command: 'proxy',
        source: { address: '::ffff:c000:0201', port: 1 },
        destination: { address: '::1', port: 2 },
      }),
      header: { source: { address: '::ffff:192.0.2.1', port: 1, family: 'IPv6' } },
    },
    {
      // §2.2: "Receivers MUST ... not assume zero is presented for LOCAL connections".
      name: 'LOCAL (a health check) with an address block that is skipped',
      bytes: v2(0x20, 0x11, IPV4_BLOCK),
      header: { command: 'local', headerBytes: 28, tlvTypes: [] },
    },
    {
      name: 'LOCAL, UNSPEC, len 0',
      bytes: v2(0x20, 0x00, Buffer.alloc(0)),
      header: { command: 'local', headerBytes: 16 },
    },
    {
      name: 'PROXY UNSPEC: the real endpoints are used (no source)',
      bytes: v2(0x21, 0x00, Buffer.alloc(0)),
      header: { command: 'proxy', headerBytes: 16, tlvTypes: [] },
    },
    {
      name: 'PROXY UNSPEC with bytes after the fixed part: ignored, not read as TLVs',
      bytes: v2(0x21, 0x00, Buffer.from('ffffffffffff', 'hex')),
      header: { command: 'proxy', headerBytes: 22, tlvTypes: [] },
    },
    {
      name: 'PROXY IPv4 with an UNSPEC transport: the address is ignored',
      bytes: v2(0x21, 0x10, IPV4_BLOCK),
      header: { command: 'proxy', headerBytes: 28, tlvTypes: [] },
    },
    {
      name: 'PROXY UDP over IPv4: valid, falls back to UNSPEC (§2.2)',
      bytes: v2(0x21, 0x12, IPV4_BLOCK),
      header: { command: 'proxy', headerBytes: 28 },
    },
    {
      name: 'PROXY AF_UNIX stream: falls back to UNSPEC',
      bytes: v2(0x21, 0x31, Buffer.alloc(216)),
      header: { command: 'proxy', headerBytes: 232 },
    },
    {
      name: 'TLVs after the addresses are skipped (NOOP, UNIQUE_ID, a custom one)',
      bytes: encodeProxyV2({
        command: 'proxy',
        source: { address: '198.51.100.9', port: 40000 },
        destination: { address: '10.0.0.5', port: 443 },
        tlvs: [
          { type: 0x04, value: Buffer.alloc(0) },
          { type: 0x05, value: Buffer.from('abc') },
          { type: 0xe0, value: Buffer.alloc(100) },
        ],
      }),
      header: {
        source: { address: '198.51.100.9', port: 40000, family: 'IPv4' },
        headerBytes: 16 + 12 + 3 + 6 + 103,
        tlvTypes: [0x04, 0x05, 0xe0],
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = parseProxyV2(Buffer.concat([c.bytes, CLIENT_HELLO]));
      assert.equal(r.complete, true);
      if (!r.complete) return;
      for (const [k, v] of Object.entries(c.header))
        assert.deepEqual(r.header[k as keyof ProxyHeaderV2], v, k);
      assert.equal(r.header.headerBytes, c.bytes.length, 'the TLS stream starts right after');
    });
  }

  it('waits for more bytes while the header is incomplete, at every split point', () => {
    const whole = v2(0x21, 0x11, IPV4_BLOCK);
    for (let n = 1; n < whole.length; n++)
      assert.deepEqual(parseProxyV2(whole.subarray(0, n)), { complete: false }, `${n} bytes`);
  });
});

describe('PROXY v2: refusals', () => {
  const cases: Array<{ name: string; bytes: Buffer; code: string; max?: number }> = [
    {
      name: 'bad signature (one byte off)',
      bytes: Buffer.concat([hex('0d0a0d0a000d0a515549540b'), hex('2111000c')]),
      code: 'ERR_PROXY_BAD_SIGNATURE',
    },
    {
      name: 'a v1 text header',
      bytes: Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'),
      code: 'ERR_PROXY_BAD_SIGNATURE',
    },
    { name: 'plain HTTP', bytes: Buffer.from('GET / HTTP/1.1\r\n'), code: 'ERR_PROXY_BAD_SIGNATURE' },
    { name: 'TLS without a header', bytes: hex('16030100f4010000f00303'), code: 'ERR_PROXY_HEADER_MISSING' },
    {
      name: 'version 1 in the binary form',
      bytes: v2(0x11, 0x11, IPV4_BLOCK),
      code: 'ERR_PROXY_BAD_VERSION',
    },
    { name: 'version 3', bytes: v2(0x31, 0x11, IPV4_BLOCK), code: 'ERR_PROXY_BAD_VERSION' },
    { name: 'unassigned command 0x2', bytes: v2(0x22, 0x11, IPV4_BLOCK), code: 'ERR_PROXY_BAD_COMMAND' },
    { name: 'unassigned command 0xF', bytes: v2(0x2f, 0x11, IPV4_BLOCK), code: 'ERR_PROXY_BAD_COMMAND' },
    { name: 'unknown family 0x4', bytes: v2(0x21, 0x41, IPV4_BLOCK), code: 'ERR_PROXY_BAD_FAMILY' },
    { name: 'unknown transport 0x3', bytes: v2(0x21, 0x13, IPV4_BLOCK), code: 'ERR_PROXY_BAD_FAMILY' },
    {
      name: 'TCP4 with len 11 (truncated address block)',
      bytes: v2(0x21, 0x11, IPV4_BLOCK.subarray(0, 11)),
      code: 'ERR_PROXY_ADDRESS_TRUNCATED',
    },
    { name: 'TCP6 with len 12', bytes: v2(0x21, 0x21, IPV4_BLOCK), code: 'ERR_PROXY_ADDRESS_TRUNCATED' },
    {
      name: 'a TLV whose length runs past the header',
      bytes: v2(0x21, 0x11, Buffer.concat([IPV4_BLOCK, hex('050010ab')])),
      code: 'ERR_PROXY_ADDRESS_TRUNCATED',
    },
    {
      name: 'a TLV cut inside its 3-byte header',
      bytes: v2(0x21, 0x11, Buffer.concat([IPV4_BLOCK, hex('0500')])),
      code: 'ERR_PROXY_ADDRESS_TRUNCATED',
    },
    {
      name: 'oversize length (65535)',
      bytes: v2(0x21, 0x11, IPV4_BLOCK, 0xffff),
      code: 'ERR_PROXY_HEADER_TOO_LONG',
    },
    {
      name: 'length one above a configured maximum',
      bytes: v2(0x21, 0x11, Buffer.alloc(65)),
      code: 'ERR_PROXY_HEADER_TOO_LONG',
      max: 64,
    },
  ];
  for (const c of cases) {
    it(`${c.name} → ${c.code}`, () => {
      assert.throws(
        () => parseProxyV2(c.bytes, c.max),
        (err: unknown) => err instanceof GatehouseError && err.code === c.code && err.message.length > 0,
      );
    });
  }

  it('refuses a bad signature from the first byte that differs, without waiting for 16', () => {
    assert.throws(() => parseProxyV2(hex('0d0a0d0b')), { code: 'ERR_PROXY_BAD_SIGNATURE' });
  });
});

describe('--proxy-trusted', () => {
  it('matches CIDRs, single addresses, comma lists and IPv4-mapped peers', () => {
    const t = TrustedProxies.parse(['10.0.0.0/8,127.0.0.1', 'fd00::/8']);
    assert.deepEqual(t.ranges, ['10.0.0.0/8', '127.0.0.1/32', 'fd00::/8']);
    for (const yes of ['10.1.2.3', '127.0.0.1', '::ffff:127.0.0.1', 'fd12::1']) assert.ok(t.has(yes), yes);
    for (const no of ['11.0.0.1', '127.0.0.2', '::1', 'fe80::1', undefined, 'not-an-ip'])
      assert.ok(!t.has(no), String(no));
  });

  for (const bad of [
    '10.0.0.0/33',
    '::/129',
    'localhost',
    '10.0.0/8',
    '10.0.0.0/',
    '10.0.0.0/x',
    '1.2.3.4/-1',
  ])
    it(`refuses '${bad}' with ERR_PROXY_TRUSTED_INVALID`, () => {
      assert.throws(() => TrustedProxies.parse([bad]), { code: 'ERR_PROXY_TRUSTED_INVALID' });
    });
});
