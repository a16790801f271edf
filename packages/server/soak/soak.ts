/**
 * Soak (HARDENING.md §8 S1): N X.509 devices each send one QoS 1 message per second for M
 * minutes to `gatehouse serve` in its own process. Reported: errors (connect failures,
 * disconnects, PUBACK timeouts), the server's RSS at 10% of the run and at the end and their
 * ratio (goal ≤ 1.10), its heap after a full GC at the end of each tenth (and the slope of a
 * line through them, discarding the first tenth as warm-up), PUBACK latency p50/p99 per tenth
 * and last/first (goal within ±20%), and messages sent, acknowledged and stored (rows of the
 * telemetry table: 0 lost). The baseline, in the same run: mosquitto under the same load for
 * `baselineSeconds` (RSS ratio and latency drift of a C broker that stores nothing).
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';

import { makeFleet, type Fleet } from '../bench/fleet.js';
import { mosquittoAvailable } from '../bench/mosquitto.js';
import { cpuMillis, rssBytes } from '../bench/util.js';
import { startBaselineBroker, startServerUnderTest, waitFor } from './server-under-test.js';
import { FleetConnections, round, type LoadErrors, type LoadRun, type Target } from './telemetry-load.js';

export interface SoakOptions {
  devices: number;
  seconds: number;
  /** New connections per second while the fleet connects. */
  connectRate: number;
  postgres: boolean;
  /** Length of the mosquitto run (0: none). */
  baselineSeconds: number;
  ackTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface TenthFigures {
  p50Ms: number;
  p99Ms: number;
  sent: number;
  acknowledged: number;
  rssMiB: number;
  heapUsedAfterGcMiB?: number;
  serverCpuShare: number;
  loadAverage: number;
}

export interface DriftFigures {
  tenths: TenthFigures[];
  rssAt10PercentMiB: number;
  rssEndMiB: number;
  /** RSS at the end / RSS at 10% (goal ≤ 1.10). */
  rssRatio: number;
  /** p99 of the last tenth / p99 of the first (goal 0.8–1.2). */
  p99LastToFirst: number;
  p50LastToFirst: number;
  /** Server CPU time per message sent (what N × 1 msg/s costs in cores: N × this / 1e6). */
  serverCpuUsPerMessage: number;
  generatorCpuShare: number;
}

export interface SoakResult extends DriftFigures {
  mode: 'soak';
  store: 'sqlite' | 'postgres';
  devices: number;
  seconds: number;
  connectSeconds: number;
  errors: LoadErrors & { total: number };
  messages: {
    sent: number;
    acknowledged: number;
    lateAcks: number;
    /** Acknowledged while the server was probed (after a forced GC): not in the latency figures. */
    probeOverlaps: number;
    stored: number;
    storedCounter: number;
    lost: number;
  };
  heap?: { afterGcAt10PercentMiB: number; afterGcEndMiB: number; slopePercentPerHour: number };
  sessionsAfter: { mqttConnections: number; hubConnectedDevices: number };
  mosquitto?: DriftFigures & { seconds: number; errors: LoadErrors };
  rssRatioToMosquitto?: number;
}

const MIB = 2 ** 20;

