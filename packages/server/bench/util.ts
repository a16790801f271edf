import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';

/** Percentile of a sorted array of numbers. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** CPU time (user + system) of a process in milliseconds, from /proc (Linux). */
export function cpuMillis(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // CLK_TCK is 100 on Linux
}

/** Resident memory of a process in bytes, from /proc (Linux). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb * 1024;
}

export const CLI_MAIN = fileURLToPath(new URL('../../../cli/dist/src/main.js', import.meta.url));

export interface ServeProcess {
  child: ChildProcess;
  httpPort: number;
  mqttPort: number;
  idScope: string;
  caPath: string;
  stop(): Promise<void>;
}

/** Start `gatehouse serve` as its own process (so its CPU is measured apart from the load). */
export async function startServe(
  dataDir: string,
  token: string,
  extra: string[] = [],
  nodeArgs: string[] = [],
): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    // BENCH_SERVER_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile the server.
    [
      ...(process.env['BENCH_SERVER_NODE_ARGS']?.split(' ').filter(Boolean) ?? []),
      ...nodeArgs,
      CLI_MAIN,
      'serve',
      '--data',
      dataDir,
      '--bind',
      '127.0.0.1',
      '--mqtt-port',
      '0',
      '--http-port',
      '0',
      '--https-port',
      '0',
      '--log-level',
      'error',
      ...extra,
    ],
    { env: { ...process.env, GATEHOUSE_ADMIN_TOKEN: token }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!/Administrator API token/.test(out)) {
    if (child.exitCode !== null) throw new Error(`serve exited: ${out}`);
    if (Date.now() > deadline) throw new Error('serve did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    httpPort: Number(/http:\/\/[^:]+:(\d+)\//.exec(out)?.[1]),
    mqttPort: Number(/mqtts:\/\/[^:]+:(\d+)/.exec(out)?.[1]),
    idScope: /ID scope\s+(\S+)/.exec(out)?.[1] ?? '',
    caPath: /NODE_EXTRA_CA_CERTS=(\S+)/.exec(out)?.[1] ?? '',
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) ? v : fallback;
}

/** An X.509 device's hub connection to a `gatehouse serve` process (clean: false, no reconnects). */
export async function connectServeDevice(
  s: ServeProcess,
  deviceId: string,
  leaf: { certificate: { pem: string }; privateKey: { toPem(): string } },
): Promise<mqtt.MqttClient> {
  const client = mqtt.connect(`mqtts://127.0.0.1:${s.mqttPort}`, {
    protocolVersion: 4,
    clientId: deviceId,
    username: `localhost/${deviceId}/?api-version=2021-04-12`,
    clean: false,
    reconnectPeriod: 0,
    ca: readFileSync(s.caPath),
    servername: 'localhost',
    cert: leaf.certificate.pem,
    key: leaf.privateKey.toPem(),
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  client.on('error', () => undefined);
  return client;
}

/**
 * Publishes `{ seq }` at QoS 1 from `firstSeq` on, `inFlight` at once, as fast as
 * acknowledgements allow; when `killWhen` resolves, calls `kill` and waits for the connection
 * to drop. Answers the sequence numbers acknowledged by then (the "acknowledged means durable"
 * test and the crash loop).
 */
export async function streamUntilKilled(
  client: mqtt.MqttClient,
  deviceId: string,
  o: {
    killWhen: (acked: readonly number[]) => Promise<void>;
    kill: () => void;
    firstSeq?: number;
    inFlight?: number;
  },
): Promise<{ acked: number[]; sent: number }> {
  const acked: number[] = [];
  let next = o.firstSeq ?? 0;
  let stop = false;
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  const pump = async () => {
    while (!stop) {
      const seq = next++;
      await new Promise<void>((resolve) =>
        client.publish(`devices/${deviceId}/messages/events/`, JSON.stringify({ seq }), { qos: 1 }, (err) => {
          if (!err) acked.push(seq);
          resolve();
        }),
      );
    }
  };
  const pumps = Array.from({ length: o.inFlight ?? 50 }, () => pump());
  await o.killWhen(acked);
  o.kill();
  await closed;
  stop = true;
  client.end(true);
  await Promise.race([Promise.all(pumps), new Promise((r) => setTimeout(r, 2000))]);
  return { acked, sent: next - (o.firstSeq ?? 0) };
}
