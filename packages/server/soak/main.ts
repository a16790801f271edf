/**
 * `npm run soak -- [soak|churn] [options]`: the long-running checks of HARDENING.md §8 S1–S2,
 * run by hand (they take minutes; CI runs a short version, test/soak-short.test.ts).
 *
 *   soak   --devices N (10000) --minutes M (10) [--seconds S instead] --connect-rate R (200/s)
 *          --baseline-minutes B (2; 0: no mosquitto run) [--postgres]
 *   churn  --cycles C (100000) --parallel K (50) --baseline-cycles B (10000; 0: none) [--postgres]
 *
 * Without a mode both run, soak first. Prints its conditions, progress, a summary with the
 * goals, and one JSON object of the figures last (the benchmark contract of scripts/bench.mjs).
 * `--postgres` needs GATEHOUSE_BENCH_DATABASE_URL or GATEHOUSE_TEST_DATABASE_URL.
 */
import { cpus, loadavg, totalmem } from 'node:os';

import { arg } from '../bench/util.js';
import { runChurn, type ChurnResult } from './churn.js';
import { runSoak, type SoakResult } from './soak.js';

const mode = process.argv[2]?.startsWith('--') === false ? process.argv[2] : 'both';
if (!['soak', 'churn', 'both'].includes(mode)) {
  console.error(
    'usage: npm run soak -- [soak|churn] [--devices N --minutes M | --cycles C --parallel K] [--postgres]',
  );
  process.exit(2);
}
const postgres = process.argv.includes('--postgres');
const log = (line: string) => console.log(line);
const load = () => loadavg().map((l) => Number(l.toFixed(2)));

const conditions = {
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  loadAverageAtStart: load(),
};
console.log(
  `conditions: Node ${conditions.node}, ${conditions.cores} × ${conditions.cpu}, ${conditions.memoryGiB} GiB, load average ${conditions.loadAverageAtStart.join(' ')}`,
);

const ok = (good: boolean) => (good ? 'ok' : 'MISSED');
let soak: SoakResult | undefined;
let churn: ChurnResult | undefined;

if (mode !== 'churn') {
  const seconds = arg('seconds', arg('minutes', 10) * 60);
  soak = await runSoak({
    devices: arg('devices', 10_000),
    seconds,
    connectRate: arg('connect-rate', 200),
    postgres,
    baselineSeconds: Math.min(seconds, arg('baseline-minutes', 2) * 60),
    log,
  });
  const s = soak;
  const t = s.tenths;
  console.log(
    [
      '',
      `soak: ${s.devices} devices × ${s.seconds} s, store ${s.store}`,
      `  errors ${s.errors.total} (connect ${s.errors.connectFailures}, disconnects ${s.errors.disconnects}, PUBACK timeouts ${s.errors.pubackTimeouts}): ${ok(s.errors.total === 0)}`,
      `  messages sent ${s.messages.sent}, acknowledged ${s.messages.acknowledged}, stored ${s.messages.stored} (counter ${s.messages.storedCounter}), lost ${s.messages.lost}: ${ok(s.messages.lost === 0)}`,
      `  RSS ${s.rssAt10PercentMiB} MiB at 10% → ${s.rssEndMiB} MiB at the end, ratio ${s.rssRatio} (goal ≤ 1.10): ${ok(s.rssRatio <= 1.1)}`,
      s.heap
        ? `  heap after GC ${s.heap.afterGcAt10PercentMiB} → ${s.heap.afterGcEndMiB} MiB, slope ${s.heap.slopePercentPerHour}%/h of its mean (tenths 2–10)`
        : '  heap after GC: not measured',
      `  PUBACK latency p50/p99 per tenth (ms): ${t.map((x) => `${x.p50Ms}/${x.p99Ms}`).join('  ')}`,
      `  (${s.messages.probeOverlaps} messages in flight during the heap probes, a forced GC in the server, left out of the latency figures)`,
      `  p99 last/first ${s.p99LastToFirst} (goal 0.8–1.2): ${ok(s.p99LastToFirst >= 0.8 && s.p99LastToFirst <= 1.2)}; p50 last/first ${s.p50LastToFirst}`,
      `  messages sent per tenth: ${t.map((x) => x.sent).join(' ')} (target ${(s.devices * s.seconds) / 10}); load generator CPU ${Math.round(s.generatorCpuShare * 100)}% of a core`,
      `  server CPU ${s.serverCpuUsPerMessage} µs per message: ${s.devices} devices × 1 msg/s take ${((s.serverCpuUsPerMessage * s.devices) / 1e6).toFixed(2)} cores, 10,000 would take ${((s.serverCpuUsPerMessage * 10_000) / 1e6).toFixed(2)}`,
      ...(s.mosquitto
        ? [
            `mosquitto baseline (${s.mosquitto.seconds} s): RSS ${s.mosquitto.rssAt10PercentMiB} → ${s.mosquitto.rssEndMiB} MiB, ratio ${s.mosquitto.rssRatio}; p99 ${s.mosquitto.tenths[0]!.p99Ms} → ${s.mosquitto.tenths[9]!.p99Ms} ms, last/first ${s.mosquitto.p99LastToFirst}; errors ${s.mosquitto.errors.connectFailures + s.mosquitto.errors.disconnects + s.mosquitto.errors.pubackTimeouts}`,
            `  gatehouse RSS at the end ${s.rssRatioToMosquitto}× mosquitto's`,
          ]
        : []),
    ].join('\n'),
  );
}

if (mode !== 'soak') {
  churn = await runChurn({
    cycles: arg('cycles', 100_000),
    parallel: arg('parallel', 50),
    postgres,
    baselineCycles: Math.min(arg('cycles', 100_000), arg('baseline-cycles', 10_000)),
    log,
  });
  const c = churn;
  console.log(
    [
      '',
      `churn: ${c.run.cycles} cycles, ${c.parallel} in parallel, store ${c.store}: ${c.run.perSecond} cycles/s, ${c.run.failures} failed: ${ok(c.run.failures === 0)}`,
      `  open fds ${c.fds.before} → ${c.fds.after}, leaked ${c.fds.leaked}: ${ok(c.fds.leaked <= 0)}`,
      `  sessions after: hub ${c.sessions.after.hubConnectedDevices}, MQTT connections ${c.sessions.after.mqttConnections}: ${ok(c.sessions.after.hubConnectedDevices === 0 && c.sessions.after.mqttConnections === 0)}`,
      `  RSS ${c.rss.beforeMiB} → ${c.rss.afterMiB} MiB, ratio ${c.rss.ratio} (goal ≤ 1.05): ${ok(c.rss.ratio <= 1.05)}; heap after GC ${c.heapAfterGc.beforeMiB} → ${c.heapAfterGc.afterMiB} MiB`,
      ...(c.mosquitto
        ? [
            `mosquitto baseline: ${c.mosquitto.run.cycles} cycles, ${c.mosquitto.run.perSecond}/s, fds ${c.mosquitto.fds.before} → ${c.mosquitto.fds.after}; gatehouse rate ${c.rateRatioToMosquitto}× mosquitto's`,
          ]
        : []),
    ].join('\n'),
  );
}

console.log(JSON.stringify({ conditions: { ...conditions, loadAverageAtEnd: load() }, soak, churn }));
