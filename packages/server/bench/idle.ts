/**
 * `npm run bench -- idle [--devices K] [--idle-seconds S] [--heap-snapshot DIR]`
 *
 * K idle devices (default 5,000) hold an authenticated MQTT/TLS connection to
 * `gatehouse serve` (its own process); prints the server's resident memory per
 * connection, and the same for mosquitto under the same load generator.
 * The headline is measured 3 s after the last connection (as since the first
 * round); each server's RSS is read again after S seconds idle (default 30), to
 * see whether memory grown by the burst of handshakes (V8's young generation,
 * malloc arenas) is given back once the connections sit idle, and that ratio is
 * printed beside it. The breakdown is taken after that wait.
 *
 * The breakdown beside it comes from a probe loaded into the server (`--import` of a
 * data: URL, `--expose-gc`) that answers SIGUSR2 with `process.memoryUsage()` after a full
 * collection, read after the RSS figures so they stay as they were measured before: JS heap,
 * external memory (Buffers) and the rest of the RSS (native: OpenSSL, libuv, malloc).
 * `--heap-snapshot DIR` also writes a V8 heap snapshot there with the devices connected.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_TOKEN, enrollFleet, makeFleet, serverTls, type Fleet } from './fleet.js';
import { LeanClient } from './lean-client.js';
import { MEMORY_PROBE_NODE_ARGS, probeMemory as probe } from './memory-probe.js';
import { mosquittoAvailable, startMosquitto } from './mosquitto.js';
import { arg, rssBytes, startServe } from './util.js';

const K = arg('devices', 5000);
const IDLE_SECONDS = arg('idle-seconds', 30);
const SNAPSHOT_DIR = (() => {
  const i = process.argv.indexOf('--heap-snapshot');
  return i >= 0 ? process.argv[i + 1] : undefined;
})();

async function connectMany(
  fleet: Fleet,
  port: number,
  ca: Buffer,
  username: (id: string) => string | undefined,
): Promise<LeanClient[]> {
  const clients: LeanClient[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < fleet.devices.length) {
        const d = fleet.devices[next++]!;
        const u = username(d.id);
        clients.push(
          await LeanClient.connect({
            host: '127.0.0.1',
            port,
            tls: { ca, cert: d.cert, key: d.key, servername: 'localhost' },
            clientId: d.id,
            clean: false,
            ...(u ? { username: u } : {}),
          }),
        );
      }
    }),
  );
  return clients;
}

const SETTLE_MS = 3000;

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, SETTLE_MS));
}

/** The RSS once the connections have been idle for IDLE_SECONDS (counting the settle). */
async function idleRss(pid: number): Promise<number> {
  await new Promise((r) => setTimeout(r, Math.max(0, IDLE_SECONDS * 1000 - SETTLE_MS)));
  return rssBytes(pid);
}

