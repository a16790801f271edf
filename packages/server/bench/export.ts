/**
 * `npm run bench -- export [--devices M] [--rate R] [--seconds S]`
 *
 * Device-to-destination latency of data export (issue 12 §1: p50 under 1 s while the
 * destination is healthy). `gatehouse serve` runs as its own process on SQLite; M devices
 * (default 10) send R messages/s in all (default 200) at QoS 1 for S seconds (default 10), each
 * message carrying the time it was sent. Baseline, in the same run: the same load with no export
 * (durable ingest alone). Then one telemetry export to a healthy webhook on loopback (this
 * process): the latency is the receive time minus the send time, per message. Prints the ingest
 * rate with and without the export and their ratio, the latency p50/p99, the server CPU per
 * message in both runs and the difference per exported message.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { BENCH_TOKEN, enrollFleet, makeFleet, serverTls } from './fleet.js';
import { LeanClient } from './lean-client.js';
import { arg, cpuMillis, percentile, startServe, type ServeProcess } from './util.js';

const M = arg('devices', 10);
const RATE = arg('rate', 200);
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

async function main(): Promise<void> {
  process.stdout.write(
    `export benchmark: ${M} devices, ${RATE} msgs/s in all, QoS 1, ${SECONDS} s per run, gatehouse serve on SQLite; ` +
      `webhook on loopback (this process, answers 200 at once), one message per POST\n`,
  );
  const latencies: number[] = [];
  let received = 0;
  const hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const now = Date.now();
      const m = JSON.parse(Buffer.concat(chunks).toString()) as {
        telemetry?: { sentAt?: number; tag?: string };
      };
      if (m.telemetry?.tag === 'export' && typeof m.telemetry.sentAt === 'number') {
        latencies.push(now - m.telemetry.sentAt);
        received++;
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;

  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-export-'));
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
    await api(server, 'PUT', `/api/dataExport/exports/bench${V}`, {
      displayName: 'bench',
      enabled: true,
      source: 'telemetry',
      destinations: [{ id: 'bench' }],
    });
    const withExport = await drive(clients, pid, 'export');
    const deadline = Date.now() + 30_000;
    while (received < withExport.sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    clients.forEach((c) => c.client.end());
    latencies.sort((a, b) => a - b);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const ratio = withExport.perSecond / baseline.perSecond;
    const cpuPerExported = withExport.cpuUsPerMessage - baseline.cpuUsPerMessage;
    process.stdout.write(
      `with export to webhook  ${withExport.perSecond.toFixed(0)} msgs/s ingested (${ratio.toFixed(2)}× baseline), ` +
        `${received}/${withExport.sent} delivered, device→webhook p50 ${p50.toFixed(0)} ms / p99 ${p99.toFixed(0)} ms ` +
        `(goal p50 < 1000 ms), server CPU ${withExport.cpuUsPerMessage.toFixed(1)} µs/msg (+${cpuPerExported.toFixed(1)} µs per exported message)\n`,
    );
    process.stdout.write(
      JSON.stringify({
        devices: M,
        rate: RATE,
        seconds: SECONDS,
        baselinePerSecond: Math.round(baseline.perSecond),
        exportPerSecond: Math.round(withExport.perSecond),
        ingestRatio: Number(ratio.toFixed(3)),
        delivered: received,
        sent: withExport.sent,
        latencyP50Ms: Math.round(p50),
        latencyP99Ms: Math.round(p99),
        baselineCpuUsPerMessage: Number(baseline.cpuUsPerMessage.toFixed(1)),
        exportCpuUsPerMessage: Number(withExport.cpuUsPerMessage.toFixed(1)),
        cpuUsPerExportedMessage: Number(cpuPerExported.toFixed(1)),
      }) + '\n',
    );
  } finally {
    await server.stop();
    hook.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
