/**
 * Admission on the device ports (HARDENING.md §8 C3), on a real server over real sockets: the
 * per-address connect rate (20/s, burst 100 by default) and the connection cap refuse on the
 * raw TCP socket, before any TLS byte (0 bytes answered), count the refusals in /metrics and
 * log one line per interval however many are refused. Loopback is exempt from the rate by
 * default (the simulator and benchmarks connect thousands of devices from it); the tests limit
 * another loopback address (127.0.0.5) by exempting only 127.0.0.1. Behind a PROXY v2 load
 * balancer the rate applies to the header's source, not to the balancer.
 */
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import { encodeProxyV2 } from '../src/gateway/index.js';
import { rateKey } from '../src/gateway/connection-admission.js';
import { captureLogger } from './helpers/gateway-harness.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const CLIENT = '127.0.0.5';

/** Opens `n` TCP connections from `from` at once; resolves when all are up or refused. */
async function burst(port: number, n: number, from = CLIENT): Promise<Socket[]> {
  const sockets = Array.from({ length: n }, () => {
    const s = netConnect({ host: '127.0.0.1', port, localAddress: from });
    s.on('error', () => undefined);
    return s;
  });
  await Promise.all(sockets.map((s) => new Promise((r) => (s.once('connect', r), s.once('close', r)))));
  return sockets;
}

/** Waits a moment, then splits the sockets into those the server closed and those still open. */
async function settle(
  sockets: Socket[],
  ms = 400,
): Promise<{ open: Socket[]; refused: Socket[]; bytes: number }> {
  let bytes = 0;
  for (const s of sockets) s.on('data', (d: Buffer) => (bytes += d.length));
  await sleep(ms);
  const refused = sockets.filter((s) => s.destroyed || s.readableEnded);
  return { open: sockets.filter((s) => !refused.includes(s)), refused, bytes };
}

function metric(server: TestServer, line: RegExp): number {
  const found = server.metrics
    .render()
    .split('\n')
    .find((l) => line.test(l));
  return found ? Number(found.split(' ').pop()) : 0;
}

function tlsAttempt(port: number, from: string): Promise<'secure' | 'refused'> {
  return new Promise((resolve) => {
    const tcp = netConnect({ host: '127.0.0.1', port, localAddress: from });
    const s = tlsConnect({ socket: tcp, rejectUnauthorized: false });
    s.once('secureConnect', () => {
      s.destroy();
      resolve('secure');
    });
    s.once('error', () => resolve('refused'));
    s.once('close', () => resolve('refused'));
  });
}

describe('device ports: per-address connect rate', () => {
  let server: TestServer;
  const log = captureLogger();
  before(async () => {
    server = await startTestServer({ logger: log.logger, deviceLimits: { rateExempt: ['127.0.0.1/32'] } });
  });
  after(async () => server?.stop());

  it('admits a burst of 100 from one address, refuses the rest before TLS (0 bytes), counts them, logs one line', async () => {
    const started = performance.now();
    const sockets = await burst(server.mqtt.port, 130);
    const { open, refused, bytes } = await settle(sockets);
    // The server may still be accepting while the client sees its sockets connected: the
    // refill is bounded by the whole time, up to the count.
    const elapsed = (performance.now() - started) / 1000;
    // 100 tokens, plus what 20/s refilled while the burst was being opened.
    assert.ok(open.length >= 100, `admitted ${open.length}`);
    assert.ok(open.length <= 100 + Math.ceil(20 * elapsed) + 1, `admitted ${open.length} in ${elapsed} s`);
    assert.ok(refused.length >= 130 - 100 - Math.ceil(20 * elapsed) - 1 && refused.length > 0);
    assert.equal(bytes, 0, 'nothing was answered: no TLS record reached the refused or the waiting sockets');
    assert.equal(
      metric(server, /^gatehouse_device_connections_refused_total\{listener="mqtts",reason="rate-limit"\}/),
      refused.length,
    );
    const lines = log.lines.filter((l) =>
      String(l['msg']).startsWith('device connections refused before TLS'),
    );
    assert.equal(lines.length, 1, 'one log line for the whole burst');
    assert.equal(lines[0]!['reason'], 'rate-limit');
    assert.equal(lines[0]!['remoteAddress'], CLIENT);
    for (const s of open) s.destroy();
  });

  it('the bucket refills at 20/s', async () => {
    // Empty it: a burst over its size. The bucket is at 0 some time after `started`, so what
    // is admitted later is at most 20/s × the time since then.
    const started = performance.now();
    for (const s of await burst(server.mqtt.port, 150)) s.destroy();
    await sleep(600);
    const sockets = await burst(server.mqtt.port, 40);
    const seconds = (performance.now() - started) / 1000;
    const { open } = await settle(sockets, 100);
    assert.ok(
      open.length >= 1 && open.length <= Math.ceil(20 * seconds) + 1,
      `admitted ${open.length}, ${seconds.toFixed(2)} s after the bucket was emptied`,
    );
    for (const s of sockets) s.destroy();
  });
});

