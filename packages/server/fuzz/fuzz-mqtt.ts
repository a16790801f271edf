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
import { chunked, countPackets, cuts, mutated } from './mutate.js';

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
  /**
   * Conversations in flight at once (default 1). Most of an input's time is spent waiting for
   * the services' answers, so a long run goes many times faster with 16 to 64. Findings raised
   * asynchronously (an unhandled rejection) are then attributed to the latest input begun;
   * `--replay` always runs alone.
   */
  parallel?: number;
}

export function mqttInputs(context: MqttFuzzContext): fc.Arbitrary<[Uint8Array, number[]]> {
  return fc.tuple(mutated(conversation(context)), cuts);
}

export async function fuzzMqtt(o: MqttFuzzOptions): Promise<FuzzReport> {
  const rec = new FuzzRecorder('mqtt', o.seed);
  const arbitrary = mqttInputs(o.context);
  const parallel = o.replay !== undefined ? 1 : Math.max(1, o.parallel ?? 1);
  let written = 0;
  let packets = 0;
  const run = async (index: number, bytes: Uint8Array, cutPoints: number[]) => {
    rec.begin(index);
    packets += countPackets(bytes);
    try {
      const r = await runMqttInput(o.gateway, chunked(bytes, cutPoints));
      rec.time(r.syncMs);
      written += r.written;
      if (r.syncMs > SLOW_INPUT_MS) rec.add('slow-input', `${r.syncMs.toFixed(1)} ms`, index, bytes);
      if (r.hung) rec.add('no-close', 'connection still open 2 s after the peer left', index, bytes);
    } catch (err) {
      rec.add('thrown', err instanceof Error ? `${err.name}: ${err.message}` : String(err), index, bytes);
    }
  };
  for (const { batch, count, first } of batches(o.runs, BATCH)) {
    const inputs = fc.sample(arbitrary, { numRuns: count, seed: o.seed + batch });
    let next = 0;
    const worker = async () => {
      while (next < inputs.length) {
        const i = next++;
        if (o.replay !== undefined && first + i !== o.replay) continue;
        const [bytes, cutPoints] = inputs[i]!;
        await run(first + i, bytes, cutPoints);
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    await o.onBatch?.(first + count);
  }
  return rec.finish({ parallel, packets, bytesWritten: written });
}
