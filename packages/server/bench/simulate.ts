/**
 * `npm run bench -- simulate [--devices N] [--interval MS] [--duration S]`
 *
 * The fleet a user would run: `gatehouse simulate` (the CLI, our device SDK on
 * MQTT.js) provisions N Environmental Sensor devices through a symmetric-key
 * enrollment group and sends telemetry from each every MS milliseconds for S
 * seconds, against `gatehouse serve` in its own process. Prints the provisioning
 * time, the messages sent and stored (the server's own counter), the message
 * rate, and the server's CPU per message — the end-to-end figure, client SDK
 * included, beside the lean-client benchmarks (provisioning, telemetry).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, CLI_MAIN, cpuMillis, rssBytes, startServe } from './util.js';

const N = arg('devices', 200);
const INTERVAL_MS = arg('interval', 1000);
const DURATION_S = arg('duration', 20);
const TOKEN = 'bench-admin-token-0123456789abcdef';

interface Summary {
  devices: number;
  provisioned: number;
  connected: number;
  messagesSent: number;
  errors: number;
  elapsedSeconds: number;
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-sim-'));
  const serve = await startServe(dataDir, TOKEN);
  try {
    const api = `http://127.0.0.1:${serve.httpPort}`;
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const group = await fetch(`${api}/api/enrollmentGroups/bench-sas`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ displayName: 'bench', type: 'iot', attestation: { type: 'symmetricKey' } }),
    });
    const key = ((await group.json()) as { attestation: { symmetricKey: { primaryKey: string } } })
      .attestation.symmetricKey.primaryKey;

    const cpu0 = cpuMillis(serve.child.pid!);
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      [
        CLI_MAIN,
        'simulate',
        '--json',
        '--template',
        'environmental-sensor',
        '--devices',
        String(N),
        '--interval',
        `${INTERVAL_MS}ms`,
        '--duration',
        `${DURATION_S}s`,
        '--group-key',
        key,
        '--id-scope',
        serve.idScope,
        '--host',
        'localhost',
        '--mqtt-port',
        String(serve.mqttPort),
        '--ca',
        serve.caPath,
        '--prefix',
        'bench',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const wallMs = performance.now() - t0;
    const cpuMs = cpuMillis(serve.child.pid!) - cpu0;
    const summary = JSON.parse(out.slice(out.indexOf('{'))) as Summary;
    // Stored = acknowledged by the server's durable ingest (its counter, read after the client stopped).
    const metrics = await (await fetch(`${api}/metrics`)).text();
    const stored = Number(
      /^gatehouse_hub_telemetry_messages_total(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1] ?? NaN,
    );
    const sendSeconds = Math.max(0.001, summary.elapsedSeconds);
    console.log(
      JSON.stringify(
        {
          benchmark: 'simulate',
          conditions: {
            devices: N,
            intervalMs: INTERVAL_MS,
            durationSeconds: DURATION_S,
            template: 'environmental-sensor',
            attestation: 'symmetricKey (group-derived)',
            client: 'gatehouse simulate (packages/device, MQTT.js), one process',
          },
          exitCode: code,
          provisioned: summary.provisioned,
          connected: summary.connected,
          errors: summary.errors,
          messagesSent: summary.messagesSent,
          messagesStored: stored,
          messagesPerSecond: Math.round(summary.messagesSent / sendSeconds),
          serverCpuMsPerMessage: Number((cpuMs / Math.max(1, stored)).toFixed(3)),
          serverCpuPercent: Math.round((cpuMs / wallMs) * 100),
          serverRssMiB: Math.round(rssBytes(serve.child.pid!) / 1024 / 1024),
          wallSeconds: Number((wallMs / 1000).toFixed(1)),
        },
        null,
        2,
      ),
    );
    if (summary.connected < N || stored < summary.messagesSent) process.exitCode = 1;
  } finally {
    await serve.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
