/**
 * Churn (HARDENING.md §8 S2): C connect/disconnect cycles from K parallel clients (K X.509
 * devices, each cycle a full TLS handshake, CONNECT, CONNACK, DISCONNECT, and the socket's
 * close awaited before the device's next cycle) against `gatehouse serve` in its own process.
 * After a warm-up of 5% of the cycles, reported: the server's open file descriptors before
 * and after (goal 0 leaked), the hub's
 * session gauges after (goal 0), RSS before and after (goal within +5%) and after a full GC,
 * and cycles/s. The baseline, in the same run: the same churn against mosquitto (its rate and
 * its descriptors before and after).
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';

import { makeFleet, type Fleet } from '../bench/fleet.js';
import { LeanClient } from '../bench/lean-client.js';
import { mosquittoAvailable } from '../bench/mosquitto.js';
import { rssBytes } from '../bench/util.js';
import {
  openFds,
  startBaselineBroker,
  startServerUnderTest,
  waitFor,
  type ServerMetrics,
} from './server-under-test.js';
import { round, type Target } from './telemetry-load.js';

export interface ChurnOptions {
  cycles: number;
  parallel: number;
  postgres: boolean;
  /** Cycles of the mosquitto run (0: none). */
  baselineCycles: number;
  log?: (line: string) => void;
}

export interface CycleRun {
  cycles: number;
  failures: number;
  seconds: number;
  perSecond: number;
}

export interface ChurnResult {
  mode: 'churn';
  store: 'sqlite' | 'postgres';
  parallel: number;
  run: CycleRun;
  warmUpCycles: number;
  /** Open descriptors but idle REST keep-alive connections of the harness (and with them). */
  fds: {
    before: number;
    after: number;
    leaked: number;
    includingRestKeepAlive: { before: number; after: number };
  };
  sessions: { before: ServerMetrics; after: ServerMetrics };
  rss: { beforeMiB: number; afterMiB: number; ratio: number };
  heapAfterGc: { beforeMiB: number; afterMiB: number; ratio: number };
  mosquitto?: { run: CycleRun; fds: { before: number; after: number; leaked: number } };
  rateRatioToMosquitto?: number;
}

const MIB = 2 ** 20;

