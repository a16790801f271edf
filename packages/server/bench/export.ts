/**
 * `npm run bench -- export [--devices M] [--rate R] [--seconds S]`
 *
 * Data export at fleet rate (issue 12, Benchmark: exports keep up with ≥ 0.9× the durable ingest
 * rate without export, p99 device-to-destination latency under 1 s at 1,000 messages/s).
 * `gatehouse serve` runs as its own process on SQLite; M devices (default 20) send R messages/s
 * in all (default 1,000) at QoS 1 for S seconds (default 10), each message carrying the time it
 * was sent. Baseline, in the same run: the same load with no export (durable ingest alone). Then
 * one telemetry export with two destinations: a webhook on loopback (this process, answers 200
 * at once) and a mosquitto (Debian's package, plain listener on loopback) that this process
 * subscribes to. The latency is the receive time minus the send time, per message and
 * destination. Prints the ingest rate with and without the export and their ratio, the latency
 * p50/p99 per destination, the server CPU per message in both runs and the difference per
 * exported message (one message to two destinations counts once).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import mqtt from 'mqtt';

import { BENCH_TOKEN, enrollFleet, makeFleet, serverTls } from './fleet.js';
import { LeanClient } from './lean-client.js';
import { arg, cpuMillis, percentile, startServe, type ServeProcess } from './util.js';

const M = arg('devices', 20);
const RATE = arg('rate', 1000);
const SECONDS = arg('seconds', 10);

interface Run {
  sent: number;
  perSecond: number;
  cpuUsPerMessage: number;
}

async function drive(
  clients: Array<{ client: LeanClient; topic: string }>,
  pid: number,
  tag: string,
): Promise<Run> {
  let sent = 0;
  const cpu0 = cpuMillis(pid);
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  const intervalMs = (1000 * clients.length) / RATE;
  await Promise.all(
    clients.map(async ({ client, topic }, i) => {
      // Spread the devices over one interval so the load is even.
      let next = t0 + (intervalMs * i) / clients.length;
      let seq = 0;
      while (next < end && !client.closed) {
        const wait = next - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await client.publish(
          topic,
          Buffer.from(JSON.stringify({ temp: 21.5, seq: seq++, sentAt: Date.now(), tag })),
        );
        sent++;
        next += intervalMs;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  return {
    sent,
    perSecond: sent / elapsed,
    cpuUsPerMessage: ((cpuMillis(pid) - cpu0) * 1000) / Math.max(1, sent),
  };
}

async function api(server: ServeProcess, method: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}${path}`, {
    method,
    headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
}

/** A plain anonymous mosquitto on a free loopback port, in memory, queues that drop nothing. */
async function startBroker(dir: string): Promise<{ port: number; stop(): Promise<void> }> {
  const probe = createNetServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [
      'user root',
      'allow_anonymous true',
      'persistence false',
      'max_inflight_messages 0',
      'max_queued_messages 0',
      'log_type error',
      `listener ${port} 127.0.0.1`,
      '',
    ].join('\n'),
  );
  const child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error('mosquitto did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

interface Seen {
  latencies: number[];
  received: number;
}

function record(seen: Seen, raw: string, now: number): void {
  const m = JSON.parse(raw) as { telemetry?: { sentAt?: number; tag?: string } };
  if (m.telemetry?.tag === 'export' && typeof m.telemetry.sentAt === 'number') {
    seen.latencies.push(now - m.telemetry.sentAt);
    seen.received++;
  }
}

function summary(seen: Seen): { p50: number; p99: number } {
  seen.latencies.sort((a, b) => a - b);
  return { p50: percentile(seen.latencies, 50), p99: percentile(seen.latencies, 99) };
}

async function main(): Promise<void> {
  if (spawnSync('mosquitto', ['-h'], { stdio: 'ignore' }).error) {
    throw new Error('mosquitto is not installed (Debian: apt-get install mosquitto)');
  }
  process.stdout.write(
    `export benchmark: ${M} devices, ${RATE} msgs/s in all, QoS 1, ${SECONDS} s per run, gatehouse serve on SQLite; ` +
      `one telemetry export to two destinations: a webhook on loopback (this process, answers 200 at once, ` +
      `one message per POST) and mosquitto on loopback (plain, QoS 1, this process subscribed)\n`,
  );
  const webhook: Seen = { latencies: [], received: 0 };
  const broker: Seen = { latencies: [], received: 0 };
  const hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      record(webhook, Buffer.concat(chunks).toString(), Date.now());
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;

  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-export-'));
  const mosquitto = await startBroker(dataDir);
  const subscriber = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosquitto.port}`);
  subscriber.on('message', (_topic, payload) => record(broker, payload.toString(), Date.now()));
  await subscriber.subscribeAsync('bench/#', { qos: 1 });
  const fleet = await makeFleet(M, 'exp');
  const server = await startServe(dataDir, BENCH_TOKEN);
  try {
    await enrollFleet(server, fleet);
    const tls = await serverTls(server, dataDir);
    const clients = await Promise.all(
      fleet.devices.map(async (d) => ({
        client: await LeanClient.connect({
          host: '127.0.0.1',
          port: server.mqttPort,
          tls: { ca: tls.ca, cert: d.cert, key: d.key, servername: 'localhost' },
          clientId: d.id,
          clean: true,
          username: `localhost/${d.id}/?api-version=2021-04-12`,
        }),
        topic: `devices/${d.id}/messages/events/`,
      })),
    );
    const pid = server.child.pid!;
    const baseline = await drive(clients, pid, 'baseline');
    process.stdout.write(
      `baseline (no export)    ${baseline.perSecond.toFixed(0)} msgs/s ingested, server CPU ${baseline.cpuUsPerMessage.toFixed(1)} µs/msg\n`,
    );
    const V = '?api-version=2022-10-31-preview';
    await api(server, 'PUT', `/api/dataExport/destinations/bench${V}`, {
      displayName: 'bench',
      type: 'webhook@v1',
      url: hookUrl,
    });
    await api(server, 'PUT', `/api/dataExport/destinations/broker${V}`, {
      displayName: 'broker',
      type: 'mqtt@v1',
      url: `mqtt://127.0.0.1:${mosquitto.port}`,
      topic: 'bench/{messageSource}/{deviceId}',
    });
    await api(server, 'PUT', `/api/dataExport/exports/bench${V}`, {
      displayName: 'bench',
      enabled: true,
      source: 'telemetry',
      destinations: [{ id: 'bench' }, { id: 'broker' }],
    });
    const withExport = await drive(clients, pid, 'export');
    const deadline = Date.now() + 30_000;
    while ((webhook.received < withExport.sent || broker.received < withExport.sent) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    clients.forEach((c) => c.client.end());
    const w = summary(webhook);
    const b = summary(broker);
    const ratio = withExport.perSecond / baseline.perSecond;
    const cpuPerExported = withExport.cpuUsPerMessage - baseline.cpuUsPerMessage;
    process.stdout.write(
      `with export             ${withExport.perSecond.toFixed(0)} msgs/s ingested (${ratio.toFixed(2)}× baseline, goal ≥ 0.9×), ` +
        `server CPU ${withExport.cpuUsPerMessage.toFixed(1)} µs/msg (+${cpuPerExported.toFixed(1)} µs per exported message, both destinations)\n` +
        `  webhook               ${webhook.received}/${withExport.sent} delivered, device→webhook p50 ${w.p50.toFixed(0)} ms / p99 ${w.p99.toFixed(0)} ms (goal p99 < 1000 ms)\n` +
        `  mosquitto             ${broker.received}/${withExport.sent} delivered, device→mosquitto p50 ${b.p50.toFixed(0)} ms / p99 ${b.p99.toFixed(0)} ms (goal p99 < 1000 ms)\n`,
    );
    process.stdout.write(
      JSON.stringify({
        devices: M,
        rate: RATE,
        seconds: SECONDS,
        baselinePerSecond: Math.round(baseline.perSecond),
        exportPerSecond: Math.round(withExport.perSecond),
        ingestRatio: Number(ratio.toFixed(3)),
        sent: withExport.sent,
        webhookDelivered: webhook.received,
        webhookP50Ms: Math.round(w.p50),
        webhookP99Ms: Math.round(w.p99),
        mosquittoDelivered: broker.received,
        mosquittoP50Ms: Math.round(b.p50),
        mosquittoP99Ms: Math.round(b.p99),
        baselineCpuUsPerMessage: Number(baseline.cpuUsPerMessage.toFixed(1)),
        exportCpuUsPerMessage: Number(withExport.cpuUsPerMessage.toFixed(1)),
        cpuUsPerExportedMessage: Number(cpuPerExported.toFixed(1)),
      }) + '\n',
    );
  } finally {
    await server.stop();
    hook.close();
    await subscriber.endAsync(true);
    await mosquitto.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
