/**
 * A lean MQTT 3.1.1 client on mqtt-packet over TLS, for the load generator:
 * MQTT.js costs more CPU per message than the servers under test, which would
 * make the benchmark measure the client. Only what the benchmarks need.
 */
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { generate, parser as createParser, type Packet } from 'mqtt-packet';

export interface LeanClientOptions {
  host: string;
  port: number;
  tls: ConnectionOptions;
  clientId: string;
  username?: string;
  clean?: boolean;
  keepalive?: number;
  /** Give up (socket destroyed, promise rejected) without a CONNACK after this long. */
  connectTimeoutMs?: number;
}

export class LeanClient {
  private socket!: TLSSocket;
  private nextId = 1;
  private readonly pending = new Map<number, () => void>();
  onMessage: ((topic: string, payload: Buffer) => void) | undefined;
  private subscribed: (() => void) | undefined;
  closed = false;
  /** Called once when the socket closes, whoever closed it (the soak counts disconnects). */
  onClose: (() => void) | undefined;
  // Declared before `gone`, whose initializer sets it (fields are defined in order).
  private goneResolve!: () => void;
  /** Resolves when the socket has closed. */
  readonly gone = new Promise<void>((resolve) => (this.goneResolve = resolve));

  static async connect(o: LeanClientOptions): Promise<LeanClient> {
    const c = new LeanClient();
    await c.open(o);
    return c;
  }

  private open(o: LeanClientOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      const parser = createParser({ protocolVersion: 4 });
      this.socket = tlsConnect({ host: o.host, port: o.port, ...o.tls }, () => {
        this.socket.write(
          generate({
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: 4,
            clientId: o.clientId,
            clean: o.clean ?? true,
            keepalive: o.keepalive ?? 180,
            ...(o.username ? { username: o.username } : {}),
          }),
        );
      });
      const timer = o.connectTimeoutMs
        ? setTimeout(() => {
            this.socket.destroy();
            reject(new Error(`no CONNACK in ${o.connectTimeoutMs} ms`));
          }, o.connectTimeoutMs)
        : undefined;
      this.socket.setNoDelay(true);
      this.socket.on('data', (d: Buffer) => parser.parse(d));
      this.socket.on('error', (err) => {
        if (!this.closed) reject(err);
      });
      this.socket.on('close', () => {
        clearTimeout(timer);
        this.closed = true;
        reject(new Error('closed before CONNACK'));
        this.goneResolve();
        this.onClose?.();
      });
      parser.on('packet', (p: Packet) => {
        switch (p.cmd) {
          case 'connack':
            clearTimeout(timer);
            if (p.returnCode === 0) resolve();
            else reject(new Error(`CONNACK ${p.returnCode}`));
            break;
          case 'puback': {
            const done = this.pending.get(p.messageId!);
            if (done) {
              this.pending.delete(p.messageId!);
              done();
            }
            break;
          }
          case 'suback':
            this.subscribed?.();
            break;
          case 'publish':
            if (p.qos === 1) this.socket.write(generate({ cmd: 'puback', messageId: p.messageId! }));
            this.onMessage?.(p.topic, p.payload as Buffer);
            break;
          default:
            break;
        }
      });
    });
  }

  /** QoS 1 publish; resolves on PUBACK. */
  publish(topic: string, payload: Buffer): Promise<void> {
    const messageId = this.nextId;
    this.nextId = this.nextId === 65535 ? 1 : this.nextId + 1;
    return new Promise((resolve) => {
      this.pending.set(messageId, resolve);
      this.socket.write(
        generate({ cmd: 'publish', topic, payload, qos: 1, messageId, retain: false, dup: false }),
      );
    });
  }

  subscribe(topic: string): Promise<void> {
    return new Promise((resolve) => {
      this.subscribed = resolve;
      this.socket.write(generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] }));
    });
  }

  end(): void {
    this.closed = true;
    this.socket.end(generate({ cmd: 'disconnect' }));
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }
}