const KIB = 1024;
const MIB = 2 ** 20;
const kib = (bytes: number) => Number((bytes / KIB).toFixed(1));

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-'));
  const memoryFile = join(dataDir, 'memory.json');
  process.env['GATEHOUSE_BENCH_MEMORY_FILE'] = memoryFile;
  if (SNAPSHOT_DIR) process.env['GATEHOUSE_BENCH_SNAPSHOT_DIR'] = SNAPSHOT_DIR;
  process.stdout.write(
    `idle benchmark: ${K} connected devices (EC P-256 client certificates, MQTT 3.1.1 over TLS, keep-alive 180 s), Node ${process.version}\n`,
  );
  const fleet = await makeFleet(K, 'idle');
  const server = await startServe(dataDir, BENCH_TOKEN, [], MEMORY_PROBE_NODE_ARGS);
  const result: Record<string, unknown> = { devices: K, node: process.version };
  try {
    await enrollFleet(server, fleet);
    const tls = await serverTls(server, dataDir);
    await settle();
    const before = rssBytes(server.child.pid!);
    const heapBefore = await probe(server.child.pid!, memoryFile, false);
    const clients = await connectMany(
      fleet,
      server.mqttPort,
      tls.ca,
      (id) => `localhost/${id}/?api-version=2021-04-12`,
    );
    await settle();
    const after = rssBytes(server.child.pid!);
    const afterIdle = await idleRss(server.child.pid!);
    const heapAfter = await probe(server.child.pid!, memoryFile, SNAPSHOT_DIR !== undefined);
    const n = clients.length;
    const perConnection = (after - before) / n;
    const js = (heapAfter.heapUsed - heapBefore.heapUsed) / n;
    const external = (heapAfter.external - heapBefore.external) / n;
    const rssGc = (heapAfter.rss - heapBefore.rss) / n;
    const heapReserved = (heapAfter.heapTotal - heapBefore.heapTotal) / n;
    result['gatehouse'] = {
      connected: n,
      rssBeforeMiB: Number((before / MIB).toFixed(1)),
      rssAfterMiB: Number((after / MIB).toFixed(1)),
      bytesPerConnection: Math.round(perConnection),
      idleSeconds: IDLE_SECONDS,
      bytesPerConnectionIdle: Math.round((afterIdle - before) / n),
      breakdownKiBPerConnection: {
        rssAfterGc: kib(rssGc),
        jsHeapUsed: kib(js),
        jsHeapReserved: kib(heapReserved),
        external: kib(external),
        nativeRest: kib(rssGc - heapReserved - external),
      },
      projectedGiBFor100k: Number(((before + perConnection * 100_000) / 2 ** 30).toFixed(2)),
      ...(heapAfter.snapshot ? { heapSnapshot: heapAfter.snapshot } : {}),
    };
    process.stdout.write(
      [
        `gatehouse   ${n} connected, RSS ${(before / MIB).toFixed(0)} → ${(after / MIB).toFixed(0)} MiB, ${(perConnection / KIB).toFixed(1)} KiB per connection`,
        `  after ${IDLE_SECONDS} s idle: RSS ${(afterIdle / MIB).toFixed(0)} MiB, ${((afterIdle - before) / n / KIB).toFixed(1)} KiB per connection`,
        `  per connection after a full GC: RSS ${kib(rssGc)} KiB = JS heap ${kib(heapReserved)} KiB reserved (${kib(js)} KiB live)`,
        `  + external (Buffers) ${kib(external)} KiB + native rest (OpenSSL, libuv, malloc) ${kib(rssGc - heapReserved - external)} KiB`,
        `  100,000 devices: ${(result['gatehouse'] as { projectedGiBFor100k: number }).projectedGiBFor100k} GiB projected`,
        ...(heapAfter.snapshot ? [`  heap snapshot ${heapAfter.snapshot}`] : []),
        '',
      ].join('\n'),
    );
    clients.forEach((c) => c.destroy());
    if (mosquittoAvailable()) {
      const rootFile = join(dataDir, 'bench-root.pem');
      await writeFile(rootFile, fleet.root.certificate.pem);
      const broker = await startMosquitto(dataDir, {
        cafile: rootFile,
        certfile: tls.certfile,
        keyfile: tls.keyfile,
      });
      try {
        const mBefore = rssBytes(broker.child.pid!);
        const mclients = await connectMany(fleet, broker.port, tls.ca, () => undefined);
        await settle();
        const mAfter = rssBytes(broker.child.pid!);
        const mPer = (mAfter - mBefore) / mclients.length;
        const mPerIdle = ((await idleRss(broker.child.pid!)) - mBefore) / mclients.length;
        result['mosquitto'] = {
          connected: mclients.length,
          bytesPerConnection: Math.round(mPer),
          bytesPerConnectionIdle: Math.round(mPerIdle),
        };
        result['ratio'] = Number((perConnection / mPer).toFixed(2));
        result['ratioIdle'] = Number(((afterIdle - before) / n / mPerIdle).toFixed(2));
        process.stdout.write(
          `mosquitto   ${mclients.length} connected, ${(mPer / 1024).toFixed(1)} KiB per connection (ratio ${String(result['ratio'])}, goal ≤ 2); ` +
            `after ${IDLE_SECONDS} s idle ${(mPerIdle / 1024).toFixed(1)} KiB (ratio ${String(result['ratioIdle'])})\n`,
        );
        mclients.forEach((c) => c.destroy());
      } finally {
        await broker.stop();
      }
    }
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

await main();