/** `cycles` connect/disconnect cycles, `fleet.devices.length` at a time (one device per worker). */
async function cycle(
  fleet: Fleet,
  target: Target,
  cycles: number,
  log: (l: string) => void,
): Promise<CycleRun> {
  let started = 0;
  let failures = 0;
  let done = 0;
  const t0 = performance.now();
  const step = Math.max(1000, Math.round(cycles / 10));
  await Promise.all(
    fleet.devices.map(async (d) => {
      const u = target.username(d.id);
      while (started < cycles) {
        started++;
        try {
          const c = await LeanClient.connect({
            host: '127.0.0.1',
            port: target.port,
            tls: { ca: target.ca, cert: d.cert, key: d.key, servername: 'localhost' },
            clientId: d.id,
            clean: target.clean,
            connectTimeoutMs: 30_000,
            ...(u ? { username: u } : {}),
          });
          c.end();
          await c.gone;
        } catch {
          failures++;
        }
        if (++done % step === 0)
          log(`  ${done} cycles, ${(done / ((performance.now() - t0) / 1000)).toFixed(0)}/s`);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { cycles: done, failures, seconds: round(seconds, 1), perSecond: round(done / seconds, 1) };
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runChurn(o: ChurnOptions): Promise<ChurnResult> {
  const log = o.log ?? (() => {});
  log(
    `churn: ${o.cycles} connect/disconnect cycles, ${o.parallel} in parallel, store ${o.postgres ? 'postgres' : 'sqlite'}; ${cpus().length} cores, Node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const fleet = await makeFleet(o.parallel, 'churn');
  const server = await startServerUnderTest(fleet, o.postgres);
  try {
    const target: Target = {
      port: server.serve.mqttPort,
      ca: server.tls.ca,
      username: (id) => `localhost/${id}/?api-version=2021-04-12`,
      clean: true,
    };
    // Warm-up (5% of the cycles, at least one per device): lazily opened files (WAL, logs)
    // and the heap's and allocator's first growth belong to the baseline, not to churn.
    const warmUp = Math.max(o.parallel, Math.round(o.cycles / 20));
    await cycle(fleet, target, warmUp, () => {});
    await settle(2000);
    const fdsBefore = server.fdsButRest();
    const fdsBeforeAll = server.openFds();
    const rssBefore = server.rss();
    const heapBefore = (await server.memory()).heapUsed;
    const sessionsBefore = await server.metrics();
    log(`gatehouse (pid ${server.pid}): ${fdsBefore} open fds, RSS ${(rssBefore / MIB).toFixed(1)} MiB`);

    const run = await cycle(fleet, target, o.cycles, log);
    let sessionsAfter = sessionsBefore;
    await waitFor(async () => {
      sessionsAfter = await server.metrics();
      return sessionsAfter.mqttConnections === 0 && sessionsAfter.hubConnectedDevices === 0;
    }, 15_000);
    // Descriptors return once the server has seen the last sockets close.
    let fdsAfter = server.fdsButRest();
    await waitFor(async () => (fdsAfter = server.fdsButRest()) <= fdsBefore, 10_000);
    const fdsAfterAll = server.openFds();
    const rssAfter = server.rss();
    const heapAfter = (await server.memory()).heapUsed;
    log(
      `  ${run.cycles} cycles in ${run.seconds} s (${run.perSecond}/s), ${run.failures} failed; fds ${fdsBefore} → ${fdsAfter}, RSS ${(rssBefore / MIB).toFixed(1)} → ${(rssAfter / MIB).toFixed(1)} MiB, heap after GC ${(heapBefore / MIB).toFixed(1)} → ${(heapAfter / MIB).toFixed(1)} MiB, sessions after ${sessionsAfter.hubConnectedDevices} (hub) / ${sessionsAfter.mqttConnections} (MQTT)`,
    );
    const result: ChurnResult = {
      mode: 'churn',
      store: server.store,
      parallel: o.parallel,
      run,
      warmUpCycles: warmUp,
      fds: {
        before: fdsBefore,
        after: fdsAfter,
        leaked: fdsAfter - fdsBefore,
        includingRestKeepAlive: { before: fdsBeforeAll, after: fdsAfterAll },
      },
      sessions: { before: sessionsBefore, after: sessionsAfter },
      rss: {
        beforeMiB: round(rssBefore / MIB, 1),
        afterMiB: round(rssAfter / MIB, 1),
        ratio: round(rssAfter / rssBefore, 3),
      },
      heapAfterGc: {
        beforeMiB: round(heapBefore / MIB, 1),
        afterMiB: round(heapAfter / MIB, 1),
        ratio: round(heapAfter / heapBefore, 3),
      },
    };

    if (o.baselineCycles > 0 && mosquittoAvailable()) {
      const { broker, target: mTarget } = await startBaselineBroker(server, fleet);
      try {
        const pid = broker.child.pid!;
        await cycle(fleet, mTarget, Math.max(o.parallel, Math.round(o.baselineCycles / 20)), () => {});
        await settle(1000);
        const before = openFds(pid);
        log(`mosquitto (pid ${pid}): ${before} open fds, RSS ${(rssBytes(pid) / MIB).toFixed(1)} MiB`);
        const m = await cycle(fleet, mTarget, o.baselineCycles, log);
        await settle(1000);
        const after = openFds(pid);
        log(
          `  ${m.cycles} cycles in ${m.seconds} s (${m.perSecond}/s), ${m.failures} failed; fds ${before} → ${after}`,
        );
        result.mosquitto = { run: m, fds: { before, after, leaked: after - before } };
        result.rateRatioToMosquitto = round(run.perSecond / m.perSecond);
      } finally {
        await broker.stop();
      }
    } else if (o.baselineCycles > 0) {
      log('mosquitto is not installed (apt-get install mosquitto): no baseline in this run');
    }
    return result;
  } finally {
    await server.stop();
  }
}