describe('device ports: one bucket per address, shared by both ports', () => {
  let server: TestServer;
  before(async () => {
    // 1/s so that the bucket stays empty for the length of a test.
    server = await startTestServer({
      deviceLimits: { rateExempt: ['127.0.0.1/32'], connectRatePerIp: 1, connectBurstPerIp: 20 },
    });
  });
  after(async () => server?.stop());

  it('a TLS client from the limited address is refused before the handshake; another address still connects', async () => {
    for (const s of await burst(server.mqtt.port, 25)) s.destroy();
    assert.equal(await tlsAttempt(server.mqtt.port, CLIENT), 'refused');
    assert.equal(await tlsAttempt(server.mqtt.port, '127.0.0.6'), 'secure');
    // The exempt address never runs out.
    const sockets = await burst(server.mqtt.port, 150, '127.0.0.1');
    const { refused } = await settle(sockets, 200);
    assert.equal(refused.length, 0);
    for (const s of sockets) s.destroy();
  });

  it('the HTTPS/WSS port shares the bucket: the same address is refused there too', async () => {
    assert.ok(server.https);
    for (const s of await burst(server.mqtt.port, 25)) s.destroy();
    const sockets = await burst(server.https.port, 5);
    const { refused } = await settle(sockets, 200);
    assert.ok(refused.length >= 4, `refused ${refused.length} of 5`);
    assert.ok(
      metric(server, /^gatehouse_device_connections_refused_total\{listener="https",reason="rate-limit"\}/) >=
        4,
    );
  });
});

describe('device ports: loopback is exempt by default', () => {
  it('200 connects at once from 127.0.0.5 are all admitted', async () => {
    const server = await startTestServer();
    try {
      const sockets = await burst(server.mqtt.port, 200);
      const { refused } = await settle(sockets, 200);
      assert.equal(refused.length, 0);
      for (const s of sockets) s.destroy();
    } finally {
      await server.stop();
    }
  });
});

describe('device ports: connection cap (--max-connections)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ deviceLimits: { maxConnections: 5 } });
  });
  after(async () => server?.stop());

  it('counts sockets across both ports and refuses the sixth on either, before TLS', async () => {
    assert.ok(server.https);
    const mqtt = await burst(server.mqtt.port, 3, '127.0.0.1');
    const https = await burst(server.https.port, 2, '127.0.0.1');
    assert.equal((await settle([...mqtt, ...https], 100)).refused.length, 0);
    const extra = await burst(server.mqtt.port, 1, '127.0.0.1');
    const extraHttps = await burst(server.https.port, 1, '127.0.0.1');
    const r = await settle([...extra, ...extraHttps], 200);
    assert.equal(r.refused.length, 2);
    assert.equal(r.bytes, 0);
    assert.equal(
      metric(
        server,
        /^gatehouse_device_connections_refused_total\{listener="mqtts",reason="max-connections"\}/,
      ),
      1,
    );
    assert.equal(metric(server, /^gatehouse_device_sockets /), 5);
    // A closed one frees its place.
    mqtt[0]!.destroy();
    await sleep(100);
    assert.equal(await tlsAttempt(server.mqtt.port, '127.0.0.1'), 'secure');
    for (const s of [...mqtt, ...https]) s.destroy();
  });
});

describe('device ports: the rate behind a PROXY v2 load balancer', () => {
  it('applies to the header source, not to the balancer', async () => {
    const server = await startTestServer({
      proxyProtocol: 'v2',
      proxyTrusted: ['127.0.0.2/32'],
      deviceLimits: { rateExempt: [], connectBurstPerIp: 3, connectRatePerIp: 1 },
    });
    try {
      const via = (source: string) => {
        const header = encodeProxyV2({
          command: 'proxy',
          source: { address: source, port: 40000 },
          destination: { address: '127.0.0.1', port: server.mqtt.port },
        });
        const s = netConnect({ host: '127.0.0.1', port: server.mqtt.port, localAddress: '127.0.0.2' });
        s.on('error', () => undefined);
        s.write(header);
        return s;
      };
      const first = Array.from({ length: 5 }, () => via('203.0.113.7'));
      const other = Array.from({ length: 3 }, () => via('198.51.100.9'));
      const a = await settle(first, 400);
      const b = await settle(other, 0);
      assert.equal(a.open.length, 3, 'the burst of 3 for 203.0.113.7');
      assert.equal(b.open.length, 3, 'another source behind the same balancer is not affected');
      for (const s of [...first, ...other]) s.destroy();
    } finally {
      await server.stop();
    }
  });
});

describe('rate keys', () => {
  const cases: Array<[string, string]> = [
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
  ];
  for (const [address, key] of cases)
    it(`${address} → ${key} (IPv6 limited per /64)`, () => assert.equal(rateKey(address), key));
});
