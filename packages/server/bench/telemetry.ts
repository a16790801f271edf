/**
 * `npm run bench -- telemetry [--devices M] [--seconds S] [--window W] [--store postgres]`
 *
 * M devices (default 20) stream 100-byte JSON telemetry at QoS 1, each keeping
 * W messages in flight (default 16): as fast as acknowledgements allow. Against
 * `gatehouse serve` (its own process; a PUBACK means committed to SQLite with
 * synchronous=FULL) and, in the same run and with the same load generator,
 * against mosquitto (Debian's package, TLS with require_certificate, no
 * persistence) where one subscriber receives everything (pub→sub). Prints
 * msgs/s, p50/p99 acknowledgement latency, server CPU µs per message, and the
 * ratios. `--store postgres` adds a run of `gatehouse serve --database-url` (a PUBACK means
 * committed to PostgreSQL, synchronous_commit on) on a fresh database of the server named by
 * GATEHOUSE_BENCH_DATABASE_URL or GATEHOUSE_TEST_DATABASE_URL (`scripts/test-services.mjs`);
 * its goal is ≥ 0.8× mosquitto's non-durable rate. PostgreSQL's own CPU is reported apart.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_TOKEN, enrollFleet, makeFleet, serverTls, type Fleet } from './fleet.js';
import { LeanClient } from './lean-client.js';
import { mosquittoAvailable, startMosquitto } from './mosquitto.js';
import { arg, cpuMillis, percentile, startServe } from './util.js';

const M = arg('devices', 20);
const SECONDS = arg('seconds', 10);
const WINDOW = arg('window', 16);
const STORE = process.argv.includes('--store') ? process.argv[process.argv.indexOf('--store') + 1] : 'sqlite';

/** A fresh database for the PostgreSQL run, dropped at the end. */
async function benchDatabase(): Promise<{ url: string; drop(): Promise<void>; pids(): Promise<number[]> }> {
  const admin = process.env['GATEHOUSE_BENCH_DATABASE_URL'] ?? process.env['GATEHOUSE_TEST_DATABASE_URL'];
  if (!admin)
    throw new Error(
      '--store postgres needs GATEHOUSE_BENCH_DATABASE_URL (or GATEHOUSE_TEST_DATABASE_URL: eval "$(node scripts/test-services.mjs start)")',
    );
  const name = `gh_bench_${randomBytes(4).toString('hex')}`;
  const run = async (q: string) => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    try {
      return (await c.query(q)).rows as Array<Record<string, unknown>>;
    } finally {
      await c.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => void (await run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
    // The backends serving the benchmark's database: their CPU is PostgreSQL's share.
    pids: async () =>
      (await run(`SELECT pid FROM pg_stat_activity WHERE datname = '${name}'`)).map((r) => Number(r['pid'])),
  };
}

/** CPU milliseconds of each of `pids` still running. */
function cpuOf(pids: number[]): Map<number, number> {
  const cpu = new Map<number, number>();
  for (const pid of pids) {
    try {
      cpu.set(pid, cpuMillis(pid));
    } catch {
      /* ended meanwhile */
    }
  }
  return cpu;
}

/** CPU the backends spent between two samples (a backend that appeared counts from zero). */
function cpuSpent(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

function payload(seq: number): Buffer {
  const base = JSON.stringify({ temp: 21.5, humid: 55.25, seq, pad: '' });
  return Buffer.from(base.replace('"pad":""', `"pad":"${'x'.repeat(Math.max(0, 100 - base.length))}"`));
}

interface RunResult {
  messages: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerMessage: number;
  received?: number;
  /** PostgreSQL backends' CPU per message (the --store postgres run). */
  databaseCpuUsPerMessage?: number;
}

async function drive(
  clients: Array<{ client: LeanClient; topic: string }>,
  pid: number,
  counted?: () => number,
  databasePids?: () => Promise<number[]>,
): Promise<RunResult> {
  const latencies: number[] = [];
  let messages = 0;
  let stop = false;
  const cpu0 = cpuMillis(pid);
  const dbCpu0 = databasePids ? cpuOf(await databasePids()) : new Map<number, number>();
  const received0 = counted?.() ?? 0;
  const t0 = performance.now();
  const loops = clients.flatMap(({ client, topic }) =>
    Array.from({ length: WINDOW }, async () => {
      let seq = 0;
      while (!stop && !client.closed) {
        const start = performance.now();
        await client.publish(topic, payload(seq++));
        latencies.push(performance.now() - start);
        messages++;
      }
    }),
  );
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  stop = true;
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = cpuMillis(pid) - cpu0;
  const dbCpu = databasePids ? cpuSpent(dbCpu0, cpuOf(await databasePids())) : 0;
  const received = (counted?.() ?? 0) - received0;
  await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 5000))]);
  latencies.sort((a, b) => a - b);
  const count = counted ? received : messages;
  return {
    messages: count,
    perSecond: count / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuUsPerMessage: (cpu * 1000) / Math.max(1, count),
    ...(counted ? { received } : {}),
    ...(databasePids ? { databaseCpuUsPerMessage: (dbCpu * 1000) / Math.max(1, count) } : {}),
  };
}

