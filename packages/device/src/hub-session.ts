/**
 * The life of a hub connection (PROTOCOL.md §3.1, §3.8, §3.9): one MQTT/TLS link at a time,
 * `clean=false` so the hub keeps subscriptions and queued C2D messages; after an unexpected drop
 * it reconnects with exponential back-off and jitter; a SAS token is renewed before it expires
 * by disconnecting and connecting again with a fresh one, as the Azure SDK does. Every
 * connection re-subscribes what the app asked for (harmless on a persistent session, and it
 * covers servers that forget sessions). Operations wait for a ready connection and are sent
 * again if the connection is lost before they complete.
 *
 * Internal: `HubClient` is the public face.
 */
import type { MqttClient } from 'mqtt';

import { backoffDelay, type BackoffOptions } from './backoff.js';
import { DeviceError } from './errors.js';
import { openMqttConnection, type MqttConnectionOptions } from './mqtt-connection.js';

/**
 * Why a hub connection came up, as the `'connected'` event reports it: the first `open`, a
 * `reconnect` after a drop, or a SAS token `renewal`.
 *
 * @example
 * ```ts
 * import type { ConnectReason } from '@gatehouse/device';
 * client.on('connected', ({ reason }: { reason: ConnectReason }) => console.log('up:', reason));
 * ```
 */
export type ConnectReason = 'open' | 'reconnect' | 'renewal';

/** A connected link; `lost` resolves when it closes for whatever reason. */
export interface LiveConnection {
  client: MqttClient;
  generation: number;
  lost: Promise<void>;
}

/** How the session gets a password for each CONNECT (a fresh SAS token, a fixed one, or none). */
export interface SessionCredential {
  /** Password for the next CONNECT, and when (ms since epoch) it must be renewed, if ever. */
  password(): { password?: string; renewAt?: number };
}

export interface SessionOptions {
  /** Connection options, TLS material loaded (called before each CONNECT). */
  connection: () => Promise<Omit<MqttConnectionOptions, 'password'>>;
  credential: SessionCredential;
  reconnect: BackoffOptions;
}

export interface SessionEvents {
  connected(reason: ConnectReason): void;
  disconnected(reason: string): void;
  error(err: DeviceError): void;
  message(topic: string, payload: Buffer): void;
}

type State = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

const LOST = Symbol('lost');

export class HubSession {
  private state: State = 'idle';
  private current: (LiveConnection & { retiring: boolean; ready: boolean }) | undefined;
  private generation = 0;
  private readonly filters = new Map<string, 0 | 1>();
  private waiters: Array<{ resolve: (c: LiveConnection) => void; reject: (e: DeviceError) => void }> = [];
  private renewTimer: NodeJS.Timeout | undefined;
  private retryTimer: { timer: NodeJS.Timeout; wake: () => void } | undefined;

  constructor(
    private readonly options: SessionOptions,
    private readonly events: SessionEvents,
  ) {}

  get isConnected(): boolean {
    return this.state === 'connected' && this.current?.ready === true;
  }

  get isOpen(): boolean {
    return this.state !== 'idle' && this.state !== 'closed';
  }

  /** First connection: no retry, the caller learns at once what is wrong. */
  async open(): Promise<void> {
    if (this.isOpen) return;
    this.state = 'connecting';
    try {
      await this.connect('open');
    } catch (err) {
      this.state = 'idle';
      throw err;
    }
  }

  async close(): Promise<void> {
    if (!this.isOpen) return;
    this.state = 'closed';
    clearTimeout(this.renewTimer);
    this.retryTimer?.wake();
    this.rejectWaiters(new DeviceError('ERR_DEVICE_CLOSED', 'the client was closed'));
    const conn = this.current;
    this.current = undefined;
    if (conn) {
      conn.retiring = true;
      await endGracefully(conn.client);
      this.events.disconnected('closed');
    }
  }

  /**
   * Subscribe `filter` now (if connected) and on every later connection. Resolves once the
   * server granted it on the current connection, or at once when not connected.
   */
  async subscribe(filter: string, qos: 0 | 1, deadline: number): Promise<void> {
    const known = this.filters.get(filter);
    if (known !== undefined && known >= qos && this.isConnected) return;
    this.filters.set(filter, qos);
    if (!this.isOpen) return;
    await this.run(deadline, (conn) => subscribeOn(conn.client, filter, qos));
  }

