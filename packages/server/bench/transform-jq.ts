/**
 * `npm run bench -- transform-jq [--messages 5000] [--batch 100] [--spawned 200]`
 *
 * The cost of an export's jq transform per message (export/transform-jq.ts): Debian's jq kept
 * running, one process per program, fed one message at a time (each awaited, the worst case) and
 * in batches of `--batch` (as the export sends them). Baseline in the same run: a new jq process
 * per message (`jq -c <program>` with the message on stdin), what a transform without a kept
 * process costs. CPU counts Node.js and jq (the children's CPU, read once they have exited).
 * The program is IoT Central's row-shaped example (iotc::find over the telemetry array); the
 * message is its pre-transformation telemetry shape with three readings.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';

import { compileTransform } from '../src/export/transform-jq.js';
import { arg } from './util.js';

const MESSAGES = arg('messages', 5000);
const BATCH = arg('batch', 100);
const SPAWNED = arg('spawned', 200);
const JQ = process.env['GATEHOUSE_JQ'] || '/usr/bin/jq';

const PROGRAM = `import "iotc" as iotc;
{
  deviceId: .device.id,
  timestamp: .enqueuedTime,
  temperature: .telemetry | iotc::find(.name == "temperature").value,
  humidity: .telemetry | iotc::find(.name == "humidity").value,
  pressure: .telemetry | iotc::find(.name == "pressure").value
}`;
/** The same program without the module, for the one-process-per-message baseline. */
const PROGRAM_INLINE = PROGRAM.replace('import "iotc" as iotc;', 'def find(f): .[] | select(f);').replaceAll(
  'iotc::find',
  'find',
);

function message(i: number): Record<string, unknown> {
  return {
    applicationId: '570c2d7b-1111-2222-abcd-000000000000',
    messageSource: 'telemetry',
    enqueuedTime: new Date(1_700_000_000_000 + i * 1000).toISOString(),
    device: {
      id: `dev-${i % 100}`,
      name: `Sensor ${i % 100}`,
      templateId: 'dtmi:bench:Sensor;1',
      properties: { reported: [] },
      cloudProperties: [],
    },
    telemetry: [
      { id: 'dtmi:bench:Sensor:temperature;1', name: 'temperature', value: 20 + (i % 10) },
      { id: 'dtmi:bench:Sensor:humidity;1', name: 'humidity', value: 40 + (i % 7) },
      { id: 'dtmi:bench:Sensor:pressure;1', name: 'pressure', value: 1013 },
    ],
    enrichments: {},
    messageProperties: {},
  };
}

/** CPU ms of this process and of its exited children (fields utime, stime, cutime, cstime). */
function cpuMs(): { self: number; children: number } {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  return { self: ((f[11] ?? 0) + (f[12] ?? 0)) * 10, children: ((f[13] ?? 0) + (f[14] ?? 0)) * 10 };
}

interface Figures {
  messages: number;
  usPerMessage: number;
  cpuUsPerMessage: number;
  jqCpuUsPerMessage: number;
}

async function measure(n: number, run: () => Promise<void>): Promise<Figures> {
  const c0 = cpuMs();
  const t0 = performance.now();
  await run();
  const wall = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 200)); // let the exited jq be reaped
  const c1 = cpuMs();
  const self = c1.self - c0.self;
  const children = c1.children - c0.children;
  return {
    messages: n,
    usPerMessage: Math.round((wall * 1000) / n),
    cpuUsPerMessage: Math.round(((self + children) * 1000) / n),
    jqCpuUsPerMessage: Math.round((children * 1000) / n),
  };
}

const version = spawnSync(JQ, ['--version'], { encoding: 'utf8' }).stdout.trim();
console.log(
  `transform-jq: ${version} at ${JQ}, Node.js ${process.version}, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}`,
);
console.log(`program: IoT Central's row example (3 × iotc::find), message: 3 telemetry readings`);

const first = await compileTransform(PROGRAM);
const check = await first.apply(message(1));
if (
  JSON.stringify(check) !==
  JSON.stringify([
    {
      deviceId: 'dev-1',
      timestamp: message(1)['enqueuedTime'],
      temperature: 21,
      humidity: 41,
      pressure: 1013,
    },
  ])
)
  throw new Error(`unexpected output ${JSON.stringify(check)}`);
first.close();

const sequential = await measure(MESSAGES, async () => {
  const t = await compileTransform(PROGRAM);
  for (let i = 0; i < MESSAGES; i++) await t.apply(message(i));
  t.close();
});
const batched = await measure(MESSAGES, async () => {
  const t = await compileTransform(PROGRAM);
  for (let i = 0; i < MESSAGES; i += BATCH)
    await Promise.all(
      Array.from({ length: Math.min(BATCH, MESSAGES - i) }, (_, k) => t.apply(message(i + k))),
    );
  t.close();
});
const spawned = await measure(SPAWNED, async () => {
  for (let i = 0; i < SPAWNED; i++) {
    await new Promise<void>((resolve, reject) => {
      const child = execFile(JQ, ['-c', PROGRAM_INLINE], { env: {} }, (err) =>
        err ? reject(err) : resolve(),
      );
      child.stdin?.end(JSON.stringify(message(i)));
    });
  }
});

const row = (name: string, f: Figures) =>
  console.log(
    `${name.padEnd(40)}${String(f.messages).padStart(7)}${String(f.usPerMessage).padStart(10)}${String(f.cpuUsPerMessage).padStart(10)}${String(f.jqCpuUsPerMessage).padStart(10)}`,
  );
console.log(
  `\n${'mode'.padEnd(40)}${'msgs'.padStart(7)}${'µs/msg'.padStart(10)}${'CPU µs'.padStart(10)}${'jq CPU'.padStart(10)}`,
);
row('kept running, one at a time', sequential);
row(`kept running, batches of ${BATCH}`, batched);
row('baseline: one jq process per message', spawned);
const ratio = Number((batched.cpuUsPerMessage / spawned.cpuUsPerMessage).toFixed(3));
console.log(`\nCPU per message, kept running (batches) / one process per message: ${ratio}`);
console.log(
  `at 1,000 messages/s the kept-running transform uses ${(batched.cpuUsPerMessage / 10).toFixed(1)} % of one core`,
);
console.log(
  JSON.stringify({
    jq: version,
    batch: BATCH,
    sequential,
    batched,
    spawnedBaseline: spawned,
    cpuRatioToSpawned: ratio,
  }),
);
