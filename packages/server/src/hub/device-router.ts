/**
 * Cross-node device routing (CLUSTER.md §6.1, §6.3). The node that holds a device's connection
 * subscribes `gh:dev:{deviceId}` while it is connected (owned/released, told by the connection
 * registry). Any node reaches the device by publishing a request there with `replyTo:
 * gh:node:{self}`; Redis PUBLISH answers how many subscribers got it, so 0 means "connected
 * nowhere" at once (NATS's no-responders, rebuilt on Redis), and no reply within the timeout
 * means the owner died or stalled. Requests are not durable, by design: what must survive is
 * in the store (C2D rows, desired twin), and a request is only a wake-up or an RPC.
 */
import { randomUUID } from 'node:crypto';

import type { Logger } from 'pino';

import { channels, type Bus, type Unsubscribe } from '../events/bus.js';
import type { OwnershipListener } from './connection-registry.js';
import type {
  DeviceOwner,
  DeviceRequest,
  DeviceRequestKind,
  DeviceRequests,
  RouteResult,
} from './device-requests.js';

export interface DeviceRouterOptions {
  bus: Bus;
  /** This node's name: replies come on `gh:node:{nodeId}`. */
  nodeId: string;
  /** Handles requests for devices connected here. */
  owner: DeviceOwner;
  logger: Logger;
}

/** On `gh:dev:{id}`: a request; `rid` and `replyTo` only when the sender waits for the reply. */
interface RequestEnvelope {
  rid?: string;
  replyTo?: string;
  from: string;
  req: DeviceRequest;
}

/** On `gh:node:{id}`: the owner's reply, or the reason it could not answer. */
interface ReplyEnvelope {
  rid: string;
  reply?: unknown;
  error?: string;
}

const KINDS: ReadonlySet<string> = new Set<DeviceRequestKind>(['method', 'c2dWake', 'desired', 'kick']);

type Pending = { resolve: (result: RouteResult<unknown>) => void; timer: NodeJS.Timeout };

export class DeviceRouter implements OwnershipListener {
  readonly nodeId: string;
  private readonly bus: Bus;
  private readonly owner: DeviceOwner;
  private readonly logger: Logger;
  private readonly pending = new Map<string, Pending>();
  /** Devices whose channel this node holds, with the subscription (resolves once active). */
  private readonly holding = new Map<string, Promise<Unsubscribe | undefined>>();
  private readonly replies: Promise<Unsubscribe | undefined>;

  constructor(options: DeviceRouterOptions) {
    this.bus = options.bus;
    this.nodeId = options.nodeId;
    this.owner = options.owner;
    this.logger = options.logger;
    this.replies = this.bus
      .subscribe(channels.node(this.nodeId), (message) => this.onReply(message))
      .catch((err: unknown) => {
        this.logger.error({ err }, 'device router: reply channel not subscribed');
        return undefined;
      });
  }

  /**
   * This node holds the device's connection: subscribe its channel. Resolves once other nodes
   * can reach it (at once while the bus is down: it subscribes when the bus is back).
   */
  async owned(deviceId: string): Promise<void> {
    let subscription = this.holding.get(deviceId);
    if (!subscription) {
      // A fresh handler per subscription, so a late release of an earlier one cannot remove it.
      subscription = this.bus
        .subscribe(channels.device(deviceId), (message) => this.onRequest(deviceId, message))
        .catch((err: unknown) => {
          this.logger.warn({ err, deviceId }, 'device router: device channel not subscribed');
          return undefined;
        });
      this.holding.set(deviceId, subscription);
    }
    await subscription;
  }

  /** The device's connection left this node: stop answering for it. */
  released(deviceId: string): void {
    const subscription = this.holding.get(deviceId);
    if (!subscription) return;
    this.holding.delete(deviceId);
    void subscription.then((unsubscribe) => unsubscribe?.()).catch(() => undefined);
  }

  /** Whether this node holds the device's channel. */
  owns(deviceId: string): boolean {
    return this.holding.has(deviceId);
  }

