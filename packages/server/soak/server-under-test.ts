/**
 * `gatehouse serve` in its own process for the soak and churn runs, so its RSS, open file
 * descriptors and CPU are its own: SQLite in a temporary data folder, or (`postgres`) a fresh
 * PostgreSQL database on the server named by GATEHOUSE_BENCH_DATABASE_URL or
 * GATEHOUSE_TEST_DATABASE_URL. The memory probe (bench/memory-probe.ts) is loaded into it for
 * post-GC heap figures; /metrics gives the connection gauges and the stored-message counter;
 * the telemetry table is counted at the end.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';

import { BENCH_TOKEN, enrollFleet, serverTls, type Fleet } from '../bench/fleet.js';
import { startMosquitto, type Mosquitto } from '../bench/mosquitto.js';
import { MEMORY_PROBE_NODE_ARGS, probeMemory, type Memory } from '../bench/memory-probe.js';
import { rssBytes, startServe, type ServeProcess } from '../bench/util.js';
import { createTestDatabase, dropTestDatabase } from '../test/helpers/postgres.js';
import type { Target } from './telemetry-load.js';

export interface ServerUnderTest {
  serve: ServeProcess;
  pid: number;
  dataDir: string;
  /** The server CA (to verify the device port) and its certificate files (for mosquitto). */
  tls: { ca: Buffer; certfile: string; keyfile: string };
  store: 'sqlite' | 'postgres';
  rss(): number;
  openFds(): number;
  /** Open descriptors but the REST clients' idle keep-alive connections (see `openFdsBut`). */
  fdsButRest(): number;
  /** process.memoryUsage() after a full GC, in the server. */
  memory(): Promise<Memory>;
  metrics(): Promise<ServerMetrics>;
  /** Rows of the telemetry table now. */
  storedMessages(): Promise<number>;
  stop(): Promise<void>;
}

export interface ServerMetrics {
  /** gatehouse_mqtt_connections, all kinds. */
  mqttConnections: number;
  /** gatehouse_hub_connected_devices. */
  hubConnectedDevices: number;
  /** gatehouse_hub_telemetry_messages_total. */
  telemetryStored: number;
}

/** Open file descriptors of a process, from /proc (Linux). */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Inodes of the TCP sockets whose local port is `port` (/proc/net/tcp and tcp6). */
function socketInodesOnPort(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // no IPv6
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      if (parseInt(f[1]!.split(':')[1]!, 16) === port) inodes.add(f[9]!);
    }
  }
  return inodes;
}

/**
 * Open descriptors of `pid` but its TCP sockets on `port`: the REST port, where the HTTP
 * client of the harness (fetch) keeps idle connections open for the server's keep-alive
 * timeout (72 s) after enrolling the fleet; they are the client's pool, not a leak, and
 * would otherwise make the count depend on when it is taken.
 */
export function openFdsBut(pid: number, port: number): number {
  const skip = socketInodesOnPort(port);
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target = '';
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode === undefined || !skip.has(inode)) n++;
  }
  return n;
}

/** The sum of every sample of a metric in the Prometheus text format (0 when absent). */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** GET without keep-alive, so the scrape leaves no connection open on the server. */
function getText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** Starts the server and enrolls `fleet` (a group with its root, each device created). */
export async function startServerUnderTest(fleet: Fleet, postgres: boolean): Promise<ServerUnderTest> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-soak-'));
  const memoryFile = join(dataDir, 'memory.json');
  process.env['GATEHOUSE_BENCH_MEMORY_FILE'] = memoryFile;
  let db: { name: string; url: string } | undefined;
  if (postgres) {
    const admin = process.env['GATEHOUSE_BENCH_DATABASE_URL'] ?? process.env['GATEHOUSE_TEST_DATABASE_URL'];
    if (!admin)
      throw new Error(
        '--postgres needs GATEHOUSE_BENCH_DATABASE_URL or GATEHOUSE_TEST_DATABASE_URL (eval "$(node scripts/test-services.mjs start)")',
      );
    process.env['GATEHOUSE_TEST_DATABASE_URL'] = admin;
    db = await createTestDatabase();
  }
  const serve = await startServe(
    dataDir,
    BENCH_TOKEN,
    db ? ['--database-url', db.url] : [],
    MEMORY_PROBE_NODE_ARGS,
  );
  stopOnSignal(serve.child);
  const pid = serve.child.pid!;
  const base = `http://127.0.0.1:${serve.httpPort}`;
  try {
    await enrollFleet(serve, fleet);
  } catch (err) {
    await serve.stop();
    throw err;
  }
  const tls = await serverTls(serve, dataDir);
  return {
    serve,
    pid,
    dataDir,
    tls,
    store: db ? 'postgres' : 'sqlite',
    rss: () => rssBytes(pid),
    openFds: () => openFds(pid),
    fdsButRest: () => openFdsBut(pid, serve.httpPort),
    memory: () => probeMemory(pid, memoryFile),
    async metrics() {
      const text = await getText(`${base}/metrics`);
      return {
        mqttConnections: metricSum(text, 'gatehouse_mqtt_connections'),
        hubConnectedDevices: metricSum(text, 'gatehouse_hub_connected_devices'),
        telemetryStored: metricSum(text, 'gatehouse_hub_telemetry_messages_total'),
      };
    },
    async storedMessages() {
      if (db) {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        try {
          const r = await client.query<{ n: string }>('SELECT count(*) AS n FROM telemetry');
          return Number(r.rows[0]!.n);
        } finally {
          await client.end();
        }
      }
      // WAL mode: a reader beside the running server sees every committed (PUBACKed) row.
      const sqlite = new Database(join(dataDir, 'gatehouse.db'), { readonly: true, fileMustExist: true });
      try {
        return (sqlite.prepare('SELECT count(*) AS n FROM telemetry').get() as { n: number }).n;
      } finally {
        sqlite.close();
      }
    },
    async stop() {
      await serve.stop();
      if (db) await dropTestDatabase(db.name);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const children = new Set<ChildProcess>();

/** A server process to stop if the run is interrupted (Ctrl-C, or a runner's SIGTERM). */
export function stopOnSignal(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    for (const c of children) c.kill('SIGKILL');
    process.exit(130);
  });

/**
 * mosquitto, the baseline: the server's TLS certificate, client certificates of the fleet's
 * root required, no persistence (bench/mosquitto.ts); and how the fleet reaches it.
 */
export async function startBaselineBroker(
  server: ServerUnderTest,
  fleet: Fleet,
): Promise<{ broker: Mosquitto; target: Target }> {
  const rootFile = join(server.dataDir, 'baseline-root.pem');
  await writeFile(rootFile, fleet.root.certificate.pem);
  const broker = await startMosquitto(server.dataDir, {
    cafile: rootFile,
    certfile: server.tls.certfile,
    keyfile: server.tls.keyfile,
  });
  stopOnSignal(broker.child);
  return {
    broker,
    target: { port: broker.port, ca: server.tls.ca, username: () => undefined, clean: true },
  };
}

/** Polls `check` every 200 ms until it is true or `ms` have passed; returns its last answer. */
export async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}
