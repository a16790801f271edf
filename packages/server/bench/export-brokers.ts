/**
 * `npm run bench -- export-brokers [--messages 20000] [--batch 100]`
 *
 * Throughput and CPU per message of the broker destinations (export/destinations/mqtt.ts and
 * amqp.ts): `--messages` telemetry-shaped JSON messages sent in batches of `--batch`, each batch
 * awaited as the export does (QoS 1 PUBACKs for MQTT, publisher confirms for RabbitMQ). Baseline
 * in the same run, same broker, same messages and batches: the client library used directly
 * (MQTT.js `publishAsync` at QoS 1; amqplib's confirm channel and `waitForConfirms`), so the
 * ratio is the adapter's own cost. MQTT goes to a mosquitto of its own on loopback (plain
 * listener, no persistence); RabbitMQ is the one of GATEHOUSE_TEST_AMQP_URL (scripts/test-services.mjs),
 * skipped without it. CPU is this process's (Node.js) only: the brokers are the same on both sides.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import amqp from 'amqplib';
import mqtt from 'mqtt';

import type { DestinationAdapter } from '../src/export/contracts.js';
import { createAmqpDestination, validateAmqpDestination } from '../src/export/destinations/amqp.js';
import { createMqttDestination, validateMqttDestination } from '../src/export/destinations/mqtt.js';
import { arg } from './util.js';

const MESSAGES = arg('messages', 20_000);
const BATCH = arg('batch', 100);
const AMQP_URL = process.env['GATEHOUSE_BENCH_AMQP_URL'] ?? process.env['GATEHOUSE_TEST_AMQP_URL'];

const message = (i: number) => ({
  applicationId: '570c2d7b-1111-2222-abcd-000000000000',
  messageSource: 'telemetry',
  deviceId: `dev-${i % 100}`,
  schema: 'default@v1',
  templateId: 'dtmi:bench:Sensor;1',
  enqueuedTime: new Date(1_700_000_000_000 + i).toISOString(),
  telemetry: { temperature: 20 + (i % 10), humidity: 40 },
  enrichments: {},
  messageProperties: {},
});
const itemOf = (i: number) => ({ deviceId: `dev-${i % 100}`, messageSource: 'telemetry' });

interface Figures {
  perSecond: number;
  cpuUsPerMessage: number;
}

async function measure(send: (from: number, to: number) => Promise<void>): Promise<Figures> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < MESSAGES; i += BATCH) await send(i, Math.min(MESSAGES, i + BATCH));
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return {
    perSecond: Math.round(MESSAGES / seconds),
    cpuUsPerMessage: Math.round((c.user + c.system) / MESSAGES),
  };
}

async function viaAdapter(d: DestinationAdapter): Promise<Figures> {
  const figures = await measure(async (from, to) => {
    const batch = [];
    const items = [];
    for (let i = from; i < to; i++) {
      batch.push(message(i));
      items.push(itemOf(i));
    }
    await d.send(batch, { items });
  });
  await d.close();
  return figures;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function benchMqtt(): Promise<Record<string, unknown>> {
  if (spawnSync('mosquitto', ['-h'], { stdio: 'ignore' }).error)
    return { skipped: 'mosquitto is not installed' };
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-mqtt-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'mosquitto.conf'),
    [
      'user root',
      'persistence false',
      'log_type error',
      'max_inflight_messages 0',
      'max_queued_messages 0',
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      '',
    ].join('\n'),
  );
  const broker = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
  try {
    for (let ok = false; !ok;) {
      ok = await new Promise<boolean>((resolve) => {
        const s = netConnect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
        s.on('error', () => resolve(false));
      });
      if (!ok) await new Promise((r) => setTimeout(r, 50));
    }
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    const baseline = await measure(async (from, to) => {
      const all = [];
      for (let i = from; i < to; i++)
        all.push(
          client.publishAsync(`bench/telemetry/dev-${i % 100}`, JSON.stringify(message(i)), { qos: 1 }),
        );
      await Promise.all(all);
    });
    await client.endAsync();
    const r = validateMqttDestination({
      type: 'mqtt@v1',
      displayName: 'bench',
      url: `mqtt://127.0.0.1:${port}`,
      topic: 'bench/{messageSource}/{deviceId}',
    });
    if ('problems' in r) throw new Error(JSON.stringify(r.problems));
    const adapter = await viaAdapter(createMqttDestination(r.config));
    return {
      baseline,
      adapter,
      cpuRatio: Number((adapter.cpuUsPerMessage / baseline.cpuUsPerMessage).toFixed(2)),
    };
  } finally {
    broker.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchAmqp(): Promise<Record<string, unknown>> {
  if (!AMQP_URL) return { skipped: 'no RabbitMQ (GATEHOUSE_BENCH_AMQP_URL or GATEHOUSE_TEST_AMQP_URL)' };
  const exchange = `gh-bench-${process.pid}`;
  const model = await amqp.connect(AMQP_URL);
  const admin = await model.createChannel();
  await admin.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
  const queue = await admin.assertQueue('', { exclusive: true, durable: false });
  await admin.bindQueue(queue.queue, exchange, '#');
  await admin.consume(queue.queue, () => undefined, { noAck: true });
  try {
    const channel = await model.createConfirmChannel();
    const baseline = await measure(async (from, to) => {
      for (let i = from; i < to; i++)
        channel.publish(exchange, `telemetry.dev-${i % 100}`, Buffer.from(JSON.stringify(message(i))), {
          contentType: 'application/json',
          persistent: true,
        });
      await channel.waitForConfirms();
    });
    const url = new URL(AMQP_URL);
    const r = validateAmqpDestination({
      type: 'amqp@v1',
      displayName: 'bench',
      url: `amqp://${url.host}`,
      exchange,
      routingKey: '{messageSource}.{deviceId}',
      authorization: {
        type: 'userNamePassword',
        userName: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
      },
    });
    if ('problems' in r) throw new Error(JSON.stringify(r.problems));
    const adapter = await viaAdapter(createAmqpDestination(r.config));
    return {
      baseline,
      adapter,
      cpuRatio: Number((adapter.cpuUsPerMessage / baseline.cpuUsPerMessage).toFixed(2)),
    };
  } finally {
    await admin.deleteExchange(exchange).catch(() => undefined);
    await model.close();
  }
}

console.log(
  `export-brokers: ${MESSAGES} messages in batches of ${BATCH}, Node.js ${process.version}, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}`,
);
const results: Record<string, Record<string, unknown>> = { mqtt: await benchMqtt(), amqp: await benchAmqp() };
for (const [name, r] of Object.entries(results)) {
  if (r['skipped']) {
    console.log(`${name}: skipped, ${String(r['skipped'])}`);
    continue;
  }
  const b = r['baseline'] as Figures;
  const a = r['adapter'] as Figures;
  console.log(
    `${name}: destination ${a.perSecond} msgs/s, ${a.cpuUsPerMessage} µs CPU/msg; library directly (baseline) ${b.perSecond} msgs/s, ${b.cpuUsPerMessage} µs CPU/msg; CPU ratio ${String(r['cpuRatio'])}`,
  );
}
console.log(JSON.stringify({ messages: MESSAGES, batch: BATCH, ...results }));
