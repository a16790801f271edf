/**
 * `npm run fuzz -- mqtt`: fuzzed MQTT conversations through the gateway in process (target F1 of
 * HARDENING.md §8: no uncaught exception, no input slower than 100 ms, every connection
 * closes once its peer has gone).
 */
import fc from 'fast-check';

import type { GatewayOptions } from '../src/gateway/gateway-options.js';
import { batches, FuzzRecorder, type FuzzReport } from './fuzz-report.js';
import { conversation, type MqttFuzzContext } from './mqtt-packets.js';
import { runMqttInput } from './mqtt-target.js';
import { chunked, cuts, mutated } from './mutate.js';

/** The slowest an input may take (gateway time on its bytes). */
export const SLOW_INPUT_MS = 100;
const BATCH = 1000;

export interface MqttFuzzOptions {
  gateway: GatewayOptions;
  context: MqttFuzzContext;
  runs: number;
  seed: number;
  /** Runs only this input of the run (from a finding's `index`). */
  replay?: number;
  /** Called after each batch (progress, or a health check between batches). */
  onBatch?: (done: number) => Promise<void> | void;
}

export function mqttInputs(context: MqttFuzzContext): fc.Arbitrary<[Uint8Array, number[]]> {
  return fc.tuple(mutated(conversation(context)), cuts);
}

export async function fuzzMqtt(o: MqttFuzzOptions): Promise<FuzzReport> {
  const rec = new FuzzRecorder('mqtt', o.seed);
  const arbitrary = mqttInputs(o.context);
  let written = 0;
  for (const { batch, count, first } of batches(o.runs, BATCH)) {
    const inputs = fc.sample(arbitrary, { numRuns: count, seed: o.seed + batch });
    for (let i = 0; i < inputs.length; i++) {
      const index = first + i;
      if (o.replay !== undefined && index !== o.replay) continue;
      const [bytes, cutPoints] = inputs[i]!;
      rec.begin(index);
      try {
        const r = await runMqttInput(o.gateway, chunked(bytes, cutPoints));
        rec.time(r.syncMs);
        written += r.written;
        if (r.syncMs > SLOW_INPUT_MS) rec.add('slow-input', `${r.syncMs.toFixed(1)} ms`, index, bytes);
        if (r.hung) rec.add('no-close', 'connection still open 2 s after the peer left', index, bytes);
      } catch (err) {
        rec.add('thrown', err instanceof Error ? `${err.name}: ${err.message}` : String(err), index, bytes);
      }
    }
    await o.onBatch?.(first + count);
  }
  return rec.finish({ bytesWritten: written });
}