/** Least-squares slope of y over x. */
function slope(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (x[i]! - mx) * (y[i]! - my);
    den += (x[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Runs the load against one broker, sampling it at the end of each tenth. */
async function drift(
  fleet: Fleet,
  target: Target,
  pid: number,
  o: SoakOptions,
  heapAfterGc?: () => Promise<number>,
): Promise<{ figures: DriftFigures; errors: LoadErrors; run: LoadRun; connectSeconds: number }> {
  const log = o.log ?? (() => {});
  const c0 = performance.now();
  const conns = await FleetConnections.open(fleet, target, o.connectRate, (k) => log(`  ${k} connected`));
  const connectSeconds = round((performance.now() - c0) / 1000, 1);
  log(`  ${conns.connected} of ${fleet.devices.length} connected in ${connectSeconds} s`);
  const samples: Array<{ rss: number; heap?: number; cpuShare: number; load: number }> = [];
  let cpuPrev = cpuMillis(pid);
  let tPrev = performance.now();
  const run = await conns.publish(o.seconds, o.ackTimeoutMs ?? 10_000, async (k, status) => {
    const rss = rssBytes(pid);
    const cpu = cpuMillis(pid);
    const now = performance.now();
    const cpuShare = (cpu - cpuPrev) / (now - tPrev);
    cpuPrev = cpu;
    tPrev = now;
    const heap = heapAfterGc ? await heapAfterGc() : undefined;
    samples[k - 1] = { rss, ...(heap !== undefined ? { heap } : {}), cpuShare, load: loadavg()[0]! };
    log(
      `  tenth ${k}: RSS ${(rss / MIB).toFixed(1)} MiB${heap !== undefined ? `, heap after GC ${(heap / MIB).toFixed(1)} MiB` : ''}, server CPU ${(cpuShare * 100).toFixed(0)}%, load ${loadavg()[0]!.toFixed(1)}; ${status.acknowledged} of ${status.sent} acknowledged, ${status.outstanding} awaiting PUBACK, errors ${status.errors.connectFailures + status.errors.disconnects + status.errors.pubackTimeouts}`,
    );
  });
  await conns.close();
  const tenths = run.tenths.map((t, k) => ({
    ...t,
    rssMiB: round(samples[k]!.rss / MIB, 1),
    ...(samples[k]!.heap !== undefined ? { heapUsedAfterGcMiB: round(samples[k]!.heap! / MIB, 1) } : {}),
    serverCpuShare: round(samples[k]!.cpuShare),
    loadAverage: round(samples[k]!.load),
  }));
  const first = tenths[0]!;
  const last = tenths[9]!;
  return {
    figures: {
      tenths,
      rssAt10PercentMiB: first.rssMiB,
      rssEndMiB: last.rssMiB,
      rssRatio: round(last.rssMiB / first.rssMiB, 3),
      p99LastToFirst: round(last.p99Ms / first.p99Ms),
      p50LastToFirst: round(last.p50Ms / first.p50Ms),
      serverCpuUsPerMessage: round(
        (samples.reduce((a, x) => a + x.cpuShare, 0) * ((o.seconds * 1000) / 10) * 1000) /
          Math.max(1, run.sent),
        1,
      ),
      generatorCpuShare: run.generatorCpuShare,
    },
    errors: conns.errors,
    run,
    connectSeconds,
  };
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const log = o.log ?? (() => {});
  log(
    `soak: ${o.devices} devices × 1 QoS 1 message/s for ${o.seconds} s (connects at ${o.connectRate}/s), store ${o.postgres ? 'postgres' : 'sqlite'}; ${cpus().length} cores, Node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const fleet = await makeFleet(o.devices, 'soak');
  const server = await startServerUnderTest(fleet, o.postgres);
  let result: SoakResult;
  try {
    log(`gatehouse (pid ${server.pid}): ${o.devices} devices enrolled`);
    const target: Target = {
      port: server.serve.mqttPort,
      ca: server.tls.ca,
      username: (id) => `localhost/${id}/?api-version=2021-04-12`,
      clean: false,
    };
    const heapAt: number[] = [];
    const g = await drift(fleet, target, server.pid, o, async () => {
      const m = await server.memory();
      heapAt.push(m.heapUsed);
      return m.heapUsed;
    });
    const stored = await server.storedMessages();
    const metrics = await server.metrics();
    // The slope over tenths 2–10 (HARDENING.md §5: the first tenth is warm-up), per hour.
    const hours = heapAt.slice(1).map((_, k) => ((k + 2) * o.seconds) / 10 / 3600);
    const perHour = heapAt.length === 10 ? slope(hours, heapAt.slice(1)) : NaN;
    const meanHeap = heapAt.slice(1).reduce((a, b) => a + b, 0) / Math.max(1, heapAt.length - 1);
    const total = g.errors.connectFailures + g.errors.disconnects + g.errors.pubackTimeouts;
    result = {
      mode: 'soak',
      store: server.store,
      devices: o.devices,
      seconds: o.seconds,
      connectSeconds: g.connectSeconds,
      errors: { ...g.errors, total },
      messages: {
        sent: g.run.sent,
        acknowledged: g.run.acknowledged,
        lateAcks: g.run.lateAcks,
        probeOverlaps: g.run.probeOverlaps,
        stored,
        storedCounter: metrics.telemetryStored,
        lost: Math.max(0, g.run.acknowledged + g.run.lateAcks - stored),
      },
      ...g.figures,
      ...(heapAt.length === 10
        ? {
            heap: {
              afterGcAt10PercentMiB: round(heapAt[0]! / MIB, 1),
              afterGcEndMiB: round(heapAt[9]! / MIB, 1),
              slopePercentPerHour: round((perHour / meanHeap) * 100, 1),
            },
          }
        : {}),
      sessionsAfter: { mqttConnections: -1, hubConnectedDevices: -1 },
    };
    let after = metrics;
    await waitFor(async () => {
      after = await server.metrics();
      return after.mqttConnections === 0 && after.hubConnectedDevices === 0;
    }, 10_000);
    result.sessionsAfter = {
      mqttConnections: after.mqttConnections,
      hubConnectedDevices: after.hubConnectedDevices,
    };

    if (o.baselineSeconds > 0 && mosquittoAvailable()) {
      const { broker, target: mTarget } = await startBaselineBroker(server, fleet);
      try {
        log(`mosquitto (pid ${broker.child.pid}), the same load for ${o.baselineSeconds} s`);
        const m = await drift(fleet, mTarget, broker.child.pid!, { ...o, seconds: o.baselineSeconds });
        result.mosquitto = { ...m.figures, seconds: o.baselineSeconds, errors: m.errors };
        result.rssRatioToMosquitto = round(result.rssEndMiB / m.figures.rssEndMiB);
      } finally {
        await broker.stop();
      }
    } else if (o.baselineSeconds > 0) {
      log('mosquitto is not installed (apt-get install mosquitto): no baseline in this run');
    }
  } finally {
    await server.stop();
  }
  return result;
}
