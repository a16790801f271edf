#!/usr/bin/env node
// `npm run bench -- <name> [options]`: runs packages/server/dist/bench/<name>.js.
// `npm run bench -- all [--quick] [--only a,b] [--timeout S] [--out FILE]`: runs every benchmark one after the other and
//   writes bench-results/<YYYY-MM-DD>-node<major>.json (or FILE): each benchmark's figures (the
//   JSON object it prints last), its options, exit code and duration, with the Node.js version,
//   CPU, core count and load average of the run. A benchmark whose services are missing is
//   skipped with a one-line reason; one that gives no result in --timeout seconds (default
//   1200, 300 with --quick) is stopped, with its servers, and recorded as such. --quick gives
//   each benchmark a smaller load (QUICK below, same baseline in the same run, so its ratios keep
//   their meaning) so `all` takes minutes.
// `npm run bench -- table FILE…`: prints the README's Markdown table of headline figures, one
//   column per results file (e.g. Node 20 beside Node 24).
//
// A benchmark is any packages/server/bench/*.ts that is not a helper (HELPERS, *-worker); `all`
// picks new ones up by itself. Its contract: print its conditions and its ratio to a baseline
// measured in the same run, and end its output with one JSON object of its figures (a single
// line, or a pretty-printed object starting with `{` at the start of a line).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = join(root, 'packages', 'server', 'dist', 'bench');
const HELPERS = [
  'util',
  'tls-echo-server',
  'lean-client',
  'mosquitto',
  'fleet',
  'cluster-harness',
  'cluster-fleet',
  'memory-probe',
];

const env = process.env;
const databaseUrl = env.GATEHOUSE_BENCH_DATABASE_URL ?? env.GATEHOUSE_TEST_DATABASE_URL;
const redisUrl = env.GATEHOUSE_BENCH_REDIS_URL ?? env.GATEHOUSE_TEST_REDIS_URL;
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/**
 * What each benchmark needs beyond Node.js: a reason to skip it, or the options to give it.
 * A benchmark without an entry runs with its defaults.
 */
const NEEDS = {
  'bus-fanout': () =>
    redisUrl
      ? { args: ['--redis-url', redisUrl] }
      : { skip: 'no Redis (GATEHOUSE_BENCH_REDIS_URL or GATEHOUSE_TEST_REDIS_URL)' },
  cluster: () => {
    if (!databaseUrl)
      return { skip: 'no PostgreSQL (GATEHOUSE_BENCH_DATABASE_URL or GATEHOUSE_TEST_DATABASE_URL)' };
    if (!redisUrl) return { skip: 'no Redis (GATEHOUSE_BENCH_REDIS_URL or GATEHOUSE_TEST_REDIS_URL)' };
    if (!has('haproxy')) return { skip: 'haproxy is not installed' };
    return { args: [] };
  },
};

/** Smaller loads for `all --quick`; each keeps its in-run baseline. */
const QUICK = {
  'bus-fanout': ['--events', '20000'],
  cluster: ['--registrations', '100', '--seconds', '5', '--commands', '100', '--failovers', '2'],
  export: ['--seconds', '5'],
  idle: ['--devices', '2000'],
  provisioning: ['--devices', '300'],
  simulate: ['--devices', '100', '--duration', '10'],
  telemetry: ['--seconds', '5'],
};

/** Headline figures for the README table: [label, path in the benchmark's JSON]. */
const HEADLINES = {
  provisioning: [
    ['registrations/s', 'registrationsPerSecond'],
    ['server CPU ms per registration', 'serverCpuMsPerRegistration'],
    ['raw mutual-TLS handshakes/s (baseline)', 'rawTlsHandshakesPerSecond'],
    ['ratio to the raw handshake rate', 'ratioToRawHandshakes'],
  ],
  idle: [
    ['KiB per idle connection', 'gatehouse.bytesPerConnection', 1 / 1024],
    ['mosquitto KiB per connection (baseline)', 'mosquitto.bytesPerConnection', 1 / 1024],
    ['ratio to mosquitto', 'ratio'],
  ],
  telemetry: [
    ['QoS 1 msgs/s (SQLite, durable)', 'gatehouse.perSecond'],
    ['server CPU µs per message', 'gatehouse.cpuUsPerMessage'],
    ['mosquitto msgs/s (baseline)', 'mosquitto.perSecond'],
    ['throughput ratio to mosquitto', 'throughputRatio'],
    ['CPU per message ratio to mosquitto', 'cpuRatio'],
  ],
  simulate: [
    ['msgs/s (gatehouse simulate)', 'messagesPerSecond'],
    ['server CPU ms per message', 'serverCpuMsPerMessage'],
    ['server RSS MiB', 'serverRssMiB'],
  ],
  cluster: [
    [
      'registrations/s, 1 node / 3 nodes',
      ['provisioning.oneNode.perSecond', 'provisioning.threeNodes.perSecond'],
    ],
    ['QoS 1 msgs/s, 1 node / 3 nodes', ['telemetry.oneNode.perSecond', 'telemetry.threeNodes.perSecond']],
    ['cross-node command p99 ms', 'command.p99Ms'],
    ['failover p99 ms (kill -9 → ack)', 'failover.p99Ms'],
  ],
  'bus-fanout': [
    [
      'publish µs/event, no listener / pattern',
      ['modes.no-listener.publishUsPerEvent', 'modes.pattern.publishUsPerEvent'],
    ],
    [
      'Redis CPU µs/event, pattern / fleet',
      ['modes.pattern.redisCpuUsPerEvent', 'modes.fleet.redisCpuUsPerEvent'],
    ],
  ],
};

