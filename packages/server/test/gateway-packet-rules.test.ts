/**
 * What the MQTT state machine refuses, on the real server over real TLS sockets, one row per
 * normative statement of MQTT 3.1.1 (HARDENING.md §8 F3): every "refuse" row must close the
 * connection with no answer to the offending packet (0 CONNACK for a bad CONNECT, 0 SUBACK,
 * UNSUBACK or PUBACK for a bad packet after it). Rows after CONNECT first connect as a DPS
 * client (accepted without credentials, PROTOCOL.md §1.2). The "accept" rows show the rules
 * do not refuse what a device may send. Bytes are written by hand where mqtt-packet's
 * generator would refuse to produce them.
 */
import assert from 'node:assert/strict';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';

import { parser as createParser, type Packet } from 'mqtt-packet';

import { pkt, str } from '../fuzz/mqtt-bytes.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const REG = 'rules-dev';

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);

/** CONNECT, protocol level 4, keep-alive 60, with these flags and payload fields. */
function connectPacket(flags: number, ...payload: Buffer[]): Buffer {
  return pkt(0x10, str('MQTT'), Buffer.from([4, flags]), u16(60), ...payload);
}

interface Row {
  /** The normative statement (or section) the row comes from. */
  rule: string;
  name: string;
  /** Whether a valid CONNECT (and its CONNACK 0) comes first. */
  connected: boolean;
  bytes: (scope: string) => Buffer;
  /** 'refuse': closed, nothing answered; otherwise the packets answered, in order, and still open. */
  expect: 'refuse' | Array<Packet['cmd']>;
}

const dpsUser = (scope: string, reg = REG) => `${scope}/registrations/${reg}/api-version=2019-03-31`;
const goodConnect = (scope: string) => connectPacket(0x82, str(REG), str(dpsUser(scope)));
const publish0 = (topic: string | Buffer, first = 0x30) => pkt(first, str(topic), Buffer.from('{}'));
const subscribe = (filter: string | Buffer, options = 1, first = 0x82, id = 1) =>
  pkt(first, u16(id), str(filter), Buffer.from([options]));
const RES = '$dps/registrations/res/#';
/** The DPS register topic (PROTOCOL.md §1.3) without its request ID: the rows add one. */
const REGISTER = '$dps/registrations/PUT/iotdps-register/?$rid=';

