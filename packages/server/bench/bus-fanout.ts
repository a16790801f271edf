/**
 * `npm run bench -- bus-fanout --redis-url redis://127.0.0.1:6379 [--events 50000] [--devices 1000]`
 *
 * What a live event costs on the Redis bus, and how a node that watches every device should
 * listen (events/event-bus.ts): one PUBLISH per event on `gh:ev:{id}` with a pattern
 * subscription `gh:ev:{*}`, or a second PUBLISH per event on one fleet channel. Measures the
 * publishing node's CPU per event, Redis's CPU per event (INFO cpu) and the time until the
 * watching node has every event.
 */
import { createClient } from 'redis';
import { pino } from 'pino';

import { RedisBus } from '../src/events/redis-bus.js';

const args = process.argv.slice(2);
function option(name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}
const url = option('redis-url', process.env['GATEHOUSE_REDIS_URL'] ?? 'redis://127.0.0.1:6379');
const events = Number(option('events', '50000'));
const devices = Number(option('devices', '1000'));
const body = JSON.stringify({
  n: 'node-a',
  e: {
    type: 'telemetry',
    deviceId: 'dev-0000',
    component: null,
    enqueuedTime: new Date().toISOString(),
    body: { temperature: 21.5, humidity: 40 },
    properties: {},
  },
});

const logger = pino({ level: 'warn' });
const admin = createClient({ url });
await admin.connect();

async function redisCpuMs(): Promise<number> {
  const info = await admin.info('cpu');
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]);
  return (sys + user) * 1000;
}

type Mode = 'no-listener' | 'channel' | 'pattern' | 'fleet';

interface ModeResult {
  publishUsPerEvent: number;
  allReceivedMs: number;
  eventsPerSecond: number;
  nodeCpuUsPerEvent: number;
  redisCpuUsPerEvent: number;
}
const modes: Partial<Record<Mode, ModeResult>> = {};

async function run(mode: Mode): Promise<void> {
  const a = await RedisBus.connect({ url, logger, nodeId: 'bench-a' });
  const b = await RedisBus.connect({ url, logger, nodeId: 'bench-b' });
  let received = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (done = resolve));
  const count = () => {
    if (++received === events) done();
  };
  if (mode === 'pattern') await b.psubscribe('gh:ev:{*}', count);
  if (mode === 'fleet') await b.subscribe('gh:ev:fleet', count);
  if (mode === 'channel') for (let d = 0; d < devices; d++) await b.subscribe(`gh:ev:{dev-${d}}`, count);
  if (mode === 'no-listener') done();
  const redis0 = await redisCpuMs();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // In windows of 500 in flight, as the telemetry batcher publishes after each commit.
  for (let i = 0; i < events; i += 500) {
    const batch: Array<Promise<number>> = [];
    for (let j = i; j < Math.min(events, i + 500); j++) {
      batch.push(a.publish(`gh:ev:{dev-${j % devices}}`, body));
      if (mode === 'fleet') batch.push(a.publish('gh:ev:fleet', body));
    }
    await Promise.all(batch);
  }
  const publishedMs = performance.now() - t0;
  await all;
  const totalMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const redisMs = (await redisCpuMs()) - redis0;
  // Node CPU covers both buses (one process); the receiving side is small next to publishing.
  const r: ModeResult = {
    publishUsPerEvent: Number(((publishedMs * 1000) / events).toFixed(1)),
    allReceivedMs: Math.round(totalMs),
    eventsPerSecond: Math.round(events / (totalMs / 1000)),
    nodeCpuUsPerEvent: Number(((cpu.user + cpu.system) / events).toFixed(1)),
    redisCpuUsPerEvent: Number(((redisMs * 1000) / events).toFixed(1)),
  };
  modes[mode] = r;
  console.log(
    `${mode.padEnd(12)} ${events} events: publish ${r.publishUsPerEvent} µs/event wall, ` +
      `all received ${r.allReceivedMs} ms (${r.eventsPerSecond}/s); ` +
      `node CPU ${r.nodeCpuUsPerEvent} µs/event; redis CPU ${r.redisCpuUsPerEvent} µs/event`,
  );
  await a.close();
  await b.close();
}

console.log(`Redis ${url}, ${events} events over ${devices} devices, ${Buffer.byteLength(body)} bytes each`);
for (const mode of ['no-listener', 'channel', 'pattern', 'fleet'] as const) await run(mode);
await admin.close();
// The figures as one JSON line (`npm run bench -- all` collects it); no-listener is the baseline.
console.log(JSON.stringify({ events, devices, bodyBytes: Buffer.byteLength(body), modes }));
