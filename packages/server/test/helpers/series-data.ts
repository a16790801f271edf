/**
 * Generated telemetry for the series tests and the brute-force answer they are checked
 * against: irregular gaps (and hours without data), several messages in one millisecond,
 * late and out-of-order messages in later batches, a component, strings and booleans next
 * to numbers. Values are multiples of 0.25, so every sum is exact in floating point and the
 * database, the rollups and the brute force must agree to the last bit.
 */
import type { TelemetryInput } from '../../src/hub/telemetry-store.js';
import type { Aggregation } from '../../src/hub/telemetry-series-query.js';

export const DAY_MS = 86_400_000;

export interface Sent {
  deviceId: string;
  component: string;
  timeMs: number;
  body: Record<string, unknown>;
  /** Position in the order of storing (= row id order). */
  seq: number;
}

/** A small deterministic PRNG (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Messages of `devices` over `days` days from `startMs`, as batches in storing order. */
export function generate(
  devices: readonly string[],
  startMs: number,
  days: number,
  seed = 7,
): { batches: TelemetryInput[][]; sent: Sent[] } {
  const rnd = random(seed);
  const all: Array<Omit<Sent, 'seq'>> = [];
  for (const deviceId of devices) {
    let t = startMs + Math.floor(rnd() * 60_000);
    while (t < startMs + days * DAY_MS) {
      // + 0: no -0, which JSON cannot carry.
      const temp = Math.round((rnd() * 100 - 50) * 4) / 4 + 0;
      const body: Record<string, unknown> = { temp, count: Math.floor(rnd() * 10) };
      if (rnd() < 0.1) body['status'] = 'ok';
      if (rnd() < 0.1) body['flag'] = rnd() < 0.5;
      if (rnd() < 0.05) body['temp'] = 'n/a';
      const component = rnd() < 0.2 ? 'thermostat1' : '';
      all.push({ deviceId, component, timeMs: t, body });
      // Another message in the same millisecond now and then: first/last must break the tie.
      if (rnd() < 0.03) all.push({ deviceId, component, timeMs: t, body: { temp: temp + 0.5 } });
      const r = rnd();
      t += r < 0.01 ? 2 * 3_600_000 + Math.floor(rnd() * 3_600_000) : 1_000 + Math.floor(rnd() * 150_000);
    }
  }
  all.sort((a, b) => a.timeMs - b.timeMs);
  // About 8% arrive late: stored after everything else, shuffled.
  const onTime: typeof all = [];
  const late: typeof all = [];
  for (const m of all) (rnd() < 0.08 ? late : onTime).push(m);
  for (let i = late.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [late[i], late[j]] = [late[j]!, late[i]!];
  }
  const sent: Sent[] = [...onTime, ...late].map((m, seq) => ({ ...m, seq }));
  const batches: TelemetryInput[][] = [];
  for (let i = 0; i < sent.length; i += 250) batches.push(sent.slice(i, i + 250).map(toInput));
  return { batches, sent };
}

export function toInput(m: Omit<Sent, 'seq'>): TelemetryInput {
  return {
    deviceId: m.deviceId,
    enqueuedAt: new Date(m.timeMs).toISOString(),
    component: m.component === '' ? null : m.component,
    body: Buffer.from(JSON.stringify(m.body)),
    contentType: 'application/json',
    systemProperties: {},
    properties: {},
    fields: m.body,
  };
}

export interface Bucket {
  time: string;
  value: number;
  count: number;
}

/** The series computed from the messages themselves, one device. */
export function bruteForce(
  sent: readonly Sent[],
  q: {
    deviceId: string;
    component?: string;
    name: string;
    fromMs: number;
    toMs: number;
    intervalS: number;
    aggregation: Aggregation;
  },
): Bucket[] {
  const size = q.intervalS * 1000;
  const buckets = new Map<number, Sent[]>();
  for (const m of sent) {
    if (m.deviceId !== q.deviceId || m.component !== (q.component ?? '')) continue;
    if (m.timeMs < q.fromMs || m.timeMs >= q.toMs) continue;
    if (typeof m.body[q.name] !== 'number') continue;
    const b = Math.floor(m.timeMs / size) * size;
    let list = buckets.get(b);
    if (!list) buckets.set(b, (list = []));
    list.push(m);
  }
  return [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([b, list]) => {
      const values = list.map((m) => m.body[q.name] as number);
      const byTime = [...list].sort((x, y) => x.timeMs - y.timeMs || x.seq - y.seq);
      let sum = 0;
      for (const v of values) sum += v;
      const value = {
        avg: sum / values.length,
        sum,
        min: Math.min(...values),
        max: Math.max(...values),
        count: values.length,
        first: byTime[0]!.body[q.name] as number,
        last: byTime.at(-1)!.body[q.name] as number,
      }[q.aggregation];
      return { time: new Date(b).toISOString(), value, count: values.length };
    });
}