const ROWS: Row[] = [
  // Before CONNECT
  {
    rule: 'MQTT-3.1.0-1',
    name: 'PINGREQ as the first packet',
    connected: false,
    bytes: () => pkt(0xc0),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-3.1.0-1',
    name: 'PUBLISH as the first packet',
    connected: false,
    bytes: () => publish0('a/b'),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-1.5.3-2',
    name: 'CONNECT client identifier with U+0000',
    connected: false,
    bytes: (s) => connectPacket(0x82, str('rules\u0000dev'), str(dpsUser(s))),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-1.5.3-1',
    name: 'CONNECT client identifier with byte 0xFF',
    connected: false,
    bytes: (s) => connectPacket(0x82, str(Buffer.from([0x61, 0xff])), str(dpsUser(s))),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-1.5.3-1',
    name: 'CONNECT client identifier with an encoded surrogate (ED A0 80)',
    connected: false,
    bytes: (s) => connectPacket(0x82, str(Buffer.from([0x61, 0xed, 0xa0, 0x80])), str(dpsUser(s))),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-1.5.3-1',
    name: 'CONNECT user name with an ill-formed sequence (C3 28)',
    connected: false,
    bytes: (s) =>
      connectPacket(0x82, str(REG), str(Buffer.concat([Buffer.from(dpsUser(s)), Buffer.from([0xc3, 0x28])]))),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-1.5.3-2',
    name: 'CONNECT user name with U+0000',
    connected: false,
    bytes: (s) => connectPacket(0x82, str(REG), str(`${dpsUser(s)}\u0000`)),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-3.1.2-3',
    name: 'CONNECT reserved flag (bit 0) set',
    connected: false,
    bytes: (s) => connectPacket(0x83, str(REG), str(dpsUser(s))),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-2.2.2-2',
    name: 'CONNECT fixed-header flags 0001',
    connected: false,
    bytes: (s) => Buffer.concat([Buffer.from([0x11]), goodConnect(s).subarray(1)]),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-3.1.2-22',
    name: 'CONNECT password without user name',
    connected: false,
    bytes: () => connectPacket(0x42, str(REG), str('secret')),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-3.1.2-14',
    name: 'CONNECT will QoS 3',
    connected: false,
    bytes: (s) => connectPacket(0x9e, str(REG), str('will/t'), str('m'), str(dpsUser(s))),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-1.5.3-2',
    name: 'CONNECT will topic with U+0000',
    connected: false,
    bytes: (s) => connectPacket(0x86, str(REG), str('will\u0000'), str('m'), str(dpsUser(s))),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-2.2.1 (reserved type 0)',
    name: 'packet type 0',
    connected: false,
    bytes: () => pkt(0x00),
    expect: 'refuse',
  },
  // After CONNECT
  { rule: 'MQTT-3.1.0-2', name: 'a second CONNECT', connected: true, bytes: goodConnect, expect: 'refuse' },
  {
    rule: 'MQTT-3.3.2-2',
    name: "PUBLISH topic with '+'",
    connected: true,
    bytes: () => publish0(`${REGISTER}+`),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-3.3.2-2',
    name: "PUBLISH topic with '#'",
    connected: true,
    bytes: () => publish0(`${REGISTER}#`),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-1.5.3-2',
    name: 'PUBLISH topic with U+0000',
    connected: true,
    bytes: () => publish0(`${REGISTER}1\u0000`),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-1.5.3-1',
    name: 'PUBLISH topic with byte 0xFF',
    connected: true,
    bytes: () => publish0(Buffer.concat([Buffer.from(`${REGISTER}1`), Buffer.from([0xff])])),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-3.3.1-4',
    name: 'PUBLISH with QoS 3',
    connected: true,
    bytes: () => pkt(0x36, str('$dps/x'), u16(1)),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-3.3.1-2',
    name: 'PUBLISH QoS 0 with DUP set',
    connected: true,
    bytes: () => publish0(`${REGISTER}1`, 0x38),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-4.7.3-1',
    name: 'PUBLISH with an empty topic name',
    connected: true,
    bytes: () => publish0(''),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-2.3.1-1',
    name: 'PUBLISH QoS 1 with packet identifier 0',
    connected: true,
    bytes: () => pkt(0x32, str('$dps/registrations/PUT/iotdps-register/?$rid=1'), u16(0), Buffer.from('{}')),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-3.8.1-1',
    name: 'SUBSCRIBE with fixed-header flags 0000',
    connected: true,
    bytes: () => subscribe(RES, 1, 0x80),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-3.8.3-3',
    name: 'SUBSCRIBE without a topic filter',
    connected: true,
    bytes: () => pkt(0x82, u16(1)),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-3.8.3-4',
    name: 'SUBSCRIBE requesting QoS 3',
    connected: true,
    bytes: () => subscribe(RES, 3),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-3.8.3-4',
    name: 'SUBSCRIBE with reserved option bits set',
    connected: true,
    bytes: () => subscribe(RES, 0x41),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-2.3.1-1',
    name: 'SUBSCRIBE with packet identifier 0',
    connected: true,
    bytes: () => subscribe(RES, 1, 0x82, 0),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-4.7.1-2',
    name: "SUBSCRIBE filter 'a#' ('#' not alone in its level)",
    connected: true,
    bytes: () => subscribe('$dps/a#'),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-4.7.1-2',
    name: "SUBSCRIBE filter '#/a' ('#' not last)",
    connected: true,
    bytes: () => subscribe('#/a'),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-4.7.1-3',
    name: "SUBSCRIBE filter 'a+/b' ('+' not alone in its level)",
    connected: true,
    bytes: () => subscribe('$dps/a+/b'),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-1.5.3-1',
    name: 'SUBSCRIBE filter with byte 0xFF',
    connected: true,
    bytes: () => subscribe(Buffer.from([0x24, 0xff])),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-3.10.1-1',
    name: 'UNSUBSCRIBE with fixed-header flags 0000',
    connected: true,
    bytes: () => pkt(0xa0, u16(1), str(RES)),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-3.10.3-2',
    name: 'UNSUBSCRIBE without a topic filter',
    connected: true,
    bytes: () => pkt(0xa2, u16(1)),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-3.6.1-1',
    name: 'PUBREL with fixed-header flags 0000',
    connected: true,
    bytes: () => pkt(0x60, u16(1)),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-4.3.3 (no QoS 2 flow was started)',
    name: 'unsolicited PUBREC',
    connected: true,
    bytes: () => pkt(0x50, u16(7)),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-4.3.3 (no QoS 2 flow was started)',
    name: 'unsolicited PUBCOMP',
    connected: true,
    bytes: () => pkt(0x70, u16(7)),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-2.2.2-2',
    name: 'PUBACK with fixed-header flags 0001',
    connected: true,
    bytes: () => pkt(0x41, u16(1)),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-2.2.2-2',
    name: 'PINGREQ with fixed-header flags 0001',
    connected: true,
    bytes: () => pkt(0xc1),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-3.2 (server to client only)',
    name: 'CONNACK from the client',
    connected: true,
    bytes: () => pkt(0x20, Buffer.from([0, 0])),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-3.9 (server to client only)',
    name: 'SUBACK from the client',
    connected: true,
    bytes: () => pkt(0x90, u16(1), Buffer.from([1])),
    expect: 'refuse',
  },
  // Found by mosquitto's conformance table (npm run fuzz -- mosquitto-table): lengths the
  // parser reads past, an identifier of 0 in an ack, and control characters in topics.
  {
    rule: 'MQTT 3.1.1 §3.12.1',
    name: 'PINGREQ with a remaining length of 1',
    connected: true,
    bytes: () => pkt(0xc0, Buffer.from([0])),
    expect: 'refuse',
  },
  {
    rule: 'MQTT 3.1.1 §3.4.1',
    name: 'PUBACK with a remaining length of 3',
    connected: true,
    bytes: () => pkt(0x40, u16(1), Buffer.from([0])),
    expect: 'refuse',
  },
  {
    rule: 'MQTT 3.1.1 §3.4.1',
    name: 'PUBACK with a remaining length of 1',
    connected: true,
    bytes: () => pkt(0x40, Buffer.from([1])),
    expect: 'refuse',
  },
  {
    rule: 'MQTT 3.1.1 §3.4.1',
    name: 'PUBACK with a remaining length of 0',
    connected: true,
    bytes: () => pkt(0x40),
    expect: 'refuse',
  },
  {
    rule: 'MQTT-2.3.1-1',
    name: 'PUBACK with packet identifier 0',
    connected: true,
    bytes: () => pkt(0x40, u16(0)),
    expect: 'refuse',
  },
  {
    rule: 'MQTT 3.1.1 §1.5.3 (control characters)',
    name: 'PUBLISH QoS 1 to the register topic with U+009F in the request ID',
    connected: true,
    bytes: () => pkt(0x32, str(`${REGISTER}1\u009f`), u16(1), Buffer.from('{}')),
    expect: 'refuse',
  },
  {
    rule: 'MQTT 3.1.1 §1.5.3 (control characters)',
    name: 'SUBSCRIBE filter with U+0001',
    connected: true,
    bytes: () => subscribe('$dps/registrations/res/\u0001/#'),
    expect: 'refuse',
  },
  {
    rule: 'MQTT 3.1.1 §1.5.3 (control characters)',
    name: 'UNSUBSCRIBE filter with U+007F',
    connected: true,
    bytes: () => pkt(0xa2, u16(1), str('$dps/registrations/res/\u007f')),
    expect: 'refuse',
  },
  // Accepted
  {
    rule: 'MQTT-3.12.4-1',
    name: 'PINGREQ is answered',
    connected: true,
    bytes: () => pkt(0xc0),
    expect: ['pingresp'],
  },
  {
    rule: 'MQTT-3.8.4-1',
    name: 'SUBSCRIBE to the DPS responses gets its SUBACK',
    connected: true,
    bytes: () => subscribe(RES),
    expect: ['suback'],
  },
  {
    rule: 'MQTT-4.7.1-3',
    name: "SUBSCRIBE with '+' alone in a level gets a SUBACK",
    connected: true,
    bytes: () => subscribe('$dps/registrations/+/#'),
    expect: ['suback'],
  },
  {
    rule: 'MQTT-3.10.4-4',
    name: 'UNSUBSCRIBE gets its UNSUBACK',
    connected: true,
    bytes: () => pkt(0xa2, u16(2), str(RES)),
    expect: ['unsuback'],
  },
  {
    rule: 'MQTT-4.3.2 (as mosquitto: a late PUBACK)',
    name: 'PUBACK for an unknown packet identifier is ignored',
    connected: true,
    bytes: () => pkt(0x40, u16(99)),
    expect: [],
  },
  {
    rule: 'MQTT-1.5.3',
    name: 'CONNECT with a non-ASCII registration ID (é) gets CONNACK 0',
    connected: false,
    bytes: (s) => connectPacket(0x82, str('capteur-é'), str(dpsUser(s, 'capteur-é'))),
    expect: ['connack'],
  },
];

