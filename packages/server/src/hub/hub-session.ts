/**
 * The MQTT session of one authenticated hub device (PROTOCOL.md §3.2–§3.7): what it may
 * subscribe to, what its PUBLISHes mean, and its subscription set, which is persistent for
 * clean=false clients (§3.9, sessions.ts). Anything outside the device's own topics closes
 * the connection, with the reason logged (DESIGN.md: a device only touches its own topics).
 */
import {
  decodePropertyBag,
  hubSubscriptionAllowed,
  MAX_MESSAGE_BYTES,
  parseHubPublishTopic,
  type PropertyBag,
} from '@gatehouse/protocol';
import type { IPublishPacket, ISubscribePacket, IUnsubscribePacket } from 'mqtt-packet';

import type { HubConnectIdentity } from '../gateway/gateway-options.js';
import type { CloseReason, MqttConnection, MqttSession } from '../gateway/mqtt-connection.js';
import type { LiveDevice } from './connection-registry.js';
import type { SessionStore } from './sessions.js';
import type { TelemetryBudget } from './telemetry-budget.js';

/** What the session hands to the hub services. */
export interface HubSessionHandlers {
  /** Resolves once the message is durable (then a QoS 1 PUBLISH is acknowledged). */
  telemetry(session: HubSession, bag: PropertyBag, packet: IPublishPacket): Promise<void>;
  twinGet(session: HubSession, rid: string): void;
  twinPatchReported(session: HubSession, rid: string, payload: Buffer): void;
  methodResponse(session: HubSession, status: number, rid: string, payload: Buffer): void;
  /** The subscription set changed (C2D delivery and waiting commands look at it). */
  subscriptionsChanged(session: HubSession): void;
  closed(session: HubSession, reason: CloseReason): void;
}

export interface HubSessionOptions {
  conn: MqttConnection;
  deviceId: string;
  clean: boolean;
  subscriptions: Map<string, 0 | 1>;
  sessions: SessionStore;
  handlers: HubSessionHandlers;
  now?: () => Date;
  /** Unacknowledged telemetry per connection before reading pauses; default 512. */
  maxInflightTelemetry?: number;
  /** The server-wide bound on uncommitted telemetry, shared by every session. */
  budget?: TelemetryBudget;
  /** The fencing token of this connection (device-sessions.ts). */
  epoch?: number;
  /** The CONNECT's client ID and credentials, checked again when something is revoked. */
  clientId?: string;
  identity?: HubConnectIdentity;
}

export class HubSession implements MqttSession, LiveDevice {
  readonly deviceId: string;
  readonly connectedAt: Date;
  lastActivity: Date;
  readonly conn: MqttConnection;
  readonly clean: boolean;
  /** This connection's epoch in `device_sessions` (CLUSTER.md §6.2). */
  readonly epoch: number | undefined;
  /** What the device connected with (revocation/session-sweep.ts checks it again). */
  readonly clientId: string;
  readonly identity: HubConnectIdentity | undefined;

  private readonly subscriptions: Map<string, 0 | 1>;
  private readonly sessions: SessionStore;
  private readonly handlers: HubSessionHandlers;
  private readonly now: () => Date;
  private readonly maxInflight: number;
  private inflight = 0;
  /** Reading is paused for this session's own limit. */
  private paused = false;
  /** Reading is paused for the server-wide budget, until it calls {@link resumeFromBudget}. */
  private budgetPaused = false;
  private readonly budget: TelemetryBudget | undefined;
  private readonly resumeFromBudget = (): void => {
    this.budgetPaused = false;
    if (!this.paused) this.conn.resumeInput();
  };

  constructor(options: HubSessionOptions) {
    this.conn = options.conn;
    this.deviceId = options.deviceId;
    this.clean = options.clean;
    this.epoch = options.epoch;
    this.clientId = options.clientId ?? options.deviceId;
    this.identity = options.identity;
    this.subscriptions = options.subscriptions;
    this.sessions = options.sessions;
    this.handlers = options.handlers;
    this.now = options.now ?? (() => new Date());
    this.connectedAt = this.now();
    this.lastActivity = this.connectedAt;
    this.maxInflight = options.maxInflightTelemetry ?? 512;
    this.budget = options.budget;
  }

  get log() {
    return this.conn.log;
  }

  get isClosed(): boolean {
    return this.conn.isClosing;
  }

  isSubscribed(filter: string): boolean {
    return this.subscriptions.has(filter);
  }

  /** The current subscription set (filter → granted QoS). */
  subscriptionList(): Array<[string, 0 | 1]> {
    return [...this.subscriptions];
  }

  publish(topic: string, payload: Buffer | string, qos: 0 | 1): Promise<void> {
    return this.conn.publish(topic, payload, qos);
  }

  close(reason: string, kind: CloseReason = 'server-shutdown'): void {
    this.conn.close(kind, reason);
  }