function available() {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.js') && !f.includes('-worker'))
    .map((f) => f.slice(0, -3))
    .filter((n) => !HELPERS.includes(n))
    .sort();
}

/** The JSON object a benchmark printed last, or null. */
export function lastJson(output) {
  const lines = output.trimEnd().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i].startsWith('{')) continue;
    try {
      const v = JSON.parse(lines.slice(i).join('\n'));
      if (v && typeof v === 'object') return v;
    } catch {
      // a line inside the object, or not JSON: look further up
    }
  }
  return null;
}

/** Runs one benchmark in its own process group, so a timeout also stops the servers it started. */
function runOne(name, args, timeoutSeconds) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(dir, `${name}.js`), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    let out = '';
    let timedOut = false;
    const kill = (signal) => {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      console.log(`\n== ${name}: no result after ${timeoutSeconds} s, stopped`);
      kill('SIGTERM');
      setTimeout(() => kill('SIGKILL'), 5000).unref();
    }, timeoutSeconds * 1000);
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, out, timedOut });
    });
  });
}

async function all(options) {
  const quick = options.includes('--quick');
  const onlyIndex = options.indexOf('--only');
  const only = onlyIndex >= 0 ? options[onlyIndex + 1].split(',') : null;
  const timeoutIndex = options.indexOf('--timeout');
  const timeout = timeoutIndex >= 0 ? Number(options[timeoutIndex + 1]) : quick ? 300 : 1200;
  const outIndex = options.indexOf('--out');
  const date = new Date().toISOString().slice(0, 10);
  const major = process.versions.node.split('.')[0];
  const out =
    outIndex >= 0 ? options[outIndex + 1] : join(root, 'bench-results', `${date}-node${major}.json`);
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    openssl: process.versions.openssl,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverageAtStart: loadavg().map((l) => Number(l.toFixed(2))),
    quick,
    benchmarks: {},
  };
  let failed = 0;
  for (const name of available().filter((n) => !only || only.includes(n))) {
    const need = NEEDS[name]?.() ?? { args: [] };
    if (need.skip) {
      console.log(`\n== ${name}: skipped, ${need.skip}`);
      report.benchmarks[name] = { skipped: need.skip };
      continue;
    }
    const args = [...need.args, ...(quick ? (QUICK[name] ?? []) : [])];
    console.log(`\n== ${name} ${args.join(' ')}`);
    const loadBefore = loadavg()[0];
    const t0 = performance.now();
    const r = await runOne(name, args, timeout);
    const entry = {
      args,
      exitCode: r.code,
      ...(r.timedOut ? { timedOutAfterSeconds: timeout } : {}),
      seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
      loadAverageBefore: Number(loadBefore.toFixed(2)),
      result: lastJson(r.out),
    };
    if (r.code !== 0 || entry.result === null) failed++;
    report.benchmarks[name] = entry;
  }
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nwrote ${out}${failed ? ` (${failed} benchmark(s) failed)` : ''}`);
  return failed ? 1 : 0;
}

function at(obj, path) {
  return path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

function fmt(v, scale = 1) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  const x = v * scale;
  if (Number.isInteger(x) || Math.abs(x) >= 100) return String(Math.round(x));
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

function table(files) {
  const reports = files.map((f) => JSON.parse(readFileSync(f, 'utf8')));
  const head = reports.map((r) => `Node.js ${r.node}${r.quick ? ' (--quick)' : ''}`);
  const lines = [
    `| benchmark | figure | ${head.join(' | ')} |`,
    `|---|---|${head.map(() => '---:|').join('')}`,
  ];
  const names = [...new Set(reports.flatMap((r) => Object.keys(r.benchmarks)))].sort();
  for (const name of names) {
    const rows = HEADLINES[name] ?? [];
    const cell = (r, path, scale) => {
      const b = r.benchmarks[name];
      if (!b) return 'not run';
      if (b.skipped) return `skipped: ${b.skipped}`;
      if (!b.result) return b.timedOutAfterSeconds ? 'timed out' : `failed (exit ${b.exitCode})`;
      const paths = Array.isArray(path) ? path : [path];
      return paths.map((p) => fmt(at(b.result, p), scale)).join(' / ');
    };
    if (rows.length === 0) {
      // A benchmark without headlines: its top-level numbers.
      const first = reports.find((r) => r.benchmarks[name]?.result)?.benchmarks[name].result ?? {};
      for (const [k, v] of Object.entries(first)) if (typeof v === 'number') rows.push([k, k]);
    }
    for (const [label, path, scale] of rows)
      lines.push(`| ${name} | ${label} | ${reports.map((r) => cell(r, path, scale)).join(' | ')} |`);
  }
  console.log(lines.join('\n'));
  return 0;
}

const [name, ...rest] = process.argv.slice(2);
const names = available();
if (name === 'all') process.exit(await all(rest));
if (name === 'table') process.exit(table(rest));
if (!name || !names.includes(name)) {
  console.error(`usage: npm run bench -- <all|table|${names.join('|')}> [options]`);
  process.exit(2);
}
const r = spawnSync(process.execPath, [join(dir, `${name}.js`), ...rest], { stdio: 'inherit' });
process.exit(r.status ?? 1);
