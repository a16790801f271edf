/**
 * The in-process MQTT target: one fuzzed conversation goes through the gateway exactly as a
 * socket's bytes would (handleMqttStream: the connection state machine, the dispatcher, the
 * real DPS and hub services behind it), over a stream whose writes go nowhere. What is
 * measured per input: the time the gateway spends on its bytes, and whether the connection
 * still closes when the peer goes away (a connection that never closes is a leak or a hang).
 */
import { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { setImmediate as tick, setTimeout as delay } from 'node:timers/promises';

import type { GatewayOptions, MqttPeer } from '../src/gateway/gateway-options.js';
import { handleMqttStream } from '../src/gateway/mqtt-stream.js';

const PEER: MqttPeer = { peerCertificates: [], remoteAddress: '127.0.0.1', transport: 'mqtt' };

export interface InputResult {
  /** Milliseconds the gateway spent synchronously on the input's chunks. */
  syncMs: number;
  /** Milliseconds from the first chunk until the connection had closed after the peer left. */
  totalMs: number;
  /** Bytes the gateway wrote back. */
  written: number;
  /** The CONNACK return code, if one was sent (0: the conversation reached a session). */
  connack: number | undefined;
  /** The connection did not close within `closeTimeoutMs` of the peer going away. */
  hung: boolean;
}

/** A stream the gateway reads `chunks` from and writes into a counter (and, if asked, a list). */
export class FuzzStream extends Duplex {
  written = 0;
  /** The CONNACK return code the gateway sent, if any. */
  connack: number | undefined;
  /** What the gateway wrote, chunk by chunk, when constructed with `keep`. */
  readonly output: Buffer[] = [];

  constructor(private readonly keep = false) {
    super();
  }

  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.written === 0 && chunk[0] === 0x20 && chunk.length >= 4) this.connack = chunk[3];
    this.written += chunk.length;
    if (this.keep) this.output.push(Buffer.from(chunk));
    done();
  }
}

export async function runMqttInput(
  gateway: GatewayOptions,
  chunks: readonly Uint8Array[],
  closeTimeoutMs = 2000,
  settleMs = 30,
  quietMs = 3,
): Promise<InputResult> {
  const stream = new FuzzStream();
  const start = performance.now();
  const conn = handleMqttStream(stream, PEER, gateway);
  let syncMs = 0;
  for (const chunk of chunks) {
    const t = performance.now();
    stream.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    syncMs += performance.now() - t;
    // Let the stream deliver the chunk and the services answer what they can at once.
    await tick();
  }
  // Give asynchronous work (a SAS check, a store read) a few turns. A conversation that
  // reached a session (CONNACK 0) then gets until nothing more was written for `quietMs` (at
  // most `settleMs`), so telemetry is committed and acknowledged before the peer leaves.
  for (let i = 0; i < 3 && !conn.isClosing; i++) await tick();
  if (stream.connack === 0) {
    const settleUntil = performance.now() + settleMs;
    let seen = -1;
    while (!conn.isClosing && stream.written !== seen && performance.now() < settleUntil) {
      seen = stream.written;
      await delay(quietMs);
    }
  }
  stream.push(null);
  stream.destroy();
  let timer: NodeJS.Timeout | undefined;
  const hung = await Promise.race([
    conn.closed.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), closeTimeoutMs))),
  ]);
  clearTimeout(timer);
  return {
    syncMs,
    totalMs: performance.now() - start,
    written: stream.written,
    connack: stream.connack,
    hung,
  };
}
