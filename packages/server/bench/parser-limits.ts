/**
 * `npm run bench -- parser-limits [--sockets 1000]`
 *
 * HARDENING.md §8 F4 and F5, measured.
 *
 * F4: a packet whose declared Remaining Length is over the limit (257 KiB) closes the socket on
 * its header, before the body is buffered. `gatehouse serve` runs in its own process; N TLS
 * clients (50 at a time) each send a CONNECT header declaring 10 MiB and 1 KiB of its body. The
 * server's RSS is sampled every 20 ms; the figure is its peak rise (goal: < 16 MiB for 1,000).
 * Baseline in the same run: N TLS clients that connect and leave without sending anything.
 *
 * F5: adversarial sizes parse in linear time, through the gateway in process (the real DPS and
 * hub behind it): a SUBSCRIBE of 100,000 filters (over the size limit: closed on its header),
 * one of 65,000 one-character filters (under it: parsed, checked, refused by the DPS topic
 * policy: a SUBACK of failures; goal < 250 ms), a PUBLISH to a 65,535-level topic (refused;
 * goal < 10 ms) and an MQTT 5 CONNECT (refused). Each is timed three times from its first byte
 * to the connection's close (or its answer), with a one-filter SUBSCRIBE answered by its SUBACK
 * as the baseline.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as tick } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';

import { generate } from 'mqtt-packet';

import { pkt as packet, str, varint } from '../fuzz/mqtt-bytes.js';
import { FuzzStream } from '../fuzz/mqtt-target.js';
import { startFuzzServer, type FuzzServer } from '../fuzz/fuzz-server.js';
import type { MqttPeer } from '../src/gateway/gateway-options.js';
import { handleMqttStream } from '../src/gateway/mqtt-stream.js';
import { arg, rssBytes, startServe } from './util.js';

const SOCKETS = arg('sockets', 1000);
const AT_ONCE = 50;
const MIB = 2 ** 20;

/** One TLS client: sends `bytes` (if any) and resolves with whether the server closed first. */
function client(port: number, bytes: Buffer | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      if (bytes) s.write(bytes);
      else s.end();
    });
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, 5000);
    s.on('error', () => undefined);
    s.resume();
    s.once('close', () => {
      clearTimeout(timer);
      resolve(bytes !== undefined);
    });
  });
}

/** N clients, AT_ONCE at a time; the server's peak RSS rise (MiB) and how many it closed. */
async function rssPhase(port: number, pid: number, bytes: Buffer | undefined) {
  const before = rssBytes(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 20);
  let next = 0;
  let closedByServer = 0;
  await Promise.all(
    Array.from({ length: AT_ONCE }, async () => {
      while (next < SOCKETS) {
        next++;
        if (await client(port, bytes)) closedByServer++;
      }
    }),
  );
  clearInterval(sampler);
  return { riseMiB: Number(((peak - before) / MIB).toFixed(1)), closedByServer };
}

const PEER: MqttPeer = { peerCertificates: [], remoteAddress: '127.0.0.1', transport: 'mqtt' };

/** Milliseconds from the first byte of `bytes` until the connection closed (or answered). */
async function timed(
  fuzz: FuzzServer,
  connect: Buffer | undefined,
  bytes: Buffer,
  until: 'close' | 'answer',
) {
  const stream = new FuzzStream(true);
  const conn = handleMqttStream(stream, PEER, fuzz.server.gateway);
  if (connect) {
    stream.push(connect);
    while (stream.output.length === 0 && !conn.isClosing) await tick();
  }
  const answered = stream.output.length;
  const t0 = performance.now();
  stream.push(bytes);
  for (let i = 0; i < 100_000; i++) {
    if (until === 'close' ? conn.isClosing : stream.output.length > answered) break;
    await tick();
  }
  const ms = performance.now() - t0;
  const outcome = conn.isClosing ? (conn.reason ?? 'closed') : 'answered';
  stream.push(null);
  stream.destroy();
  await conn.closed;
  return { ms: Number(ms.toFixed(2)), outcome };
}

