/**
 * `npm run bench -- cluster [--devices M] [--seconds S] [--window W] [--registrations N]
 *   [--commands K] [--failovers F]`
 *
 * Three `gatehouse serve` nodes on one PostgreSQL database and one Redis, behind HAProxy
 * (CLUSTER.md §6.6), all on this machine. Each figure is measured twice in the same run with
 * the same load generator and the same proxy path: through an HAProxy front whose only server
 * is node 1 (the one-node baseline) and through the front balancing over the three nodes.
 *  - provisioning: N X.509 DPS registrations over MQTT (register → 202 → poll → 200);
 *  - telemetry: M devices, W QoS 1 messages in flight each, S seconds (PUBACK after COMMIT);
 *  - cross-node command latency: a device held by node 1, K commands through the REST API of
 *    nodes 2 and 3 (p50/p99);
 *  - failover: F times, kill -9 of the node holding a device that publishes QoS 1 every 20 ms
 *    and reconnects as the Azure SDK does (immediate first retry, then ~100 ms); the time from
 *    the kill to its next acknowledged message.
 * PostgreSQL and Redis from GATEHOUSE_BENCH_DATABASE_URL / GATEHOUSE_BENCH_REDIS_URL, else
 * GATEHOUSE_TEST_DATABASE_URL / GATEHOUSE_TEST_REDIS_URL (`scripts/test-services.mjs start`).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { startCluster, type Cluster } from './cluster-harness.js';
import { BENCH_TOKEN, makeFleet, type Fleet } from './fleet.js';
import { LeanClient } from './lean-client.js';
import { arg, cpuMillis, percentile } from './util.js';

const M = arg('devices', 20);
const SECONDS = arg('seconds', 10);
const WINDOW = arg('window', 16);
const N = arg('registrations', 200);
const K = arg('commands', 200);
const F = arg('failovers', 5);

const adminUrl = process.env['GATEHOUSE_BENCH_DATABASE_URL'] ?? process.env['GATEHOUSE_TEST_DATABASE_URL'];
const redisUrl = process.env['GATEHOUSE_BENCH_REDIS_URL'] ?? process.env['GATEHOUSE_TEST_REDIS_URL'];

async function sql<T = Record<string, unknown>>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, values)).rows as T[];
  } finally {
    await c.end();
  }
}

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

const clusterCpu = (c: Cluster) =>
  c.nodes.reduce((sum, n) => sum + (n.child?.pid ? cpuMillis(n.child.pid) : 0), 0);

async function enroll(c: Cluster, fleet: Fleet, name: string, createDevices: boolean): Promise<void> {
  const api = async (method: string, path: string, body: unknown) => {
    const r = await c.api(0, method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  };
  await api('PUT', `/api/enrollmentGroups/${name}`, {
    displayName: name,
    type: 'iot',
    attestation: { type: 'x509' },
  });
  await api('PUT', `/api/enrollmentGroups/${name}/certificates/primary`, {
    certificate: fleet.root.certificate.pem,
    verified: true,
  });
  if (createDevices)
    await pool(fleet.devices, 8, async (d) => api('PUT', `/api/devices/${d.id}`, { displayName: d.id }));
}

async function provisioning(c: Cluster, ca: Buffer, fleet: Fleet, port: number) {
  const latencies: number[] = [];
  let failures = 0;
  const cpu0 = clusterCpu(c);
  const t0 = performance.now();
  await pool(fleet.devices, 50, async (d) => {
    const start = performance.now();
    let client: LeanClient | undefined;
    try {
      client = await LeanClient.connect({
        host: '127.0.0.1',
        port,
        tls: { ca, cert: d.cert, key: d.key, servername: 'localhost' },
        clientId: d.id,
        username: `${c.idScope}/registrations/${d.id}/api-version=2019-03-31`,
        clean: true,
      });
      const cl = client;
      await cl.subscribe('$dps/registrations/res/#');
      const reply = () =>
        new Promise<{ status: number; body: { operationId?: string; status?: string } }>((resolve) => {
          cl.onMessage = (topic, payload) =>
            resolve({
              status: Number(/res\/(\d+)\//.exec(topic)?.[1]),
              body: JSON.parse(payload.toString()) as { operationId?: string; status?: string },
            });
        });
      let r = reply();
      void cl.publish(
        '$dps/registrations/PUT/iotdps-register/?$rid=1',
        Buffer.from(JSON.stringify({ registrationId: d.id })),
      );
      const accepted = await r;
      if (accepted.status !== 202) throw new Error(`register answered ${accepted.status}`);
      for (let poll = 0; ; poll++) {
        r = reply();
        void cl.publish(
          `$dps/registrations/GET/iotdps-get-operationstatus/?$rid=${poll + 2}&operationId=${accepted.body.operationId}`,
          Buffer.from(' '),
        );
        const done = await r;
        if (done.status === 200 && done.body.status === 'assigned') break;
        if (done.status !== 202 || poll > 20) throw new Error(`status answered ${done.status}`);
      }
      latencies.push(performance.now() - start);
    } catch {
      failures++;
    } finally {
      client?.end();
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = clusterCpu(c) - cpu0;
  latencies.sort((a, b) => a - b);
  return {
    registered: latencies.length,
    failures,
    perSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuMsPer: cpu / Math.max(1, latencies.length),
  };
}

async function telemetry(c: Cluster, ca: Buffer, fleet: Fleet, port: number) {
  const clients = await Promise.all(
    fleet.devices.map(async (d) => ({
      client: await LeanClient.connect({
        host: '127.0.0.1',
        port,
        tls: { ca, cert: d.cert, key: d.key, servername: 'localhost' },
        clientId: d.id,
        username: `localhost/${d.id}/?api-version=2021-04-12`,
        clean: false,
      }),
      topic: `devices/${d.id}/messages/events/`,
    })),
  );
  const latencies: number[] = [];
  let messages = 0;
  let stop = false;
  const cpu0 = clusterCpu(c);
  const t0 = performance.now();
  const body = Buffer.from(JSON.stringify({ temp: 21.5, humid: 55.25, pad: 'x'.repeat(52) }));
  const loops = clients.flatMap(({ client, topic }) =>
    Array.from({ length: WINDOW }, async () => {
      while (!stop && !client.closed) {
        const start = performance.now();
        await client.publish(topic, body);
        latencies.push(performance.now() - start);
        messages++;
      }
    }),
  );
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  stop = true;
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = clusterCpu(c) - cpu0;
  await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 5000))]);
  clients.forEach((x) => x.client.end());
  latencies.sort((a, b) => a - b);
  return {
    perSecond: messages / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuUsPer: (cpu * 1000) / Math.max(1, messages),
  };
}

function mqttDevice(c: Cluster, ca: Buffer, d: Fleet['devices'][number], port: number): MqttClient {
  const client = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
    protocolVersion: 4,
    clientId: d.id,
    username: `localhost/${d.id}/?api-version=2021-04-12`,
    clean: false,
    // The Azure SDK's ExponentialBackOffWithJitter: the first retry at once, the next ones after
    // 100 ms + (2^(x-1) - 1) × [0, 25) ms (azure-iot-common retry_policy.js), capped at 10 s.
    reconnectPeriod: 100,
    // A refused CONNECT (a node without its database answers 3, server unavailable) is retried
    // too, as the Azure SDK's retry policy does; MQTT.js would otherwise give up.
    reconnectOnConnackError: true,
    connectTimeout: 5_000,
    ca,
    servername: 'localhost',
    cert: d.cert,
    key: d.key,
  });
  client.on('error', () => undefined);
  return client;
}

async function commandLatency(c: Cluster, ca: Buffer, d: Fleet['devices'][number]) {
  const client = mqttDevice(c, ca, d, c.mqttPortFirstNode);
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  await client.subscribeAsync('$iothub/methods/POST/#', { qos: 0 });
  client.on('message', (topic) => {
    const rid = /\$rid=(.+)$/.exec(topic)?.[1];
    if (rid) client.publish(`$iothub/methods/res/200/?$rid=${rid}`, '{"ok":true}');
  });
  const latencies: number[] = [];
  for (let i = 0; i < K; i++) {
    const via = 1 + (i % 2);
    const t0 = performance.now();
    const r = await c.api(via, 'POST', `/api/devices/${d.id}/commands/ping`, { responseTimeout: 10 });
    if (r.status !== 201)
      throw new Error(`command via node ${via + 1}: ${r.status} ${JSON.stringify(r.body)}`);
    latencies.push(performance.now() - t0);
  }
  await client.endAsync(true);
  latencies.sort((a, b) => a - b);
  return { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

async function failover(c: Cluster, databaseUrl: string, ca: Buffer, d: Fleet['devices'][number]) {
  const times: number[] = [];
  for (let trial = 0; trial < F; trial++) {
    const client = mqttDevice(c, ca, d, c.mqttPort);
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    let lastAck = 0;
    const timer = setInterval(() => {
      if (!client.connected) return;
      client.publish(`devices/${d.id}/messages/events/`, '{"f":1}', { qos: 1 }, (err) => {
        if (!err) lastAck = performance.now();
      });
    }, 20);
    await new Promise((r) => setTimeout(r, 500));
    const [row] = await sql<{ node_id: string }>(
      databaseUrl,
      'SELECT node_id FROM device_sessions WHERE device_id = $1',
      [d.id],
    );
    const victim = c.nodes.findIndex((n) => n.nodeId === row?.node_id);
    if (victim < 0) throw new Error(`no holder for ${d.id}`);
    const killedAt = performance.now();
    await c.kill(victim);
    const deadline = killedAt + 60_000;
    while (lastAck <= killedAt && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    times.push(lastAck > killedAt ? lastAck - killedAt : NaN);
    clearInterval(timer);
    await client.endAsync(true);
    await c.restart(victim);
    await c.waitHaproxy(victim, true);
  }
  const sorted = times.filter(Number.isFinite).sort((a, b) => a - b);
  return {
    trials: times.length,
    failed: times.length - sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    allMs: times,
  };
}

async function main(): Promise<void> {
  if (!adminUrl || !redisUrl)
    throw new Error(
      'the cluster benchmark needs PostgreSQL and Redis: eval "$(node scripts/test-services.mjs start)" (or GATEHOUSE_BENCH_DATABASE_URL / GATEHOUSE_BENCH_REDIS_URL)',
    );
  const name = `gh_bench_${randomBytes(4).toString('hex')}`;
  await sql(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  process.stdout.write(
    `cluster benchmark: 3 nodes + HAProxy 2.6 (mode tcp, send-proxy-v2, leastconn) + PostgreSQL + Redis on this machine (${(await import('node:os')).cpus().length} cores); ` +
      `${N} registrations (concurrency 50), ${M} devices × ${WINDOW} in flight × ${SECONDS} s QoS 1, ${K} commands, ${F} failovers\n`,
  );
  const cluster = await startCluster({
    nodes: 3,
    databaseUrl,
    redisUrl,
    token: BENCH_TOKEN,
    logLevel: 'error',
    extraArgs: ['--dps-retry-after', '0'],
  });
  try {
    const ca = await readFile(cluster.caPath);
    const regOne = await makeFleet(N, 'cb-reg1');
    const regAll = await makeFleet(N, 'cb-reg3');
    const tel = await makeFleet(M + 2, 'cb-tel');
    await enroll(cluster, regOne, 'cbreg1', false);
    await enroll(cluster, regAll, 'cbreg3', false);
    await enroll(cluster, tel, 'cbtel', true);
    const publishers = { root: tel.root, devices: tel.devices.slice(0, M) };

    const p1 = await provisioning(cluster, ca, regOne, cluster.mqttPortFirstNode);
    const p3 = await provisioning(cluster, ca, regAll, cluster.mqttPort);
    const fp = (r: typeof p1) =>
      `${r.perSecond.toFixed(1)} registrations/s (${r.registered} ok, ${r.failures} failed), p50 ${r.p50Ms.toFixed(0)} ms / p99 ${r.p99Ms.toFixed(0)} ms, nodes' CPU ${r.cpuMsPer.toFixed(2)} ms each`;
    process.stdout.write(`provisioning, node 1 only  ${fp(p1)}\nprovisioning, 3 nodes      ${fp(p3)}\n`);

    const t1 = await telemetry(cluster, ca, publishers, cluster.mqttPortFirstNode);
    const t3 = await telemetry(cluster, ca, publishers, cluster.mqttPort);
    const ft = (r: typeof t1) =>
      `${r.perSecond.toFixed(0)} msgs/s, ack p50 ${r.p50Ms.toFixed(1)} ms / p99 ${r.p99Ms.toFixed(1)} ms, nodes' CPU ${r.cpuUsPer.toFixed(1)} µs/msg`;
    process.stdout.write(`telemetry, node 1 only     ${ft(t1)}\ntelemetry, 3 nodes         ${ft(t3)}\n`);

    const cmd = await commandLatency(cluster, ca, tel.devices[M]!);
    process.stdout.write(
      `cross-node command         p50 ${cmd.p50Ms.toFixed(1)} ms / p99 ${cmd.p99Ms.toFixed(1)} ms (device on node 1, REST on nodes 2 and 3)\n`,
    );
    const fo = await failover(cluster, databaseUrl, ca, tel.devices[M + 1]!);
    process.stdout.write(
      `failover (kill -9 → ack)   p50 ${fo.p50Ms.toFixed(0)} ms / p99 ${fo.p99Ms.toFixed(0)} ms over ${fo.trials} kills (${fo.failed} never recovered in 60 s; goal p99 < 10 s)\n`,
    );
    process.stdout.write(
      `ratios (3 nodes / node 1)  provisioning ${(p3.perSecond / p1.perSecond).toFixed(2)}, telemetry ${(t3.perSecond / t1.perSecond).toFixed(2)}\n`,
    );
    process.stdout.write(
      JSON.stringify({
        provisioning: { oneNode: p1, threeNodes: p3 },
        telemetry: { oneNode: t1, threeNodes: t3 },
        command: cmd,
        failover: fo,
      }) + '\n',
    );
  } finally {
    await cluster.stop();
    await sql(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

await main();