  /**
   * Run `attempt` on a ready connection; if that connection is lost before `attempt` settles,
   * run it again on the next one. Rejects with `ERR_DEVICE_TIMEOUT` at `deadline`, with
   * `ERR_DEVICE_CLOSED` when the client is closed.
   */
  async run<T>(deadline: number, attempt: (conn: LiveConnection) => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DeviceError('ERR_DEVICE_TIMEOUT', 'the operation did not complete in time')),
        Math.max(0, deadline - Date.now()),
      );
    });
    try {
      for (;;) {
        const conn = await Promise.race([this.ready(), timeout]);
        const running = attempt(conn).catch((err: unknown) => {
          if (err instanceof DeviceError) throw err;
          // An MQTT.js error on a link that is being replaced means "lost": try the next one.
          if (this.current !== conn || !conn.client.connected) return LOST;
          throw new DeviceError('ERR_DEVICE_CONNECT_FAILED', `the MQTT client failed: ${String(err)}`, {
            cause: err,
          });
        });
        running.catch(() => undefined);
        const outcome = await Promise.race([running, conn.lost.then(() => LOST), timeout]);
        if (outcome !== LOST) return outcome as T;
        if (this.state === 'closed') throw new DeviceError('ERR_DEVICE_CLOSED', 'the client was closed');
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** The current connection once it is up and its subscriptions are replayed. */
  private ready(): Promise<LiveConnection> {
    if (this.state === 'closed' || this.state === 'idle') {
      return Promise.reject(new DeviceError('ERR_DEVICE_NOT_OPEN', 'call open() first'));
    }
    if (this.current?.ready && this.state === 'connected') return Promise.resolve(this.current);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private rejectWaiters(err: DeviceError): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(err);
  }

  private async connect(reason: ConnectReason): Promise<void> {
    const base = await this.options.connection();
    const { password, renewAt } = this.options.credential.password();
    const client = await openMqttConnection({
      ...base,
      ...(password === undefined ? {} : { password }),
    });
    if (this.state === 'closed') {
      client.end(true);
      return;
    }
    const generation = ++this.generation;
    let markLost: () => void = () => undefined;
    const lost = new Promise<void>((resolve) => (markLost = resolve));
    const conn = { client, generation, lost, retiring: false, ready: false };
    this.current = conn;
    client.on('message', (topic, payload) => {
      if (this.current === conn) this.events.message(topic, payload);
    });
    client.on('close', () => {
      markLost();
      client.end(true);
      if (this.current === conn && !conn.retiring) this.onLost();
    });
    // Re-subscribe everything the app asked for, one filter per SUBSCRIBE like the SDK (§3.2).
    const replay = [...this.filters].map(([filter, qos]) =>
      subscribeOn(client, filter, qos).catch((err: unknown) => {
        if (err instanceof DeviceError) this.events.error(err);
      }),
    );
    const outcome = await Promise.race([Promise.all(replay), lost.then(() => LOST)]);
    if (outcome === LOST) {
      if (reason === 'open') {
        throw new DeviceError('ERR_DEVICE_CONNECT_FAILED', 'the connection closed right after CONNACK');
      }
      return;
    }
    conn.ready = true;
    this.state = 'connected';
    this.scheduleRenewal(renewAt);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve(conn);
    this.events.connected(reason);
  }

  private onLost(): void {
    if (this.state === 'closed') return;
    clearTimeout(this.renewTimer);
    this.current = undefined;
    this.state = 'reconnecting';
    this.events.disconnected('connection lost');
    void this.reconnectLoop('reconnect');
  }

  private async reconnectLoop(reason: ConnectReason): Promise<void> {
    for (let attempt = 0; this.state !== 'closed'; attempt++) {
      // A renewal reconnects at once; after a drop the first retry already waits (jitter).
      if (reason !== 'renewal' || attempt > 0) {
        await this.sleep(backoffDelay(attempt, this.options.reconnect));
        if (this.state !== 'reconnecting') return;
      }
      try {
        await this.connect(reason === 'renewal' && attempt === 0 ? 'renewal' : 'reconnect');
        return;
      } catch (err) {
        if (this.state !== 'reconnecting') return;
        if (err instanceof DeviceError && err.code === 'ERR_DEVICE_UNAUTHORIZED') {
          // Like the SDK: refused credentials are not retried (§3.8). Revoking a device stops it.
          this.state = 'closed';
          this.rejectWaiters(err);
          this.events.error(err);
          return;
        }
      }
    }
  }

  private scheduleRenewal(renewAt: number | undefined): void {
    clearTimeout(this.renewTimer);
    if (renewAt === undefined) return;
    this.renewTimer = setTimeout(() => void this.renew(), Math.max(0, renewAt - Date.now()));
    this.renewTimer.unref();
  }

  /** §3.9: DISCONNECT, then CONNECT again (clean=false) with a fresh token. */
  private async renew(): Promise<void> {
    const conn = this.current;
    if (this.state !== 'connected' || !conn) return;
    conn.retiring = true;
    this.state = 'reconnecting';
    this.current = undefined;
    await endGracefully(conn.client);
    if (this.state === 'reconnecting') await this.reconnectLoop('renewal');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.retryTimer = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.retryTimer = { timer, wake };
    });
  }
}

async function subscribeOn(client: MqttClient, filter: string, qos: 0 | 1): Promise<void> {
  const granted = await client.subscribeAsync(filter, { qos });
  // SUBACK 0x80 = failure [MQTT-3.9.3]; the Azure SDK ignores it, we report it.
  if (granted.some((g) => g.qos === 128)) {
    throw new DeviceError('ERR_DEVICE_SUBSCRIBE_FAILED', `the hub refused the subscription ${filter}`);
  }
}

/** DISCONNECT politely, but never wait more than two seconds for it. */
async function endGracefully(client: MqttClient): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      client.end(true);
      resolve();
    }, 2000);
    client.end(false, {}, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
