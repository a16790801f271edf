/**
 * `npm run bench -- provisioning [--devices N] [--concurrency C] [--rounds R] [--warmup W]`
 *
 * N devices with distinct certificates (EC P-256, one verified root) register
 * over MQTT/TLS with the full DPS exchange (register → 202 → poll → 200), from
 * a lean mqtt-packet client (MQTT.js would measure itself),
 * against `gatehouse serve` running as its own process with
 * `--dps-retry-after 0`. Prints registrations/s, p50/p99 latency and the
 * server's CPU per registration, beside the raw TLS handshake rate (client
 * certificate requested) of a bare Node TLS server measured in the same run.
 *
 * Beside them, the same exchange against a bare Node TLS server that answers it with fixed
 * packets (tls-echo-server.ts `canned-dps`): the floor of any Node.js server on this exchange.
 * Each server first serves W untimed warm-up devices (default 100), so that what is timed is
 * a server whose hot paths the JIT has compiled.
 *
 * The phases are measured in R interleaved rounds (N/R devices each, the phase
 * that goes first alternating), not one after the other: on a shared machine
 * the load moves within a minute, and two phases a minute apart compared
 * the load of two moments more than the two servers. Rates are totals over
 * the rounds; the per-round ratios are printed as well.
 *
 * Each device's client TLS context (its key, certificate and the server CA) is built once,
 * before anything is timed, as a device builds it once at start-up: otherwise both phases
 * parsed the same PEM files on every connection, the load generator's CPU that shares the
 * server's two cores here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createSecureContext, type SecureContext } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { LeanClient } from './lean-client.js';
import { createDeviceCertificate, createRootCa, type Issued } from '@gatehouse/pki';
import { arg, cpuMillis, percentile, startServe } from './util.js';

const N = arg('devices', 2000);
const CONCURRENCY = arg('concurrency', 100);
const ROUNDS = Math.max(1, Math.min(N, arg('rounds', 10)));
/** Devices each server sees before anything is timed, so that JIT warm-up is not measured. */
const WARMUP = Math.max(0, arg('warmup', 100));
const TOKEN = 'bench-admin-token-0123456789abcdef';

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Wall-clock seconds, server CPU and load-generator CPU (ms) of one phase, summed over rounds. */
class Phase {
  count = 0;
  seconds = 0;
  serverCpuMs = 0;
  loadCpuMs = 0;
  readonly ratePerRound: number[] = [];

  async run(server: ChildProcess, fn: () => Promise<number>): Promise<void> {
    const cpu0 = cpuMillis(server.pid!);
    const load0 = process.cpuUsage();
    const t0 = performance.now();
    const done = await fn();
    const seconds = (performance.now() - t0) / 1000;
    const load = process.cpuUsage(load0);
    this.serverCpuMs += cpuMillis(server.pid!) - cpu0;
    this.loadCpuMs += (load.user + load.system) / 1000;
    this.seconds += seconds;
    this.count += done;
    this.ratePerRound.push(done / seconds);
  }

  get perSecond(): number {
    return this.count / this.seconds;
  }
}

async function startEchoServer(certFile: string, keyFile: string, mode: 'handshake' | 'canned-dps') {
  const script = fileURLToPath(new URL('./tls-echo-server.js', import.meta.url));
  const child = spawn(process.execPath, [script, certFile, keyFile, mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve) =>
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
  );
  return { child, port };
}

/** A device: its ID and its client TLS context (key, certificate, the server CA), built once. */
interface BenchDevice {
  id: string;
  context: SecureContext;
}

/** Mutual-TLS handshakes with the bare server; the number completed. */
async function handshakes(devices: BenchDevice[], port: number): Promise<number> {
  await pool(
    devices,
    CONCURRENCY,
    (d) =>
      new Promise<void>((resolve, reject) => {
        const s = tlsConnect(
          { host: '127.0.0.1', port, servername: 'localhost', secureContext: d.context },
          () => {
            s.end();
          },
        );
        s.on('close', () => resolve());
        s.on('error', reject);
        s.resume();
      }),
  );
  return devices.length;
}