async function parseTimes() {
  const fuzz = await startFuzzServer();
  try {
    const c = fuzz.context;
    const dpsConnect = Buffer.from(
      generate(
        {
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clientId: c.deviceId,
          username: `${c.idScope}/registrations/${c.deviceId}/api-version=2019-03-31`,
          password: Buffer.from(c.dpsSas),
          keepalive: 60,
          clean: true,
        },
        { protocolVersion: 4 },
      ),
    );
    const subscribe = (filters: number, filter: string) =>
      packet(
        0x82,
        Buffer.concat([
          Buffer.from([0, 1]),
          ...Array.from({ length: filters }, () => Buffer.concat([str(filter), Buffer.from([1])])),
        ]),
      );
    const v5 = packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([5, 2, 0, 60, 0]), str('v5-client')]));
    const deepTopic = packet(0x30, Buffer.concat([str('/'.repeat(65_534)), Buffer.from('{}')]));
    // Warm the code paths once; then each case three times (the first of a kind pays for
    // compiling its code paths).
    await timed(fuzz, dpsConnect, subscribe(1, '$dps/registrations/res/#'), 'answer');
    const thrice = async (connect: Buffer | undefined, bytes: Buffer, until: 'close' | 'answer') => {
      const runs = [];
      for (let i = 0; i < 3; i++) runs.push(await timed(fuzz, connect, bytes, until));
      return { bytes: bytes.length, ms: runs.map((r) => r.ms), outcome: runs[0]!.outcome };
    };
    return {
      baselineOneFilterSubscribe: await thrice(
        dpsConnect,
        subscribe(1, '$dps/registrations/res/#'),
        'answer',
      ),
      subscribe100kFilters: await thrice(dpsConnect, subscribe(100_000, 'a'), 'close'),
      subscribe65kFilters: await thrice(dpsConnect, subscribe(65_000, 'a'), 'answer'),
      publish65535Levels: await thrice(dpsConnect, deepTopic, 'close'),
      mqtt5Connect: await thrice(undefined, v5, 'close'),
    };
  } finally {
    await fuzz.stop();
  }
}

const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-parser-'));
const server = await startServe(dataDir, 'bench-parser-token-0123456789abcdef', []);
try {
  console.log(
    `parser-limits: F4 with ${SOCKETS} TLS sockets (${AT_ONCE} at once) against gatehouse serve; F5 in process; Node ${process.version}, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)}`,
  );
  const pid = server.child.pid!;
  await rssPhase(server.mqttPort, pid, undefined); // warm-up
  const baseline = await rssPhase(server.mqttPort, pid, undefined);
  // CONNECT declaring 10 MiB, then 1 KiB of what would be its body.
  const oversized = Buffer.concat([Buffer.from([0x10]), varint(10 * MIB), Buffer.alloc(1024, 0x61)]);
  const flood = await rssPhase(server.mqttPort, pid, oversized);
  const f5 = await parseTimes();
  const result = {
    sockets: SOCKETS,
    baselineRssRiseMiB: baseline.riseMiB,
    oversizedRssRiseMiB: flood.riseMiB,
    oversizedClosedByServer: flood.closedByServer,
    ...f5,
  };
  console.log(
    `F4: ${SOCKETS} CONNECTs declaring 10 MiB: ${flood.closedByServer} closed by the server, RSS peak +${flood.riseMiB} MiB (goal < 16; ${SOCKETS} plain TLS connections in the same run: +${baseline.riseMiB} MiB)`,
  );
  console.log(
    `F5 (ms, three runs each): SUBSCRIBE of 100,000 filters ${f5.subscribe100kFilters.ms.join(' / ')} (${f5.subscribe100kFilters.outcome}); of 65,000 filters ${f5.subscribe65kFilters.ms.join(' / ')} (${f5.subscribe65kFilters.outcome}; goal < 250); 65,535-level topic ${f5.publish65535Levels.ms.join(' / ')} (${f5.publish65535Levels.outcome}; goal < 10); MQTT 5 CONNECT ${f5.mqtt5Connect.ms.join(' / ')} (${f5.mqtt5Connect.outcome}); baseline: a one-filter SUBSCRIBE answered in ${f5.baselineOneFilterSubscribe.ms.join(' / ')}`,
  );
  console.log(JSON.stringify(result));
} finally {
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}
