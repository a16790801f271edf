/**
 * `npm run fuzz -- <target> [--runs N] [--seed S] [--replay I] [--parallel P]`, targets:
 *   mqtt      fuzzed conversations through the gateway in process (default 100,000 runs)
 *   mqtt-tls  the same over the real TLS listener on loopback (default 20,000)
 *   rest      every OpenAPI operation over HTTP (default 5,000)
 *   pki       certificate and key readers, differential fast/general reader (default 20,000)
 *   crash     SIGKILL at random points of a QoS 1 stream, then integrity and no acknowledged
 *             message lost (default 100 iterations)
 *   power-cut the same, but the disk is examined as a power cut leaves it: an ext4 loop device
 *             copied while the server is stopped (needs root; default 20 iterations)
 *   mosquitto-table --data DIR
 *             mosquitto's broker conformance cases (its test/broker/data) through the gateway
 * Prints its conditions, the report as JSON last, and exits 1 when anything was found.
 */
import { cpus } from 'node:os';

import { crashLoop } from './crash-loop.js';
import { fuzzMqtt } from './fuzz-mqtt.js';
import { fuzzPki } from './fuzz-pki.js';
import type { FuzzReport } from './fuzz-report.js';
import { fuzzRest } from './fuzz-rest.js';
import { FUZZ_TOKEN, startFuzzServer } from './fuzz-server.js';
import { fuzzMqttOverTls } from './fuzz-tls.js';
import { runMosquittoTable } from './mosquitto-table.js';

const DEFAULT_RUNS: Record<string, number> = {
  mqtt: 100_000,
  'mqtt-tls': 20_000,
  rest: 5_000,
  pki: 20_000,
  crash: 100,
  'power-cut': 20,
};

function option(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`--${name} takes a whole number`);
  return v;
}

async function mosquittoTable(): Promise<number> {
  const i = process.argv.indexOf('--data');
  const dir = i > 0 ? process.argv[i + 1] : undefined;
  if (!dir) {
    console.error('usage: npm run fuzz -- mosquitto-table --data <mosquitto source>/test/broker/data');
    return 2;
  }
  console.log(`mosquitto-table: ${dir}; Node ${process.version}`);
  const fuzz = await startFuzzServer();
  try {
    const report = await runMosquittoTable(fuzz.server.gateway, fuzz.context, dir);
    console.log(JSON.stringify(report, null, 2));
    return Object.values(report.byVersion).some((v) => v.disconnectedNothingExtra < v.mustDisconnect) ? 1 : 0;
  } finally {
    await fuzz.stop();
  }
}

async function main(): Promise<number> {
  const target = process.argv[2] ?? '';
  if (target === 'mosquitto-table') return mosquittoTable();
  if (!(target in DEFAULT_RUNS)) {
    console.error(
      `usage: npm run fuzz -- ${Object.keys(DEFAULT_RUNS).join('|')} [--runs N] [--seed S] [--replay I] [--parallel P]`,
    );
    return 2;
  }
  const runs = option('runs') ?? DEFAULT_RUNS[target]!;
  const seed = option('seed') ?? Math.floor(Math.random() * 2 ** 31);
  const replay = option('replay');
  // Conversations in flight at once (mqtt: 32 by default, mqtt-tls: 32 sockets).
  const parallel = option('parallel') ?? 32;
  console.log(
    `fuzz ${target}: ${runs} inputs, seed ${seed}, ${parallel} at once; Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
  );
  let report: FuzzReport;
  if (target === 'pki') {
    report = await fuzzPki({ runs, seed });
  } else if (target === 'crash' || target === 'power-cut') {
    report = await crashLoop({ iterations: runs, seed, powerCut: target === 'power-cut' });
  } else {
    const fuzz = await startFuzzServer();
    try {
      const progress = (done: number) => {
        if (done % 100_000 === 0)
          console.log(
            `  ${done} inputs, ${Math.round(process.uptime())} s, RSS ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`,
          );
      };
      if (target === 'mqtt')
        report = await fuzzMqtt({
          gateway: fuzz.server.gateway,
          context: fuzz.context,
          runs,
          seed,
          onBatch: progress,
          parallel,
          ...(replay !== undefined ? { replay } : {}),
        });
      else if (target === 'mqtt-tls') report = await fuzzMqttOverTls({ fuzz, runs, seed, parallel });
      else report = await fuzzRest({ baseUrl: fuzz.baseUrl, token: FUZZ_TOKEN, runs, seed });
    } finally {
      await fuzz.stop();
    }
  }
  console.log(JSON.stringify(report, null, 2));
  return report.findings.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
