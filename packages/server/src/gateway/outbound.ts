/**
 * What a connection sends to its device, bounded (HARDENING.md §8 C4): at most `maxInflight`
 * QoS 1 publishes wait for their PUBACK (EMQX `max_inflight` 32), the stream holds at most
 * `maxWriteBufferBytes` of unsent output (EMQX `high_watermark` 1 MB) and the publishes that do
 * not fit wait here, in order, up to as many bytes again; past that a publish is refused with
 * `ERR_MQTT_SEND_QUEUE_FULL`. A QoS 1 delivery that waits is not lost: the hub keeps the
 * message and delivers it once the earlier ones are acknowledged. So a device that stops
 * reading costs at most twice the budget, and the send timeout (mqtt-connection.ts) closes it.
 */
import type { Duplex } from 'node:stream';

import type { Packet } from 'mqtt-packet';

import { gatewayError } from './errors.js';

/** [HARDENING.md §3] EMQX `max_inflight`; mosquitto 20, HiveMQ 10. */
export const DEFAULT_MAX_INFLIGHT = 32;
/** [HARDENING.md §3] EMQX `high_watermark`. */
export const DEFAULT_MAX_WRITE_BUFFER_BYTES = 1024 * 1024;
/** [HARDENING.md §3] EMQX `send_timeout`. */
export const DEFAULT_SEND_TIMEOUT_MS = 15_000;

export interface OutboundLimits {
  /** QoS 1 publishes awaiting PUBACK per connection; default 32. */
  maxInflight?: number;
  /** Unsent output per connection before publishes wait; default 1 MiB. */
  maxWriteBufferBytes?: number;
  /** Output that does not drain for this long closes the connection; default 15 s. */
  sendTimeoutMs?: number;
}

interface Waiting {
  topic: string;
  body: Buffer;
  qos: 0 | 1;
  resolve: () => void;
  reject: (err: Error) => void;
}

type Outstanding = { resolve: () => void; reject: (err: Error) => void };

/** The connection side the queue writes through. */
export interface OutboundWriter {
  readonly stream: Duplex;
  /** Encodes and writes one packet (send timeout and input backpressure are its business). */
  write(packet: Packet): void;
}

export class Outbound {
  readonly maxInflight: number;
  readonly maxWriteBufferBytes: number;
  private readonly outstanding = new Map<number, Outstanding>();
  private readonly waiting: Waiting[] = [];
  private waitingBytes = 0;
  private nextPacketId = 0;

  constructor(
    private readonly writer: OutboundWriter,
    limits: OutboundLimits = {},
  ) {
    this.maxInflight = Math.max(1, limits.maxInflight ?? DEFAULT_MAX_INFLIGHT);
    // Below the stream's own high-water mark a full buffer would never be followed by 'drain'.
    this.maxWriteBufferBytes = Math.max(
      limits.maxWriteBufferBytes ?? DEFAULT_MAX_WRITE_BUFFER_BYTES,
      writer.stream.writableHighWaterMark,
    );
  }

  /** QoS 1 publishes waiting for their PUBACK. */
  get inflight(): number {
    return this.outstanding.size;
  }

  /** Publishes not yet written (inflight window full, or the write buffer at its cap). */
  get queued(): number {
    return this.waiting.length;
  }

  publish(topic: string, body: Buffer, qos: 0 | 1): Promise<void> {
    if (this.waiting.length > 0 && this.waitingBytes + body.length > this.maxWriteBufferBytes) {
      return Promise.reject(
        gatewayError(
          'ERR_MQTT_SEND_QUEUE_FULL',
          `${this.waitingBytes} bytes already wait to be sent to the device (limit ${this.maxWriteBufferBytes})`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ topic, body, qos, resolve, reject });
      this.waitingBytes += body.length;
      this.flush();
    });
  }

  /** [MQTT-4.3.2-1] the device's PUBACK ends a QoS 1 delivery; false for an unknown identifier. */
  acknowledge(messageId: number): boolean {
    const waiter = this.outstanding.get(messageId);
    if (!waiter) return false;
    this.outstanding.delete(messageId);
    waiter.resolve();
    this.flush();
    return true;
  }

  /**
   * Writes what may be written now, in order: QoS 1 publishes in their order while the inflight
   * window has room, QoS 0 ones past them (they wait for nothing), all while the stream holds
   * less than the budget. Called on publish, PUBACK and 'drain'.
   */
  flush(): void {
    let qos1Blocked = false;
    let i = 0;
    while (i < this.waiting.length) {
      if (this.writer.stream.writableLength >= this.maxWriteBufferBytes) return;
      const next = this.waiting[i]!;
      if (next.qos === 1 && (qos1Blocked || this.outstanding.size >= this.maxInflight)) {
        qos1Blocked = true;
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      this.waitingBytes -= next.body.length;
      this.send(next);
    }
  }

  /** Fails everything outstanding and waiting (the connection closed). */
  fail(err: Error): void {
    for (const waiter of this.outstanding.values()) waiter.reject(err);
    this.outstanding.clear();
    const waiting = this.waiting.splice(0);
    this.waitingBytes = 0;
    for (const entry of waiting) entry.reject(err);
  }

  private send(entry: Waiting): void {
    const base = {
      cmd: 'publish',
      topic: entry.topic,
      payload: entry.body,
      dup: false,
      retain: false,
    } as const;
    if (entry.qos === 0) {
      this.writer.write({ ...base, qos: 0 });
      entry.resolve();
      return;
    }
    const messageId = this.allocatePacketId();
    if (messageId === undefined) {
      entry.reject(gatewayError('ERR_MQTT_PACKET_IDS_EXHAUSTED', 'no free packet identifier'));
      return;
    }
    this.outstanding.set(messageId, { resolve: entry.resolve, reject: entry.reject });
    this.writer.write({ ...base, qos: 1, messageId });
  }

  /** [MQTT-2.3.1-2] a packet identifier not in use by another QoS 1 delivery. */
  private allocatePacketId(): number | undefined {
    for (let tries = 0; tries < 65535; tries++) {
      this.nextPacketId = this.nextPacketId >= 65535 ? 1 : this.nextPacketId + 1;
      if (!this.outstanding.has(this.nextPacketId)) return this.nextPacketId;
    }
    return undefined;
  }
}
