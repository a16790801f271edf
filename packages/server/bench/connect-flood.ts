/**
 * `npm run bench -- connect-flood [--seconds S] [--flooders F]`
 *
 * HARDENING.md §8 C3: a connect flood from one address is refused before TLS without taking
 * the server's CPU from legitimate clients. `gatehouse serve` runs in its own process with the
 * default limits (20 connects/s per address, burst 100), 127.0.0.1 exempt (the legitimate
 * clients) and 127.0.0.9 not (the flood). Baseline: 8 legitimate clients doing full TLS
 * handshakes on the MQTT port back to back for S seconds (default 5). Then the same while F
 * flooders (default 64) open TCP connections from 127.0.0.9 as fast as they are closed.
 * Prints the legitimate handshake rate during the flood as a ratio to the baseline (target
 * ≥ 0.8) and the server CPU per refused connection against the CPU per handshake.
 *
 * The flooders run in a child process of their own: in the clients' process they shared one
 * event loop with the legitimate handshakes and slowed them there, not at the server.
 * `--flood-nice N` (default 0) lowers the flood process's priority: on this machine the flood
 * takes CPU from the same cores as the server and the legitimate clients, which a flood from
 * other machines would not; at 19 it only gets what they leave.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { cpus, loadavg, setPriority, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';

import { arg, cpuMillis, startServe } from './util.js';

const SECONDS = arg('seconds', 5);
const FLOODERS = arg('flooders', 64);
const FLOOD_NICE = arg('flood-nice', 0);
const LEGIT = 8;

function handshake(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    s.once('secureConnect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** One flood connection: open, then closed by the server (refused) or by us after 50 ms. */
function floodOnce(port: number): Promise<void> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port, localAddress: '127.0.0.9' });
    s.on('error', () => undefined);
    const timer = setTimeout(() => s.destroy(), 50);
    s.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The server's count of rate-limited connections on the MQTT port, from /metrics. */
async function refusedSoFar(httpPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) =>
      l.startsWith('gatehouse_device_connections_refused_total{listener="mqtts",reason="rate-limit"}'),
    );
  return line ? Number(line.split(' ').pop()) : 0;
}

/** The flood child: F flooders for S seconds on the port; prints the connections it opened. */
async function floodChild(port: number): Promise<void> {
  const until = Date.now() + SECONDS * 1000;
  let attempts = 0;
  await Promise.all(
    Array.from({ length: FLOODERS }, async () => {
      while (Date.now() < until) {
        await floodOnce(port);
        attempts++;
      }
    }),
  );
  process.stdout.write(`${attempts}\n`);
}

/** Starts the flood in its own process; resolves with the connections it opened. */
function startFlood(port: number): Promise<number> {
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(import.meta.url),
      '--flood-child',
      String(port),
      '--seconds',
      String(SECONDS),
      '--flooders',
      String(FLOODERS),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (FLOOD_NICE !== 0) setPriority(child.pid!, FLOOD_NICE);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0 ? resolve(Number(out.trim())) : reject(new Error(`flood process exited ${code}`)),
    ),
  );
}

async function phase(port: number, httpPort: number, pid: number, flood: boolean) {
  const until = Date.now() + SECONDS * 1000;
  let handshakes = 0;
  let failed = 0;
  const refused0 = await refusedSoFar(httpPort);
  const cpu0 = cpuMillis(pid);
  const flooding = flood ? startFlood(port) : Promise.resolve(0);
  const legit = Array.from({ length: LEGIT }, async () => {
    while (Date.now() < until) {
      if (await handshake(port)) handshakes++;
      else failed++;
    }
  });
  await Promise.all(legit);
  const cpuMs = cpuMillis(pid) - cpu0;
  const attempts = await flooding;
  const refused = (await refusedSoFar(httpPort)) - refused0;
  return {
    handshakes,
    failed,
    perSecond: handshakes / SECONDS,
    cpuMs,
    refused,
    admitted: attempts - refused,
  };
}

const floodChildAt = process.argv.indexOf('--flood-child');
if (floodChildAt > 0) await floodChild(Number(process.argv[floodChildAt + 1]));
else await main();

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-flood-'));
  const server = await startServe(dataDir, 'bench-flood-token-0123456789abcdef', [
    '--connect-rate-exempt',
    '127.0.0.1',
  ]);
  try {
    const pid = server.child.pid!;
    console.log(
      `connect-flood: ${LEGIT} legitimate TLS clients from 127.0.0.1 (exempt) for ${SECONDS} s, then the same with ${FLOODERS} flooders from 127.0.0.9 in their own process (nice ${FLOOD_NICE}; default limits 20/s, burst 100); Node ${process.version}, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)}`,
    );
    await phase(server.mqttPort, server.httpPort, pid, false); // warm-up
    const base = await phase(server.mqttPort, server.httpPort, pid, false);
    const flood = await phase(server.mqttPort, server.httpPort, pid, true);
    const cpuPerHandshake = base.cpuMs / Math.max(1, base.handshakes);
    const refusedCpu = Math.max(0, flood.cpuMs - flood.handshakes * cpuPerHandshake);
    const result = {
      seconds: SECONDS,
      flooders: FLOODERS,
      floodNice: FLOOD_NICE,
      baselineHandshakesPerSecond: Number(base.perSecond.toFixed(1)),
      floodHandshakesPerSecond: Number(flood.perSecond.toFixed(1)),
      ratioToBaseline: Number((flood.perSecond / base.perSecond).toFixed(2)),
      legitimateFailed: flood.failed,
      floodRefused: flood.refused,
      floodAdmitted: flood.admitted,
      floodRefusedPerSecond: Number((flood.refused / SECONDS).toFixed(0)),
      serverCpuMsPerHandshake: Number(cpuPerHandshake.toFixed(3)),
      serverCpuMsPerRefusal: Number((refusedCpu / Math.max(1, flood.refused)).toFixed(3)),
    };
    console.log(
      `legitimate handshakes: ${result.baselineHandshakesPerSecond}/s alone, ${result.floodHandshakesPerSecond}/s during the flood (${result.ratioToBaseline}× baseline, target ≥ 0.8); flood: ${result.floodRefused} refused (${result.floodRefusedPerSecond}/s), ${result.floodAdmitted} admitted; server CPU ${result.serverCpuMsPerRefusal} ms per refusal vs ${result.serverCpuMsPerHandshake} ms per handshake`,
    );
    console.log(JSON.stringify(result));
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
