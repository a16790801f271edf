/**
 * In-memory MQTT harness for the gateway tests (STYLE.md: most MQTT tests run over duplex
 * streams, without sockets): a duplex pair, a packet-level client built on mqtt-packet, a
 * fake DpsHandler that records its calls, and a logger whose lines the test can read.
 */
import { Duplex } from 'node:stream';

import { generate, parser as createParser, type Packet } from 'mqtt-packet';
import { pino, type Logger } from 'pino';

import type { DpsHandler, DpsReply, DpsRequestContext } from '../../src/provisioning/dps-handler.js';

class PairEnd extends Duplex {
  peer!: PairEnd;
  private eofSent = false;

  constructor() {
    super({ allowHalfOpen: false });
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.peer.push(chunk);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.sendEof();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.sendEof();
    callback(error);
  }

  private sendEof(): void {
    if (this.eofSent) return;
    this.eofSent = true;
    this.peer.push(null);
  }
}

/** Two connected in-memory stream ends, like a socketpair: what one writes the other reads. */
export function duplexPair(): [Duplex, Duplex] {
  const a = new PairEnd();
  const b = new PairEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** A device-side MQTT 3.1.1 client at packet level: send frames, await the server's packets. */
export class PacketClient {
  readonly closed: Promise<void>;
  isClosed = false;
  private readonly queue: Packet[] = [];
  private readonly waiters: Array<(p: Packet) => void> = [];

  constructor(readonly stream: Duplex) {
    const parser = createParser({ protocolVersion: 4 });
    parser.on('packet', (packet: Packet) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter(packet);
      else this.queue.push(packet);
    });
    stream.on('data', (chunk: Buffer) => parser.parse(chunk));
    stream.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      const done = () => {
        this.isClosed = true;
        resolve();
      };
      stream.once('end', done);
      stream.once('close', done);
    });
  }

  send(packet: Packet, protocolVersion: 4 | 5 = 4): void {
    this.stream.write(generate(packet, { protocolVersion }));
  }

  sendRaw(bytes: Buffer): void {
    this.stream.write(bytes);
  }

  /** The next packet from the server; rejects after `timeoutMs` or when the stream closes first. */
  next(timeoutMs = 2000): Promise<Packet> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no packet within ${timeoutMs} ms`)), timeoutMs);
      const waiter = (p: Packet) => {
        clearTimeout(timer);
        resolve(p);
      };
      this.waiters.push(waiter);
      void this.closed.then(() => {
        // Let packets that arrived with the end be delivered first.
        setImmediate(() => {
          const at = this.waiters.indexOf(waiter);
          if (at === -1) return;
          this.waiters.splice(at, 1);
          clearTimeout(timer);
          reject(new Error('stream closed'));
        });
      });
    });
  }

  /** Resolves when the server closes the stream, rejects after `timeoutMs`. */
  async expectClosed(timeoutMs = 2000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

export type DpsCall =
  | { method: 'register'; ctx: DpsRequestContext; payload: Buffer }
  | { method: 'operationStatus'; ctx: DpsRequestContext; operationId: string };

/** A DpsHandler that records every call and answers with canned (or scripted) replies. */
export class FakeDpsHandler implements DpsHandler {
  readonly calls: DpsCall[] = [];
  registerReply: (ctx: DpsRequestContext, payload: Buffer) => DpsReply | Promise<DpsReply> = () => ({
    status: 202,
    body: { operationId: '5.fake.1', status: 'assigning' },
    retryAfterSeconds: 3,
  });
  statusReply: (ctx: DpsRequestContext, operationId: string) => DpsReply | Promise<DpsReply> = (
    ctx,
    operationId,
  ) => ({
    status: 200,
    body: {
      operationId,
      status: 'assigned',
      registrationState: {
        registrationId: ctx.registrationId,
        assignedHub: 'localhost',
        deviceId: ctx.registrationId,
        status: 'assigned',
      },
    },
  });

  async register(ctx: DpsRequestContext, payload: Buffer): Promise<DpsReply> {
    this.calls.push({ method: 'register', ctx, payload });
    return this.registerReply(ctx, payload);
  }

  async operationStatus(ctx: DpsRequestContext, operationId: string): Promise<DpsReply> {
    this.calls.push({ method: 'operationStatus', ctx, operationId });
    return this.statusReply(ctx, operationId);
  }
}

export interface CapturedLogger {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
  messages(): string[];
}

/** A debug-level pino logger writing JSON lines into memory. */
export function captureLogger(): CapturedLogger {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines, messages: () => lines.map((l) => String(l['msg'])) };
}