  onPublish(packet: IPublishPacket): void {
    this.lastActivity = this.now();
    // §3.7: the hub closes the connection on QoS 2.
    if (packet.qos === 2) {
      this.close('QoS 2 PUBLISH is not supported by the hub', 'protocol-violation');
      return;
    }
    const payload = packet.payload;
    const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    if (size > MAX_MESSAGE_BYTES) {
      this.close(`message of ${size} bytes exceeds ${MAX_MESSAGE_BYTES}`, 'packet-too-large');
      return;
    }
    const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const topic = parseHubPublishTopic(this.deviceId, packet.topic);
    switch (topic.kind) {
      case 'forbidden':
        this.close(`publish to '${packet.topic.slice(0, 256)}' refused: ${topic.reason}`, 'forbidden');
        return;
      case 'telemetry':
        this.onTelemetry(topic.bag, packet);
        return;
      case 'twinGet':
        this.ackNow(packet);
        this.handlers.twinGet(this, topic.rid);
        return;
      case 'twinPatchReported':
        this.ackNow(packet);
        this.handlers.twinPatchReported(this, topic.rid, body);
        return;
      case 'methodResponse':
        this.ackNow(packet);
        this.handlers.methodResponse(this, topic.status, topic.rid, body);
        return;
    }
  }

  onSubscribe(packet: ISubscribePacket): void {
    this.lastActivity = this.now();
    const granted: number[] = [];
    // By filter: a SUBSCRIBE that repeats one filter thousands of times stores it once.
    const changes = new Map<string, 0 | 1>();
    for (const { topic, qos } of packet.subscriptions) {
      if (!hubSubscriptionAllowed(this.deviceId, topic)) {
        this.close(
          `subscription to '${topic.slice(0, 256)}' refused: not one of the device's topics`,
          'forbidden',
        );
        return;
      }
      const grant: 0 | 1 = qos >= 1 ? 1 : 0;
      granted.push(grant);
      changes.set(topic, grant);
    }
    for (const [filter, qos] of changes) this.subscriptions.set(filter, qos);
    const persisted = this.clean
      ? Promise.resolve()
      : Promise.all([...changes].map(([filter, qos]) => this.sessions.subscribe(this.deviceId, filter, qos)));
    persisted.then(
      () => {
        this.conn.suback(packet.messageId ?? 0, granted);
        this.handlers.subscriptionsChanged(this);
      },
      (err: unknown) => {
        this.log.error({ err }, 'subscription could not be stored');
        this.close('subscription could not be stored', 'internal-error');
      },
    );
  }

  onUnsubscribe(packet: IUnsubscribePacket): void {
    this.lastActivity = this.now();
    for (const filter of packet.unsubscriptions) this.subscriptions.delete(filter);
    const persisted = this.clean
      ? Promise.resolve()
      : Promise.all(packet.unsubscriptions.map((filter) => this.sessions.unsubscribe(this.deviceId, filter)));
    persisted.then(
      () => {
        this.conn.unsuback(packet.messageId ?? 0);
        this.handlers.subscriptionsChanged(this);
      },
      (err: unknown) => {
        this.log.error({ err }, 'unsubscription could not be stored');
        this.close('unsubscription could not be stored', 'internal-error');
      },
    );
  }

  onClose(reason: CloseReason): void {
    this.budget?.forget(this.resumeFromBudget);
    this.handlers.closed(this, reason);
  }

  private onTelemetry(bag: string, packet: IPublishPacket): void {
    let properties: PropertyBag;
    try {
      properties = decodePropertyBag(bag);
    } catch (err) {
      this.close(
        `malformed property bag in telemetry topic: ${err instanceof Error ? err.message : String(err)}`,
        'malformed-packet',
      );
      return;
    }
    this.inflight++;
    if (this.inflight >= this.maxInflight && !this.paused) {
      // Backpressure: stop reading until commits catch up, instead of queueing in memory.
      if (!this.budgetPaused) this.conn.pauseInput();
      this.paused = true;
    }
    if (this.budget?.take() && !this.budgetPaused) {
      if (!this.paused) this.conn.pauseInput();
      this.budgetPaused = true;
      this.budget.wait(this.resumeFromBudget);
    }
    this.handlers.telemetry(this, properties, packet).then(
      () => {
        this.settled();
        // [MQTT-4.3.2-2] PUBACK only after the message is durable.
        if (packet.qos === 1 && packet.messageId !== undefined) this.conn.puback(packet.messageId);
      },
      (err: unknown) => {
        this.settled();
        // No PUBACK: the SDK times out and sends the message again (§3.3).
        this.log.error({ err }, 'telemetry could not be stored');
        this.close('telemetry could not be stored', 'internal-error');
      },
    );
  }

  private settled(): void {
    this.inflight--;
    if (this.paused && this.inflight <= this.maxInflight / 2) {
      this.paused = false;
      if (!this.budgetPaused) this.conn.resumeInput();
    }
    this.budget?.release();
  }

  /** Twin and method publishes need no durability: QoS 1 (the SDK uses 0) is acked at once. */
  private ackNow(packet: IPublishPacket): void {
    if (packet.qos === 1 && packet.messageId !== undefined) this.conn.puback(packet.messageId);
  }
}
