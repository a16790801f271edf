/**
 * The bus over Redis pub/sub (CLUSTER.md §4: at-most-once, and that is enough because the
 * store holds everything acknowledged). One publisher client and one subscriber client per node
 * (a connection in subscribe mode can run no other command). Both reconnect by themselves with
 * capped exponential backoff and jitter; node-redis re-subscribes the channels it had on the new
 * connection, and this bus subscribes whatever was asked for while the connection was down.
 * While Redis is down, publish fails at once with ERR_BUS_UNAVAILABLE (the publisher has no
 * offline queue): a caller such as a REST command answers 503 instead of hanging.
 */
import { createClient, type RedisClientType } from 'redis';
import type { Logger } from 'pino';

import type { Bus, BusHandler, BusHealth, BusState, Unsubscribe } from './bus.js';
import { busError } from './errors.js';

export interface RedisBusOptions {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…`. */
  url: string;
  logger: Logger;
  /** Shown by `CLIENT LIST` as `gatehouse:<nodeId>:pub|sub`. */
  nodeId?: string;
  /** A PUBLISH that gets no answer in this time fails with ERR_BUS_UNAVAILABLE; default 2000 ms. */
  publishTimeoutMs?: number;
  /** How long start waits for Redis before ERR_BUS_UNREACHABLE; default 3000 ms. */
  connectTimeoutMs?: number;
  /** Reconnect backoff: first delay and cap, in ms; default 50 and 2000. */
  backoff?: { minMs: number; maxMs: number };
}

type Client = RedisClientType;
type Kind = 'channel' | 'pattern';

/** Capped exponential backoff with full jitter (avoids every node hitting Redis in step). */
export function backoffDelay(retries: number, minMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(retries, 16));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

export class RedisBus implements Bus {
  readonly kind = 'redis' as const;
  private readonly pub: Client;
  private readonly sub: Client;
  private readonly logger: Logger;
  private readonly publishTimeoutMs: number;
  /** What this node wants: channel or pattern → its handlers. */
  private readonly wanted: Record<Kind, Map<string, Set<BusHandler>>> = {
    channel: new Map(),
    pattern: new Map(),
  };
  /** Confirmed by Redis (node-redis re-subscribes these after a reconnect). */
  private readonly active: Record<Kind, Set<string>> = { channel: new Set(), pattern: new Set() };
  /** Subscribe commands in flight. */
  private readonly inflight: Record<Kind, Map<string, Promise<void>>> = {
    channel: new Map(),
    pattern: new Map(),
  };
  /** node-redis calls pattern listeners with the channel only, so one listener per pattern. */
  private readonly patternListeners = new Map<string, (message: Buffer, channel: Buffer) => void>();
  private readonly stateListeners = new Set<(state: BusState) => void>();
  private state: BusState = 'down';
  private starting = true;
  private reported = false;
  /** Connection losses since start, for logs and tests. */
  reconnects = 0;

  private constructor(options: RedisBusOptions) {
    this.logger = options.logger;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 2000;
    const { minMs, maxMs } = options.backoff ?? { minMs: 50, maxMs: 2000 };
    const connectTimeout = options.connectTimeoutMs ?? 3000;
    const name = `gatehouse:${(options.nodeId ?? 'node').replace(/\s/g, '_')}`;
    const base = {
      url: options.url,
      socket: {
        connectTimeout,
        // At start, one failed attempt is the answer (ERR_BUS_UNREACHABLE); later, retry forever.
        reconnectStrategy: (retries: number, cause: Error) =>
          this.starting ? cause : backoffDelay(retries, minMs, maxMs),
      },
    };
    this.pub = createClient({ ...base, name: `${name}:pub`, disableOfflineQueue: true }) as Client;
    this.sub = createClient({ ...base, name: `${name}:sub` }) as Client;
    for (const [role, client] of [
      ['publisher', this.pub],
      ['subscriber', this.sub],
    ] as const) {
      client.on('error', (err: Error) => this.onClientError(role, err));
      client.on('ready', () => this.onReady(role));
      client.on('end', () => this.updateState());
      client.on('reconnecting', () => this.updateState());
    }
  }

  /** Connects both clients; throws ERR_BUS_URL_INVALID or ERR_BUS_UNREACHABLE (with the fix). */
  static async connect(options: RedisBusOptions): Promise<RedisBus> {
    checkRedisUrl(options.url);
    const bus = new RedisBus(options);
    try {
      await Promise.all([bus.pub.connect(), bus.sub.connect()]);
    } catch (err) {
      await bus.destroy();
      throw busError(
        'ERR_BUS_UNREACHABLE',
        `Redis at ${redactUrl(options.url)} is unreachable (${describe(err)}): start it or fix --redis-url.`,
        { cause: err },
      );
    }
    bus.starting = false;
    bus.updateState();
    return bus;
  }

  async publish(channel: string, message: string | Buffer): Promise<number> {
    if (this.state === 'closed') throw busError('ERR_BUS_CLOSED', 'The bus is closed.');
    if (!this.pub.isReady) throw busError('ERR_BUS_UNAVAILABLE', 'Redis is not connected.');
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.pub.publish(channel, message),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${this.publishTimeoutMs} ms`)),
            this.publishTimeoutMs,
          );
        }),
      ]);
    } catch (err) {
      throw busError('ERR_BUS_UNAVAILABLE', `Redis PUBLISH failed: ${describe(err)}.`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  subscribe(channel: string, handler: BusHandler): Promise<Unsubscribe> {
    return this.add('channel', channel, handler);
  }

  psubscribe(pattern: string, handler: BusHandler): Promise<Unsubscribe> {
    return this.add('pattern', pattern, handler);
  }

  isHealthy(): boolean {
    return this.state === 'up';
  }

  async check(timeoutMs = 1000): Promise<BusHealth> {
    if (this.state === 'closed') return { ok: false, state: 'closed', detail: 'bus closed' };
    if (!this.pub.isReady || !this.sub.isReady) {
      return { ok: false, state: 'down', detail: 'Redis not connected (reconnecting)' };
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.pub.ping(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no PONG within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return { ok: true, state: 'up', detail: 'Redis answers' };
    } catch (err) {
      return { ok: false, state: this.state, detail: `Redis PING failed: ${describe(err)}` };
    } finally {
      clearTimeout(timer);
    }
  }

  onStateChange(listener: (state: BusState) => void): () => void {
    this.stateListeners.add(listener);
    return () => void this.stateListeners.delete(listener);
  }

  /** Channels and patterns this node listens to (what it asked for, confirmed or not). */
  get subscriptionCount(): number {
    return this.wanted.channel.size + this.wanted.pattern.size;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.setState('closed');
    await this.destroy();
  }

  private async destroy(): Promise<void> {
    await Promise.all(
      [this.pub, this.sub].map(async (client) => {
        if (!client.isOpen) return;
        // close() waits for replies; a dead connection would make it wait for the reconnect.
        if (client.isReady) await client.close().catch(() => client.destroy());
        else client.destroy();
      }),
    );
  }

  private async add(kind: Kind, name: string, handler: BusHandler): Promise<Unsubscribe> {
    if (this.state === 'closed') throw busError('ERR_BUS_CLOSED', 'The bus is closed.');
    let handlers = this.wanted[kind].get(name);
    if (!handlers) this.wanted[kind].set(name, (handlers = new Set()));
    handlers.add(handler);
    let removed = false;
    const unsubscribe: Unsubscribe = async () => {
      if (removed) return;
      removed = true;
      const current = this.wanted[kind].get(name);
      if (!current?.delete(handler) || current.size > 0) return;
      this.wanted[kind].delete(name);
      await this.reconcile(kind, name);
    };
    await this.reconcile(kind, name);
    return unsubscribe;
  }

  /**
   * Brings Redis in line with `wanted` for one channel or pattern: subscribe if wanted and not
   * active, unsubscribe if active and no longer wanted. Waits for a command in flight first, so
   * a subscribe and an unsubscribe of the same name never cross. Does nothing while the
   * subscriber is down: onReady() reconciles everything.
   */
  private async reconcile(kind: Kind, name: string): Promise<void> {
    for (;;) {
      const running = this.inflight[kind].get(name);
      if (running) {
        await running;
        continue;
      }
      const want = this.wanted[kind].has(name);
      const have = this.active[kind].has(name);
      if (want === have || !this.sub.isReady) return;
      const step = (want ? this.redisSubscribe(kind, name) : this.redisUnsubscribe(kind, name))
        .catch((err: unknown) => {
          // Lost with the connection: onReady() tries again.
          this.logger.debug({ err, kind, name }, 'bus (un)subscribe not confirmed');
        })
        .finally(() => this.inflight[kind].delete(name));
      this.inflight[kind].set(name, step);
    }
  }

  private async redisSubscribe(kind: Kind, name: string): Promise<void> {
    if (kind === 'channel') await this.sub.subscribe(name, this.onChannelMessage, true);
    else await this.sub.pSubscribe(name, this.patternListener(name), true);
    this.active[kind].add(name);
  }

  private async redisUnsubscribe(kind: Kind, name: string): Promise<void> {
    // Stays active until Redis confirms: if the connection drops first, node-redis re-subscribes
    // it on the new one and onReady() unsubscribes it again (a stale device channel would make
    // PUBLISH count this node as the device's owner).
    if (kind === 'channel') await this.sub.unsubscribe(name, this.onChannelMessage, true);
    else await this.sub.pUnsubscribe(name, this.patternListener(name), true);
    this.active[kind].delete(name);
    if (kind === 'pattern') this.patternListeners.delete(name);
  }

  private readonly onChannelMessage = (message: Buffer, channel: Buffer): void => {
    const name = channel.toString();
    this.dispatch(this.wanted.channel.get(name), message, name);
  };

  private patternListener(pattern: string): (message: Buffer, channel: Buffer) => void {
    let listener = this.patternListeners.get(pattern);
    if (!listener) {
      listener = (message, channel) =>
        this.dispatch(this.wanted.pattern.get(pattern), message, channel.toString());
      this.patternListeners.set(pattern, listener);
    }
    return listener;
  }

  private dispatch(handlers: Set<BusHandler> | undefined, message: Buffer, channel: string): void {
    if (!handlers) return;
    for (const handler of handlers) {
      try {
        handler(message, channel);
      } catch (err) {
        this.logger.error({ err, channel }, 'bus handler failed');
      }
    }
  }

  private onReady(role: 'publisher' | 'subscriber'): void {
    if (role === 'subscriber') {
      // node-redis re-subscribed what Redis had confirmed; add what was asked for meanwhile.
      for (const kind of ['channel', 'pattern'] as const) {
        for (const name of this.wanted[kind].keys()) void this.reconcile(kind, name);
        for (const name of [...this.active[kind]]) {
          if (!this.wanted[kind].has(name)) void this.reconcile(kind, name);
        }
      }
    }
    this.updateState();
  }

  private onClientError(role: 'publisher' | 'subscriber', err: Error): void {
    if (this.starting || this.state === 'closed') return;
    // Every failed reconnect attempt emits an error: the first of an outage is worth a warning.
    if (!this.reported) {
      this.reported = true;
      this.logger.warn({ role, err: describe(err) }, 'bus: Redis connection lost; reconnecting');
    } else this.logger.debug({ role, err: describe(err) }, 'bus: Redis reconnect attempt failed');
    this.updateState();
  }

  private updateState(): void {
    if (this.state === 'closed' || this.starting) return;
    this.setState(this.pub.isReady && this.sub.isReady ? 'up' : 'down');
  }

  private setState(state: BusState): void {
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    if (state === 'down') this.reconnects++;
    if (state === 'up') {
      this.reported = false;
      this.logger.info(
        { previous, channels: this.wanted.channel.size, patterns: this.wanted.pattern.size },
        'bus state: up (Redis connected)',
      );
    } else if (state === 'down') this.logger.warn({ previous }, 'bus state: down (Redis unreachable)');
    else this.logger.info({ previous }, 'bus state: closed');
    for (const listener of this.stateListeners) listener(state);
  }
}

/** Refuses what node-redis would misread (ERR_BUS_URL_INVALID). */
export function checkRedisUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw busError('ERR_BUS_URL_INVALID', `'${url}' is not a URL: use redis://HOST:PORT.`);
  }
  if ((parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || parsed.hostname === '') {
    throw busError(
      'ERR_BUS_URL_INVALID',
      `'${redactUrl(url)}' is not a redis:// or rediss:// URL with a host.`,
    );
  }
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describe(err.errors[0]);
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code} ${err.message}` : err.message || err.name;
  }
  return String(err);
}
