/**
 * N real `gatehouse serve` processes on one PostgreSQL database and one Redis, behind a real
 * HAProxy configured as CLUSTER.md §6.6 says (mode tcp, TLS passthrough, send-proxy-v2,
 * balance leastconn, `option httpchk GET /readyz`, inter 500 fall 2 rise 2, on-marked-down
 * shutdown-sessions). Shared by the cluster tests and `npm run bench -- cluster`.
 *
 * Every node keeps its ports for its whole life, so a node killed with SIGKILL and started
 * again is the same HAProxy server: `kill(i)` / `restart(i)`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_MAIN } from './util.js';

export const HAPROXY_BINARY = process.env['GATEHOUSE_HAPROXY'] ?? '/usr/sbin/haproxy';

/** A free TCP port on 127.0.0.1 (bound and released: HAProxy and `serve` need numbers). */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

export interface ClusterNode {
  readonly index: number;
  readonly nodeId: string;
  readonly dataDir: string;
  readonly mqttPort: number;
  readonly httpPort: number;
  readonly httpsPort: number;
  /** The running process, undefined while killed. */
  child: ChildProcess | undefined;
  /** stdout and stderr of every run of this node (for failure messages). */
  output: string;
  /** The database URL this node was started with (a test may route one node through a proxy). */
  databaseUrl: string;
}

export interface ClusterOptions {
  nodes: number;
  databaseUrl: string;
  redisUrl: string;
  token: string;
  /** The HAProxy MQTT front port (8883 for the Azure SDK, which only dials it); default free. */
  mqttFrontPort?: number;
  /** The HAProxy HTTPS/WSS front port; default free. */
  httpsFrontPort?: number;
  /** Per node database URL (e.g. through a TCP proxy a test can cut); default `databaseUrl`. */
  nodeDatabaseUrl?: (index: number, databaseUrl: string) => string;
  /** Extra `serve` arguments for every node. */
  extraArgs?: string[];
  logLevel?: string;
}

export interface Cluster {
  readonly nodes: ClusterNode[];
  /** The HAProxy front ports. */
  readonly mqttPort: number;
  /** An HAProxy MQTT front whose only server is node 1 (a one-node baseline, same proxy path). */
  readonly mqttPortFirstNode: number;
  readonly httpsPort: number;
  /** The server CA (the same on every node: the identity lives in PostgreSQL). */
  readonly caPath: string;
  readonly idScope: string;
  readonly haproxyOutput: () => string;
  /** One REST call to node `i` with the administrator token. */
  api<T = unknown>(
    i: number,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }>;
  /** SIGKILL node `i`; resolves once the process is gone. */
  kill(i: number): Promise<void>;
  /** Start node `i` again on the same ports and data folder; resolves when it listens. */
  restart(i: number, databaseUrl?: string): Promise<void>;
  /** Resolves when HAProxy's health check sees node `i` up (or down). */
  waitHaproxy(i: number, up: boolean, timeoutMs?: number): Promise<void>;
  /** SIGTERM everything (SIGKILL after a bound), remove the temp folders. */
  stop(): Promise<void>;
}