async function connectAll(
  fleet: Fleet,
  port: number,
  ca: Buffer,
  username: (id: string) => string | undefined,
  clean: boolean,
) {
  return Promise.all(
    fleet.devices.map(async (d) => {
      const u = username(d.id);
      const client = await LeanClient.connect({
        host: '127.0.0.1',
        port,
        tls: { ca, cert: d.cert, key: d.key, servername: 'localhost' },
        clientId: d.id,
        clean,
        ...(u ? { username: u } : {}),
      });
      return { client, topic: `devices/${d.id}/messages/events/` };
    }),
  );
}

const fmt = (r: RunResult) =>
  `${r.perSecond.toFixed(0)} msgs/s, ack p50 ${r.p50Ms.toFixed(2)} ms / p99 ${r.p99Ms.toFixed(2)} ms, server CPU ${r.cpuUsPerMessage.toFixed(1)} µs/msg` +
  (r.databaseCpuUsPerMessage !== undefined
    ? ` + PostgreSQL ${r.databaseCpuUsPerMessage.toFixed(1)} µs/msg`
    : '');

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-'));
  process.stdout.write(
    `telemetry benchmark: ${M} devices, ${WINDOW} in flight each, ${SECONDS} s per run, 100-byte JSON, QoS 1, store ${STORE}\n`,
  );
  const fleet = await makeFleet(M + 1, 'tel');
  const server = await startServe(dataDir, BENCH_TOKEN);
  let gatehouse: RunResult;
  let postgres: RunResult | undefined;
  let mosquitto: RunResult | undefined;
  try {
    await enrollFleet(server, fleet);
    const tls = await serverTls(server, dataDir);
    const publishers = { root: fleet.root, devices: fleet.devices.slice(0, M) };
    const clients = await connectAll(
      publishers,
      server.mqttPort,
      tls.ca,
      (id) => `localhost/${id}/?api-version=2021-04-12`,
      false,
    );
    gatehouse = await drive(clients, server.child.pid!);
    clients.forEach((c) => c.client.end());
    process.stdout.write(`gatehouse (durable)     ${fmt(gatehouse)}\n`);

    if (STORE === 'postgres') {
      const db = await benchDatabase();
      const pgDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-pg-'));
      try {
        const pgServer = await startServe(pgDir, BENCH_TOKEN, ['--database-url', db.url]);
        try {
          await enrollFleet(pgServer, fleet);
          const pgTls = await serverTls(pgServer, pgDir);
          const pgClients = await connectAll(
            publishers,
            pgServer.mqttPort,
            pgTls.ca,
            (id) => `localhost/${id}/?api-version=2021-04-12`,
            false,
          );
          postgres = await drive(pgClients, pgServer.child.pid!, undefined, db.pids);
          pgClients.forEach((c) => c.client.end());
          process.stdout.write(`gatehouse (PostgreSQL)  ${fmt(postgres)}\n`);
        } finally {
          await pgServer.stop();
        }
      } finally {
        await db.drop();
        await rm(pgDir, { recursive: true, force: true });
      }
    }

    if (mosquittoAvailable()) {
      const rootFile = join(dataDir, 'bench-root.pem');
      await writeFile(rootFile, fleet.root.certificate.pem);
      const broker = await startMosquitto(dataDir, {
        cafile: rootFile,
        certfile: tls.certfile,
        keyfile: tls.keyfile,
      });
      try {
        const subscriber = fleet.devices[M]!;
        const sub = await LeanClient.connect({
          host: '127.0.0.1',
          port: broker.port,
          tls: { ca: tls.ca, cert: subscriber.cert, key: subscriber.key, servername: 'localhost' },
          clientId: subscriber.id,
        });
        let received = 0;
        sub.onMessage = () => received++;
        await sub.subscribe('devices/+/messages/events/#');
        const mclients = await connectAll(publishers, broker.port, tls.ca, () => undefined, true);
        mosquitto = await drive(mclients, broker.child.pid!, () => received);
        mclients.forEach((c) => c.client.end());
        sub.end();
        process.stdout.write(`mosquitto (pub→sub)     ${fmt(mosquitto)}\n`);
      } finally {
        await broker.stop();
      }
    } else {
      process.stdout.write(
        'mosquitto is not installed (apt-get install mosquitto): no baseline in this run\n',
      );
    }
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  const result = {
    devices: M,
    window: WINDOW,
    seconds: SECONDS,
    gatehouse,
    postgres,
    mosquitto,
    throughputRatio: mosquitto ? Number((gatehouse.perSecond / mosquitto.perSecond).toFixed(2)) : undefined,
    postgresThroughputRatio:
      mosquitto && postgres ? Number((postgres.perSecond / mosquitto.perSecond).toFixed(2)) : undefined,
    cpuRatio: mosquitto
      ? Number((gatehouse.cpuUsPerMessage / mosquitto.cpuUsPerMessage).toFixed(2))
      : undefined,
  };
  if (mosquitto) {
    process.stdout.write(
      `throughput ratio        ${result.throughputRatio} (goal ≥ 1)\ncpu per message ratio   ${result.cpuRatio} (goal ≤ 2)\n`,
    );
    if (postgres)
      process.stdout.write(
        `PostgreSQL / mosquitto  ${result.postgresThroughputRatio} (goal ≥ 0.8: durable into PostgreSQL against non-durable)\n`,
      );
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

await main();