interface Outcome {
  packets: Packet[];
  socket: TLSSocket;
  closed: Promise<void>;
  isClosed: () => boolean;
  next: (n: number, timeoutMs?: number) => Promise<void>;
}

function open(port: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    const packets: Packet[] = [];
    const parser = createParser({ protocolVersion: 4 });
    parser.on('packet', (p: Packet) => packets.push(p));
    socket.on('data', (d: Buffer) => parser.parse(d));
    socket.on('error', () => undefined);
    let closed = false;
    const closedPromise = new Promise<void>((r) => socket.once('close', () => ((closed = true), r())));
    const next = async (n: number, timeoutMs = 3000) => {
      const deadline = Date.now() + timeoutMs;
      while (packets.length < n && !closed && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
    };
    socket.once('secureConnect', () =>
      resolve({ packets, socket, closed: closedPromise, isClosed: () => closed, next }),
    );
    socket.once('error', reject);
  });
}

describe('MQTT state machine: refusals beyond the parser (real server, TLS)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server?.stop());

  for (const row of ROWS) {
    const verdict =
      row.expect === 'refuse'
        ? 'closed, nothing answered'
        : `answered ${row.expect.join(', ') || 'nothing'}, kept open`;
    it(`[${row.rule}] ${row.name}: ${verdict}`, async () => {
      const c = await open(server.mqtt.port);
      try {
        if (row.connected) {
          c.socket.write(goodConnect(server.idScope));
          await c.next(1);
          assert.equal(c.packets[0]?.cmd, 'connack');
          assert.equal((c.packets[0] as { returnCode?: number }).returnCode, 0);
        }
        const before = c.packets.length;
        c.socket.write(row.bytes(server.idScope));
        if (row.expect === 'refuse') {
          await Promise.race([c.closed, new Promise((r) => setTimeout(r, 3000))]);
          assert.ok(c.isClosed(), 'the server closed the connection');
          assert.deepEqual(
            c.packets.slice(before).map((p) => p.cmd),
            [],
            'no CONNACK, SUBACK, UNSUBACK or PUBACK for the offending packet',
          );
          return;
        }
        await c.next(before + row.expect.length);
        assert.deepEqual(
          c.packets.slice(before).map((p) => p.cmd),
          row.expect,
        );
        const connack = c.packets.find((p) => p.cmd === 'connack') as { returnCode?: number } | undefined;
        if (connack) assert.equal(connack.returnCode, 0);
        // Still open and still served.
        c.socket.write(pkt(0xc0));
        await c.next(before + row.expect.length + 1);
        assert.equal(c.packets.at(-1)?.cmd, 'pingresp');
        assert.equal(c.isClosed(), false);
      } finally {
        c.socket.destroy();
      }
    });
  }

  it('counts the refusals as protocol violations or malformed packets in /metrics', () => {
    const text = server.metrics.render();
    const count = (reason: string) =>
      Number(
        /(\d+)$/.exec(
          text
            .split('\n')
            .find((l) => l.includes(`reason="${reason}"`) && l.startsWith('gatehouse_mqtt_refusals_total')) ??
            '0',
        )?.[1] ?? 0,
      );
    const refused = ROWS.filter((r) => r.expect === 'refuse').length;
    assert.equal(count('protocol-violation') + count('malformed-packet'), refused);
  });
});