/** The HAProxy configuration of CLUSTER.md §6.6 for these nodes. */
export function haproxyConfig(
  nodes: Array<Pick<ClusterNode, 'index' | 'mqttPort' | 'httpPort' | 'httpsPort'>>,
  front: { mqtt: number; https: number; stats: string; firstNode?: number },
): string {
  const servers = (port: (n: (typeof nodes)[number]) => number) =>
    nodes.map(
      (n) =>
        `  server n${n.index} 127.0.0.1:${port(n)} send-proxy-v2 check port ${n.httpPort} inter 500 fall 2 rise 2 on-marked-down shutdown-sessions`,
    );
  return [
    'global',
    '  maxconn 4000',
    `  stats socket ${front.stats} mode 600 level admin`,
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout client 330s',
    '  timeout server 330s',
    '  retries 3',
    '  option redispatch',
    'frontend mqtt',
    `  bind 127.0.0.1:${front.mqtt}`,
    '  default_backend mqtt_nodes',
    'frontend https',
    `  bind 127.0.0.1:${front.https}`,
    '  default_backend https_nodes',
    ...(front.firstNode !== undefined && nodes[0]
      ? [
          'frontend mqtt_first_node',
          `  bind 127.0.0.1:${front.firstNode}`,
          '  default_backend mqtt_first_node',
          'backend mqtt_first_node',
          '  option httpchk GET /readyz',
          `  server n${nodes[0].index} 127.0.0.1:${nodes[0].mqttPort} send-proxy-v2 check port ${nodes[0].httpPort} inter 500 fall 2 rise 2 on-marked-down shutdown-sessions`,
        ]
      : []),
    'backend mqtt_nodes',
    '  balance leastconn',
    '  option httpchk GET /readyz',
    ...servers((n) => n.mqttPort),
    'backend https_nodes',
    '  balance leastconn',
    '  option httpchk GET /readyz',
    ...servers((n) => n.httpsPort),
    '',
  ].join('\n');
}

