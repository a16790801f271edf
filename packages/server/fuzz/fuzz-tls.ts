/**
 * `npm run fuzz -- mqtt-tls`: fuzzed conversations over the real TLS listener on loopback
 * (target F2 of HARDENING.md §8): after every batch the process is alive, a well-formed device
 * still connects, and the resident memory stays within the baseline + 64 MiB.
 */
import { connect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';

import fc from 'fast-check';

import { batches, FuzzRecorder, type FuzzReport } from './fuzz-report.js';
import type { FuzzServer } from './fuzz-server.js';
import { mqttInputs } from './fuzz-mqtt.js';
import { chunked, countPackets } from './mutate.js';

export const RSS_ALLOWANCE_BYTES = 64 * 1024 * 1024;
/** Inputs generated at once. */
const GENERATE = 1000;

export interface TlsFuzzOptions {
  fuzz: FuzzServer;
  runs: number;
  seed: number;
  /** Inputs between health checks (default 10,000). */
  batch?: number;
  /** Sockets open at once. */
  parallel?: number;
}

function open(port: number, secureContext: SecureContext): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, secureContext, servername: 'localhost' }, () =>
      resolve(socket),
    );
    socket.once('error', reject);
  });
}

/** Writes the chunks, waits for the server to answer or close (at most 200 ms), then leaves. */
async function send(port: number, context: SecureContext, chunks: readonly Uint8Array[]): Promise<void> {
  const socket = await open(port, context);
  socket.on('error', () => undefined);
  socket.resume();
  for (const chunk of chunks) socket.write(chunk);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 200);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  socket.destroy();
}

export async function fuzzMqttOverTls(o: TlsFuzzOptions): Promise<FuzzReport> {
  const { server, context } = o.fuzz;
  // One client context for every connection (built per connection, parsing the CA was a good
  // part of the fuzzer's own CPU, which shares the server's process).
  const tls = createSecureContext({ ca: readFileSync(server.serverCaPath!) });
  const rec = new FuzzRecorder('mqtt-tls', o.seed);
  const arbitrary = mqttInputs(context);
  const size = o.batch ?? 10_000;
  const parallel = o.parallel ?? 32;
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  let healthChecks = 0;
  let packets = 0;
  for (const { count, first } of batches(o.runs, size)) {
    // Inputs are made 1,000 at a time: a whole batch held at once was tens of MiB of the
    // fuzzer's own memory, counted in the RSS the oracle holds against the server.
    for (const chunk of batches(count, GENERATE)) {
      const start = first + chunk.first;
      const inputs = fc.sample(arbitrary, { numRuns: chunk.count, seed: o.seed + start });
      let next = 0;
      const worker = async () => {
        while (next < inputs.length) {
          const i = next++;
          const [bytes, cutPoints] = inputs[i]!;
          rec.begin(start + i);
          packets += countPackets(bytes);
          try {
            await send(server.mqtt.port, tls, chunked(bytes, cutPoints));
          } catch (err) {
            rec.add('connect-failed', err instanceof Error ? err.message : String(err), start + i, bytes);
          }
        }
      };
      await Promise.all(Array.from({ length: parallel }, worker));
    }
    try {
      await o.fuzz.goodClientConnects();
      healthChecks++;
    } catch (err) {
      rec.add('good-client-refused', err instanceof Error ? err.message : String(err), first + count);
    }
    global.gc?.();
    const rss = process.memoryUsage().rss;
    peak = Math.max(peak, rss);
    if (rss > baseline + RSS_ALLOWANCE_BYTES)
      rec.add(
        'rss-growth',
        `${((rss - baseline) / 2 ** 20).toFixed(1)} MiB over the baseline`,
        first + count,
      );
  }
  const mib = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;
  return rec.finish({
    parallel,
    packets,
    healthChecks,
    baselineRssMiB: mib(baseline),
    peakRssMiB: mib(peak),
  });
}