/** The full DPS exchange for each device; the number assigned (latencies pushed, failures counted). */
async function registrations(
  devices: BenchDevice[],
  server: { mqttPort: number; idScope: string },
  latencies: number[],
): Promise<number> {
  let assigned = 0;
  await pool(devices, CONCURRENCY, async (d) => {
    const id = d.id;
    const start = performance.now();
    let client: LeanClient | undefined;
    try {
      client = await LeanClient.connect({
        host: '127.0.0.1',
        port: server.mqttPort,
        tls: { secureContext: d.context, servername: 'localhost' },
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
      assigned++;
    } catch {
      // Counted as a failure by the caller (devices minus assigned).
    } finally {
      client?.end();
    }
  });
  return assigned;
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-'));
  const loadBefore = loadavg()[0]!;
  process.stdout.write(
    `provisioning benchmark: ${N} devices (EC P-256, one verified root), concurrency ${CONCURRENCY}, ` +
      `${ROUNDS} interleaved rounds after ${WARMUP} untimed warm-up devices per server, client TLS contexts built before timing, Node ${process.version}, ${cpus().length} CPUs, load average ${loadBefore.toFixed(2)}\n`,
  );
  const root = await createRootCa({ commonName: 'bench-root' });
  const issued: Issued[] = [];
  for (let i = 0; i < N + WARMUP; i++)
    issued.push(await createDeviceCertificate({ commonName: `bench-device-${i}`, issuer: root }));

  const server = await startServe(dataDir, TOKEN, ['--dps-retry-after', '0']);
  const certFile = join(dataDir, 'server-cert.pem');
  const keyFile = join(dataDir, 'server-key.pem');
  const echo = await startEchoServer(certFile, keyFile, 'handshake');
  const canned = await startEchoServer(certFile, keyFile, 'canned-dps');
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
    const devices: BenchDevice[] = issued.map((d) => ({
      id: d.certificate.subjectCN!,
      context: createSecureContext({ ca, cert: d.certificate.pem, key: d.privateKey.toPem() }),
    }));

    const latencies: number[] = [];
    const cannedLatencies: number[] = [];
    const reg = new Phase();
    const raw = new Phase();
    const floor = new Phase();
    const cannedTarget = { mqttPort: canned.port, idScope: server.idScope };
    // Warm-up, untimed: each server runs its path WARMUP times first (the JIT compiles the hot
    // functions), with devices of its own, so the timed rounds measure a warm server.
    const warm = devices.splice(N);
    await registrations(warm, server, []);
    await handshakes(warm, echo.port);
    await registrations(warm, cannedTarget, []);
    for (let round = 0; round < ROUNDS; round++) {
      const slice = devices.slice(Math.floor((round * N) / ROUNDS), Math.floor(((round + 1) * N) / ROUNDS));
      const phases = [
        () => reg.run(server.child, () => registrations(slice, server, latencies)),
        () => raw.run(echo.child, () => handshakes(slice, echo.port)),
        () => floor.run(canned.child, () => registrations(slice, cannedTarget, cannedLatencies)),
      ];
      // Each phase goes first, second and third in turn.
      for (let i = 0; i < phases.length; i++) await phases[(round + i) % phases.length]!();
    }
    latencies.sort((a, b) => a - b);
    const registered = reg.count;
    const failures = N - registered;
    const fixed = (x: number) => Number(x.toFixed(2));
    const result = {
      devices: N,
      concurrency: CONCURRENCY,
      rounds: ROUNDS,
      warmup: WARMUP,
      registered,
      failures,
      registrationsPerSecond: Number(reg.perSecond.toFixed(1)),
      p50Ms: Number(percentile(latencies, 50).toFixed(1)),
      p99Ms: Number(percentile(latencies, 99).toFixed(1)),
      serverCpuMsPerRegistration: fixed(reg.serverCpuMs / Math.max(1, registered)),
      loadGeneratorCpuMsPerRegistration: fixed(reg.loadCpuMs / Math.max(1, registered)),
      rawTlsHandshakesPerSecond: Number(raw.perSecond.toFixed(1)),
      rawTlsServerCpuMsPerHandshake: fixed(raw.serverCpuMs / raw.count),
      loadGeneratorCpuMsPerHandshake: fixed(raw.loadCpuMs / raw.count),
      ratioToRawHandshakes: fixed(reg.perSecond / raw.perSecond),
      ratioPerRound: reg.ratePerRound.map((r, i) => fixed(r / raw.ratePerRound[i]!)),
      serverCpuRatioToRawHandshake: fixed(
        reg.serverCpuMs / Math.max(1, registered) / (raw.serverCpuMs / raw.count),
      ),
      cannedRegistrationsPerSecond: Number(floor.perSecond.toFixed(1)),
      cannedServerCpuMsPerRegistration: fixed(floor.serverCpuMs / Math.max(1, floor.count)),
      cannedLoadGeneratorCpuMsPerRegistration: fixed(floor.loadCpuMs / Math.max(1, floor.count)),
      cannedFailures: N - floor.count,
      cannedRatioToRawHandshakes: fixed(floor.perSecond / raw.perSecond),
      cannedServerCpuRatioToRawHandshake: fixed(
        floor.serverCpuMs / Math.max(1, floor.count) / (raw.serverCpuMs / raw.count),
      ),
      ratioToCanned: fixed(reg.perSecond / floor.perSecond),
      loadAverageBefore: fixed(loadBefore),
      loadAverageAfter: fixed(loadavg()[0]!),
    };
    process.stdout.write(
      [
        `registered            ${result.registered}/${N} (${failures} failed)`,
        `registrations/s       ${result.registrationsPerSecond}`,
        `latency p50 / p99     ${result.p50Ms} ms / ${result.p99Ms} ms`,
        `server CPU / reg.     ${result.serverCpuMsPerRegistration} ms (load generator ${result.loadGeneratorCpuMsPerRegistration} ms)`,
        `raw TLS handshakes/s  ${result.rawTlsHandshakesPerSecond} (server CPU ${result.rawTlsServerCpuMsPerHandshake} ms each, load generator ${result.loadGeneratorCpuMsPerHandshake} ms)`,
        `ratio                 ${result.ratioToRawHandshakes} of the raw handshake rate (goal ≥ 0.60; rounds ${result.ratioPerRound.join(', ')})`,
        `CPU ratio             ${result.serverCpuRatioToRawHandshake}× the raw handshake's server CPU (goal ≤ 2.5)`,
        `canned DPS server     ${result.cannedRegistrationsPerSecond} exchanges/s, server CPU ${result.cannedServerCpuMsPerRegistration} ms each (load generator ${result.cannedLoadGeneratorCpuMsPerRegistration} ms; ${result.cannedFailures} failed)`,
        `  its ratios          ${result.cannedRatioToRawHandshakes} of the raw handshake rate, ${result.cannedServerCpuRatioToRawHandshake}× its server CPU: the floor of a Node.js server on this exchange`,
        `registration / floor  ${result.ratioToCanned} of the canned server's rate`,
        JSON.stringify(result),
        '',
      ].join('\n'),
    );
  } finally {
    echo.child.kill('SIGTERM');
    canned.child.kill('SIGTERM');
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
