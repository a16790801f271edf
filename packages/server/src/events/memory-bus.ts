/**
 * The bus of one process (the default, no cluster): the same contract as Redis pub/sub —
 * receiver counts, asynchronous delivery, patterns — without a network. A MemoryBus is one
 * node's connection to a broker; `new MemoryBus({ broker: other.broker })` is a second "node"
 * in the same process (tests).
 */
import type { Logger } from 'pino';

import type { Bus, BusHandler, BusHealth, BusState, Unsubscribe } from './bus.js';
import { busError } from './errors.js';
import { globToRegExp } from './glob.js';

/** The shared part: which nodes are connected. */
export class MemoryBroker {
  readonly nodes = new Set<MemoryBus>();
}

export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  readonly broker: MemoryBroker;
  private readonly logger: Logger | undefined;
  private readonly channels = new Map<string, Set<BusHandler>>();
  private readonly patterns = new Map<string, { regexp: RegExp; handlers: Set<BusHandler> }>();
  private readonly listeners = new Set<(state: BusState) => void>();
  private closed = false;

  constructor(options: { logger?: Logger; broker?: MemoryBroker } = {}) {
    this.logger = options.logger;
    this.broker = options.broker ?? new MemoryBroker();
    this.broker.nodes.add(this);
  }

  publish(channel: string, message: string | Buffer): Promise<number> {
    if (this.closed) return Promise.reject(busError('ERR_BUS_CLOSED', 'The bus is closed.'));
    const body = typeof message === 'string' ? Buffer.from(message) : message;
    // Counted like Redis: one per node subscribed to the channel plus one per matching pattern
    // of each node (not per handler), at the time of PUBLISH.
    let receivers = 0;
    for (const node of this.broker.nodes) {
      const targets = node.targets(channel);
      if (targets.count === 0) continue;
      receivers += targets.count;
      // Delivered after publish returns, as over a socket: a handler never runs inside the publisher.
      queueMicrotask(() => node.deliver(targets.handlers, body, channel));
    }
    return Promise.resolve(receivers);
  }

  private targets(channel: string): { count: number; handlers: BusHandler[] } {
    const handlers: BusHandler[] = [];
    let count = 0;
    const direct = this.channels.get(channel);
    if (direct) {
      count++;
      handlers.push(...direct);
    }
    for (const { regexp, handlers: matched } of this.patterns.values()) {
      if (!regexp.test(channel)) continue;
      count++;
      handlers.push(...matched);
    }
    return { count, handlers };
  }

  subscribe(channel: string, handler: BusHandler): Promise<Unsubscribe> {
    if (this.closed) return Promise.reject(busError('ERR_BUS_CLOSED', 'The bus is closed.'));
    let set = this.channels.get(channel);
    if (!set) this.channels.set(channel, (set = new Set()));
    set.add(handler);
    return Promise.resolve(async () => {
      const current = this.channels.get(channel);
      if (!current) return;
      current.delete(handler);
      if (current.size === 0) this.channels.delete(channel);
    });
  }

  psubscribe(pattern: string, handler: BusHandler): Promise<Unsubscribe> {
    if (this.closed) return Promise.reject(busError('ERR_BUS_CLOSED', 'The bus is closed.'));
    let entry = this.patterns.get(pattern);
    if (!entry) this.patterns.set(pattern, (entry = { regexp: globToRegExp(pattern), handlers: new Set() }));
    entry.handlers.add(handler);
    return Promise.resolve(async () => {
      const current = this.patterns.get(pattern);
      if (!current) return;
      current.handlers.delete(handler);
      if (current.handlers.size === 0) this.patterns.delete(pattern);
    });
  }

  isHealthy(): boolean {
    return !this.closed;
  }

  check(): Promise<BusHealth> {
    const state: BusState = this.closed ? 'closed' : 'up';
    return Promise.resolve({ ok: !this.closed, state, detail: `in-memory bus ${state}` });
  }

  onStateChange(listener: (state: BusState) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Subscribed channels and patterns, for tests. */
  get subscriptionCount(): number {
    return this.channels.size + this.patterns.size;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.broker.nodes.delete(this);
    this.channels.clear();
    this.patterns.clear();
    for (const listener of this.listeners) listener('closed');
    return Promise.resolve();
  }

  private deliver(handlers: BusHandler[], body: Buffer, channel: string): void {
    for (const handler of handlers) {
      try {
        handler(body, channel);
      } catch (err) {
        this.logger?.error({ err, channel }, 'bus handler failed');
      }
    }
  }
}
