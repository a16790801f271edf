/**
 * `npm run bench -- rules [--devices M] [--seconds S] [--window W]`
 *
 * What rules cost the hub: M devices (default 10) of the Environmental Sensor template stream
 * 100-byte JSON telemetry at QoS 1 with W messages in flight each (default 8) against
 * `gatehouse serve` (its own process, SQLite), after a warm-up run, three runs in the same process:
 * no rules (the baseline), one rule that is evaluated on every message and never matches (`temp > 1000`),
 * and one that matches every message (`temp > 0`, no actions: each firing is a history row).
 * Prints msgs/s, p50/p99 acknowledgement latency and server CPU µs per message, and each run's
 * ratio to the baseline.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BENCH_TOKEN, enrollFleet, makeFleet, serverTls } from './fleet.js';
import { LeanClient } from './lean-client.js';
import { arg, cpuMillis, percentile, startServe, type ServeProcess } from './util.js';

const M = arg('devices', 10);
const SECONDS = arg('seconds', 8);
const WINDOW = arg('window', 8);
const TEMPLATE = 'dtmi:gatehouse:EnvironmentalSensor;1';

interface RunResult {
  messages: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerMessage: number;
}

function payload(seq: number): Buffer {
  const base = JSON.stringify({ temp: 21.5, humid: 55.25, seq, pad: '' });
  return Buffer.from(base.replace('"pad":""', `"pad":"${'x'.repeat(Math.max(0, 100 - base.length))}"`));
}

async function api(server: ServeProcess, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}${path}`, {
    method,
    headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

async function drive(clients: Array<{ client: LeanClient; topic: string }>, pid: number): Promise<RunResult> {
  const latencies: number[] = [];
  let messages = 0;
  let stop = false;
  const cpu0 = cpuMillis(pid);
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
  await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 5000))]);
  // The evaluations queued behind the last acknowledgements finish on the server's CPU too.
  await new Promise((r) => setTimeout(r, 1000));
  const cpu = cpuMillis(pid) - cpu0;
  latencies.sort((a, b) => a - b);
  return {
    messages,
    perSecond: messages / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuUsPerMessage: (cpu * 1000) / Math.max(1, messages),
  };
}

const fmt = (r: RunResult) =>
  `${r.perSecond.toFixed(0)} msgs/s, ack p50 ${r.p50Ms.toFixed(2)} ms / p99 ${r.p99Ms.toFixed(2)} ms, server CPU ${r.cpuUsPerMessage.toFixed(1)} µs/msg`;

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-rules-'));
  process.stdout.write(
    `rules benchmark: ${M} devices of ${TEMPLATE}, ${WINDOW} in flight each, ${SECONDS} s per run, 100-byte JSON, QoS 1, SQLite\n`,
  );
  const fleet = await makeFleet(M, 'rul');
  const server = await startServe(dataDir, BENCH_TOKEN);
  try {
    await enrollFleet(server, fleet);
    for (const d of fleet.devices) await api(server, 'PATCH', `/api/devices/${d.id}`, { template: TEMPLATE });
    const tls = await serverTls(server, dataDir);
    const clients = await Promise.all(
      fleet.devices.map(async (d) => ({
        client: await LeanClient.connect({
          host: '127.0.0.1',
          port: server.mqttPort,
          tls: { ca: tls.ca, cert: d.cert, key: d.key, servername: 'localhost' },
          clientId: d.id,
          clean: false,
          username: `localhost/${d.id}/?api-version=2021-04-12`,
        }),
        topic: `devices/${d.id}/messages/events/`,
      })),
    );
    const rule = (value: number) => ({
      displayName: 'bench',
      target: { template: TEMPLATE },
      conditions: { match: 'all', items: [{ capability: 'temp', operator: '>', value }] },
      actions: [],
    });
    // A first run warms the server (JIT, SQLite's cache) so the baseline is not the cold one.
    await drive(clients, server.child.pid!);
    const baseline = await drive(clients, server.child.pid!);
    process.stdout.write(`no rules                ${fmt(baseline)}\n`);
    await api(server, 'PUT', '/api/rules/never', rule(1000));
    const evaluated = await drive(clients, server.child.pid!);
    process.stdout.write(`1 rule, never matches   ${fmt(evaluated)}\n`);
    await api(server, 'DELETE', '/api/rules/never');
    await api(server, 'PUT', '/api/rules/always', rule(0));
    const firing = await drive(clients, server.child.pid!);
    const fired = (await api(server, 'GET', '/api/rules/always')) as { lastFired?: string };
    process.stdout.write(
      `1 rule, fires each msg  ${fmt(firing)} (last fired ${fired.lastFired ?? 'never'})\n`,
    );
    const ratio = (r: RunResult) => r.perSecond / baseline.perSecond;
    process.stdout.write(
      `ratios to no rules: rate ${ratio(evaluated).toFixed(2)}× (never matches), ${ratio(firing).toFixed(2)}× (fires each message); CPU +${(evaluated.cpuUsPerMessage - baseline.cpuUsPerMessage).toFixed(1)} / +${(firing.cpuUsPerMessage - baseline.cpuUsPerMessage).toFixed(1)} µs/msg\n`,
    );
    clients.forEach((c) => c.client.end());
    process.stdout.write(
      `${JSON.stringify({ devices: M, window: WINDOW, seconds: SECONDS, baseline, evaluated, firing, rateRatioEvaluated: ratio(evaluated), rateRatioFiring: ratio(firing) })}\n`,
    );
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