/** Asks HAProxy's stats socket for the state of each server of `backend` ('UP', 'DOWN', …). */
async function serverStates(socketPath: string, backend: string): Promise<Map<string, string>> {
  const text = await new Promise<string>((resolve) => {
    const s = connect(socketPath);
    let out = '';
    s.on('connect', () => s.write('show stat\n'));
    s.on('data', (d) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', () => resolve(''));
  });
  const states = new Map<string, string>();
  for (const line of text.split('\n')) {
    const f = line.split(',');
    if (f[0] === backend && f[1] && f[1] !== 'BACKEND' && f[1] !== 'FRONTEND') states.set(f[1], f[17] ?? '');
  }
  return states;
}

/** Starts the nodes (all at once), then HAProxy in front of them. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  if (!existsSync(HAPROXY_BINARY)) throw new Error(`${HAPROXY_BINARY} is missing (apt-get install haproxy)`);
  const root = await mkdtemp(join(tmpdir(), 'gatehouse-cluster-'));
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < options.nodes; i++) {
    nodes.push({
      index: i,
      nodeId: `node-${i + 1}`,
      dataDir: join(root, `node-${i + 1}`),
      mqttPort: await freeLoopbackPort(),
      httpPort: await freeLoopbackPort(),
      httpsPort: await freeLoopbackPort(),
      child: undefined,
      output: '',
      databaseUrl: options.nodeDatabaseUrl?.(i, options.databaseUrl) ?? options.databaseUrl,
    });
  }
  let idScope = '';
  let caPath = '';

  const launch = async (node: ClusterNode): Promise<void> => {
    const child = spawn(
      process.execPath,
      [
        CLI_MAIN,
        'serve',
        '--data',
        node.dataDir,
        '--bind',
        '127.0.0.1',
        '--mqtt-port',
        String(node.mqttPort),
        '--http-port',
        String(node.httpPort),
        '--https-port',
        String(node.httpsPort),
        '--log-level',
        options.logLevel ?? 'warn',
        '--database-url',
        node.databaseUrl,
        '--redis-url',
        options.redisUrl,
        '--node-id',
        node.nodeId,
        '--proxy-protocol',
        'v2',
        '--proxy-trusted',
        '127.0.0.1/32',
        ...(options.extraArgs ?? []),
      ],
      {
        env: { ...process.env, GATEHOUSE_ADMIN_TOKEN: options.token },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    node.child = child;
    let out = '';
    const collect = (d: Buffer) => {
      out += d.toString();
      node.output = (node.output + d.toString()).slice(-20_000);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const deadline = Date.now() + 60_000;
    while (!/Administrator API token/.test(out)) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${node.nodeId} exited (${child.exitCode ?? child.signalCode}): ${out.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`${node.nodeId} did not start: ${out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    idScope ||= /ID scope\s+(\S+)/.exec(out)?.[1] ?? '';
    caPath ||= /NODE_EXTRA_CA_CERTS=(\S+)/.exec(out)?.[1] ?? '';
  };

  /**
   * The first start: a port probed free may be taken by another process before the node binds
   * it (tests run side by side); then the node gets new ports and starts again, up to 3 times.
   */
  const launchOnFreePorts = async (node: ClusterNode): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch(node);
      } catch (err) {
        if (attempt >= 3 || !/EADDRINUSE/.test((err as Error).message)) throw err;
        const ports = node as { mqttPort: number; httpPort: number; httpsPort: number };
        ports.mqttPort = await freeLoopbackPort();
        ports.httpPort = await freeLoopbackPort();
        ports.httpsPort = await freeLoopbackPort();
        node.output = '';
      }
    }
  };

  const killNode = async (node: ClusterNode): Promise<void> => {
    const child = node.child;
    node.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await gone;
  };

  const stats = join(root, 'haproxy.sock');
  let haproxy: ChildProcess | undefined;
  let haproxyOut = '';
  const stopAll = async () => {
    await Promise.all(
      nodes.map(async (node) => {
        const child = node.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const gone = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        // Drain is bounded by the node; a node that hangs is killed.
        const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
        await gone;
        clearTimeout(timer);
        node.child = undefined;
      }),
    );
    if (haproxy && haproxy.exitCode === null && haproxy.signalCode === null) {
      const gone = new Promise<void>((r) => haproxy!.once('exit', () => r()));
      haproxy.kill('SIGKILL');
      await gone;
    }
    await rm(root, { recursive: true, force: true });
  };

  try {
    await Promise.all(nodes.map(launchOnFreePorts));
    const mqttFront = options.mqttFrontPort ?? (await freeLoopbackPort());
    const httpsFront = options.httpsFrontPort ?? (await freeLoopbackPort());
    const firstNode = await freeLoopbackPort();
    const file = join(root, 'haproxy.cfg');
    await writeFile(file, haproxyConfig(nodes, { mqtt: mqttFront, https: httpsFront, stats, firstNode }));
    // -db: foreground, no daemon.
    haproxy = spawn(HAPROXY_BINARY, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy.stdout!.on('data', (d: Buffer) => (haproxyOut = (haproxyOut + d.toString()).slice(-20_000)));
    haproxy.stderr!.on('data', (d: Buffer) => (haproxyOut = (haproxyOut + d.toString()).slice(-20_000)));
    const deadline = Date.now() + 10_000;
    while (!(await accepts(mqttFront)) || !(await accepts(httpsFront))) {
      if (haproxy.exitCode !== null) throw new Error(`haproxy exited ${haproxy.exitCode}: ${haproxyOut}`);
      if (Date.now() > deadline) throw new Error(`haproxy did not listen: ${haproxyOut}`);
      await new Promise((r) => setTimeout(r, 50));
    }

    const cluster: Cluster = {
      nodes,
      mqttPort: mqttFront,
      mqttPortFirstNode: firstNode,
      httpsPort: httpsFront,
      caPath,
      idScope,
      haproxyOutput: () => haproxyOut,
      async api<T>(i: number, method: string, path: string, body?: unknown) {
        const res = await fetch(`http://127.0.0.1:${nodes[i]!.httpPort}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${options.token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await res.text();
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          /* not JSON: keep the text */
        }
        return { status: res.status, body: parsed as T };
      },
      kill: (i) => killNode(nodes[i]!),
      async restart(i, databaseUrl) {
        const node = nodes[i]!;
        await killNode(node);
        if (databaseUrl) node.databaseUrl = databaseUrl;
        await launch(node);
      },
      async waitHaproxy(i, up, timeoutMs = 15_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const state = (await serverStates(stats, 'mqtt_nodes')).get(`n${i}`) ?? '';
          if (up ? state.startsWith('UP') : state.startsWith('DOWN')) return;
          if (Date.now() > deadline)
            throw new Error(`HAProxy never saw n${i} ${up ? 'UP' : 'DOWN'} (now ${state || 'unknown'})`);
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      stop: stopAll,
    };
    return cluster;
  } catch (err) {
    for (const node of nodes) await killNode(node);
    await stopAll();
    throw err;
  }
}