  /** Sends a request to the device's node and waits up to `timeoutMs` for the reply. */
  async invoke<K extends DeviceRequestKind>(
    deviceId: string,
    kind: K,
    request: DeviceRequests[K]['request'],
    timeoutMs: number,
  ): Promise<RouteResult<DeviceRequests[K]['reply']>> {
    await this.replies;
    const rid = randomUUID();
    const envelope: RequestEnvelope = {
      rid,
      replyTo: channels.node(this.nodeId),
      from: this.nodeId,
      req: { kind, ...request } as DeviceRequest,
    };
    // Registered before PUBLISH: the reply may come back before PUBLISH's own answer.
    const answer = new Promise<RouteResult<unknown>>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        resolve({ status: 'timeout' });
      }, timeoutMs);
      this.pending.set(rid, { resolve, timer });
    });
    let receivers: number;
    try {
      receivers = await this.bus.publish(channels.device(deviceId), encode(envelope));
    } catch (err) {
      this.settle(rid, { status: 'unavailable', error: err as Error });
      return answer as Promise<RouteResult<DeviceRequests[K]['reply']>>;
    }
    if (receivers === 0) this.settle(rid, { status: 'offline' });
    return answer as Promise<RouteResult<DeviceRequests[K]['reply']>>;
  }

  /**
   * Sends a request without waiting for a reply (wake-ups, pushes); resolves with whether a
   * node holds the device. Never throws: a lost wake-up is repaired from the store.
   */
  async notify<K extends DeviceRequestKind>(
    deviceId: string,
    kind: K,
    request: DeviceRequests[K]['request'],
  ): Promise<boolean> {
    const envelope: RequestEnvelope = { from: this.nodeId, req: { kind, ...request } as DeviceRequest };
    try {
      return (await this.bus.publish(channels.device(deviceId), encode(envelope))) > 0;
    } catch (err) {
      this.logger.debug({ err, deviceId, kind }, 'device router: notification not sent');
      return false;
    }
  }

  /** Requests waiting for a reply. */
  get waiting(): number {
    return this.pending.size;
  }

  /** Drops every subscription; waiting requests end at once as `timeout`. */
  async close(): Promise<void> {
    for (const [rid] of this.pending) this.settle(rid, { status: 'timeout' });
    const all = [...this.holding.values(), this.replies];
    this.holding.clear();
    await Promise.all(all.map(async (s) => (await s)?.()));
  }

  private settle(rid: string, result: RouteResult<unknown>): void {
    const pending = this.pending.get(rid);
    if (!pending) return;
    this.pending.delete(rid);
    clearTimeout(pending.timer);
    pending.resolve(result);
  }

  private onRequest(deviceId: string, message: Buffer): void {
    let envelope: RequestEnvelope;
    try {
      envelope = decode(message) as RequestEnvelope;
    } catch (err) {
      this.logger.warn({ err, deviceId }, 'device router: malformed request ignored');
      return;
    }
    const { req, rid, replyTo } = envelope;
    if (req === null || typeof req !== 'object' || !KINDS.has(req.kind)) {
      this.logger.warn({ deviceId, from: envelope.from }, 'device router: unknown request ignored');
      return;
    }
    const handler = this.owner[req.kind] as (deviceId: string, request: DeviceRequest) => Promise<unknown>;
    void handler.call(this.owner, deviceId, req).then(
      (reply) => this.reply(replyTo, rid, { reply }),
      (err: unknown) => {
        this.logger.error({ err, deviceId, kind: req.kind }, 'device router: request failed');
        this.reply(replyTo, rid, { error: err instanceof Error ? err.message : String(err) });
      },
    );
  }

  private reply(
    replyTo: string | undefined,
    rid: string | undefined,
    body: Omit<ReplyEnvelope, 'rid'>,
  ): void {
    if (replyTo === undefined || rid === undefined) return;
    this.bus.publish(replyTo, encode({ rid, ...body })).catch((err: unknown) => {
      // The caller gets `timeout`.
      this.logger.warn({ err, replyTo }, 'device router: reply not sent');
    });
  }

  private onReply(message: Buffer): void {
    let envelope: ReplyEnvelope;
    try {
      envelope = decode(message) as ReplyEnvelope;
    } catch (err) {
      this.logger.warn({ err }, 'device router: malformed reply ignored');
      return;
    }
    if (envelope.error !== undefined) {
      this.settle(envelope.rid, { status: 'failed', error: envelope.error });
    } else this.settle(envelope.rid, { status: 'ok', reply: envelope.reply });
  }
}

/** JSON, with Buffers as `{"$b64": …}` (the device's method answer is bytes). */
function encode(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
    const raw = this[key];
    return Buffer.isBuffer(raw) ? { $b64: raw.toString('base64') } : v;
  });
}

function decode(message: Buffer): unknown {
  return JSON.parse(message.toString(), (_key, v: unknown) =>
    v !== null && typeof v === 'object' && typeof (v as { $b64?: unknown }).$b64 === 'string'
      ? Buffer.from((v as { $b64: string }).$b64, 'base64')
      : v,
  );
}
