/**
 * `npm run bench -- provisioning [--devices N] [--concurrency C]`
 *
 * N devices with distinct certificates (EC P-256, one verified root) register
 * over MQTT/TLS with the full DPS exchange (register → 202 → poll → 200), from
 * a lean mqtt-packet client (MQTT.js would measure itself),
 * against `gatehouse serve` running as its own process with
 * `--dps-retry-after 0`. Prints registrations/s, p50/p99 latency and the
 * server's CPU per registration, beside the raw TLS handshake rate (client
 * certificate requested) of a bare Node TLS server measured in the same run.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { LeanClient } from './lean-client.js';
import { createDeviceCertificate, createRootCa, type Issued } from '@gatehouse/pki';
import { arg, cpuMillis, percentile, startServe } from './util.js';

const N = arg('devices', 500);
const CONCURRENCY = arg('concurrency', 100);
const TOKEN = 'bench-admin-token-0123456789abcdef';

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function handshakeRate(devices: Issued[], ca: Buffer, certFile: string, keyFile: string) {
  const script = fileURLToPath(new URL('./tls-echo-server.js', import.meta.url));
  const child = spawn(process.execPath, [script, certFile, keyFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve) =>
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
  );
  const cpu0 = cpuMillis(child.pid!);
  const t0 = performance.now();
  await pool(
    devices,
    CONCURRENCY,
    (d) =>
      new Promise<void>((resolve, reject) => {
        const s = tlsConnect(
          {
            host: '127.0.0.1',
            port,
            servername: 'localhost',
            ca,
            cert: d.certificate.pem,
            key: d.privateKey.toPem(),
          },
          () => {
            s.end();
          },
        );
        s.on('close', () => resolve());
        s.on('error', reject);
        s.resume();
      }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuMillis(child.pid!) - cpu0;
  child.kill('SIGTERM');
  return { perSecond: devices.length / seconds, cpuMsPer: cpu / devices.length };
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-'));
  process.stdout.write(
    `provisioning benchmark: ${N} devices (EC P-256, one verified root), concurrency ${CONCURRENCY}, ` +
      `Node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(2)}\n`,
  );
  const root = await createRootCa({ commonName: 'bench-root' });
  const devices: Issued[] = [];
  for (let i = 0; i < N; i++)
    devices.push(await createDeviceCertificate({ commonName: `bench-device-${i}`, issuer: root }));

  const server = await startServe(dataDir, TOKEN, ['--dps-retry-after', '0']);
  try {
    const api = (method: string, path: string, body: unknown) =>
      fetch(`http://127.0.0.1:${server.httpPort}${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    await api('PUT', '/api/enrollmentGroups/bench', {
      displayName: 'bench',
      type: 'iot',
      attestation: { type: 'x509' },
    });
    const up = await api('PUT', '/api/enrollmentGroups/bench/certificates/primary', {
      certificate: root.certificate.pem,
      verified: true,
    });
    if (up.status !== 200) throw new Error(`upload failed: ${await up.text()}`);
    const ca = await readFile(server.caPath);

    const latencies: number[] = [];
    let failures = 0;
    const cpu0 = cpuMillis(server.child.pid!);
    const loadCpu0 = process.cpuUsage();
    const t0 = performance.now();
    await pool(devices, CONCURRENCY, async (d) => {
      const id = d.certificate.subjectCN!;
      const start = performance.now();
      let client: LeanClient | undefined;
      try {
        client = await LeanClient.connect({
          host: '127.0.0.1',
          port: server.mqttPort,
          tls: { ca, cert: d.certificate.pem, key: d.privateKey.toPem(), servername: 'localhost' },
          clientId: id,
          username: `${server.idScope}/registrations/${id}/api-version=2019-03-31`,
          clean: true,
        });
        const c = client;
        await c.subscribe('$dps/registrations/res/#');
        const reply = () =>
          new Promise<{ status: number; body: { operationId?: string; status?: string } }>((resolve) => {
            c.onMessage = (topic, payload) =>
              resolve({
                status: Number(/res\/(\d+)\//.exec(topic)?.[1]),
                body: JSON.parse(payload.toString()) as { operationId?: string; status?: string },
              });
          });
        let r = reply();
        void c.publish(
          '$dps/registrations/PUT/iotdps-register/?$rid=1',
          Buffer.from(JSON.stringify({ registrationId: id })),
        );
        const accepted = await r;
        if (accepted.status !== 202) throw new Error(`register answered ${accepted.status}`);
        r = reply();
        void c.publish(
          `$dps/registrations/GET/iotdps-get-operationstatus/?$rid=2&operationId=${accepted.body.operationId}`,
          Buffer.from(' '),
        );
        const done = await r;
        if (done.status !== 200 || done.body.status !== 'assigned')
          throw new Error(`status answered ${done.status}`);
        latencies.push(performance.now() - start);
      } catch {
        failures++;
      } finally {
        client?.end();
      }
    });
    const seconds = (performance.now() - t0) / 1000;
    const serverCpu = cpuMillis(server.child.pid!) - cpu0;
    const loadCpu = process.cpuUsage(loadCpu0);
    const loadCpuMs = (loadCpu.user + loadCpu.system) / 1000;
    latencies.sort((a, b) => a - b);
    const rate = latencies.length / seconds;

    const baseline = await handshakeRate(
      devices,
      ca,
      join(dataDir, 'server-cert.pem'),
      join(dataDir, 'server-key.pem'),
    );
    const result = {
      devices: N,
      concurrency: CONCURRENCY,
      registered: latencies.length,
      failures,
      registrationsPerSecond: Number(rate.toFixed(1)),
      p50Ms: Number(percentile(latencies, 50).toFixed(1)),
      p99Ms: Number(percentile(latencies, 99).toFixed(1)),
      serverCpuMsPerRegistration: Number((serverCpu / Math.max(1, latencies.length)).toFixed(2)),
      loadGeneratorCpuMsPerRegistration: Number((loadCpuMs / Math.max(1, latencies.length)).toFixed(2)),
      rawTlsHandshakesPerSecond: Number(baseline.perSecond.toFixed(1)),
      rawTlsServerCpuMsPerHandshake: Number(baseline.cpuMsPer.toFixed(2)),
      ratioToRawHandshakes: Number((rate / baseline.perSecond).toFixed(2)),
      serverCpuRatioToRawHandshake: Number(
        (serverCpu / Math.max(1, latencies.length) / baseline.cpuMsPer).toFixed(2),
      ),
      loadAverageAfter: Number(loadavg()[0]!.toFixed(2)),
    };
    process.stdout.write(
      [
        `registered            ${result.registered}/${N} (${failures} failed)`,
        `registrations/s       ${result.registrationsPerSecond}`,
        `latency p50 / p99     ${result.p50Ms} ms / ${result.p99Ms} ms`,
        `server CPU / reg.     ${result.serverCpuMsPerRegistration} ms (load generator ${result.loadGeneratorCpuMsPerRegistration} ms)`,
        `raw TLS handshakes/s  ${result.rawTlsHandshakesPerSecond} (server CPU ${result.rawTlsServerCpuMsPerHandshake} ms each)`,
        `ratio                 ${result.ratioToRawHandshakes} of the raw handshake rate (goal ≥ 0.60)`,
        `CPU ratio             ${result.serverCpuRatioToRawHandshake}× the raw handshake's server CPU (goal ≤ 2.5)`,
        JSON.stringify(result),
        '',
      ].join('\n'),
    );
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
