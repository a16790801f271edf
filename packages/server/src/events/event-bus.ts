/**
 * The live event bus (DESIGN.md `events/`): the hub publishes telemetry, connection and twin
 * changes; live views (server-sent events, dashboards) subscribe, to the whole application
 * or to one device. A listener that throws is logged and does not stop the others.
 *
 * In a cluster (CLUSTER.md §6.4) an event also goes to the other nodes over the message bus,
 * on `gh:ev:{deviceId}`. Listeners on the emitting node are called directly, as in one
 * process, and the copy that comes back from the bus is dropped (the envelope names its
 * node), so nobody gets an event twice. A node subscribes only what its listeners need,
 * counted per channel: a device channel while someone here watches that device, and while
 * someone here watches every device, the pattern `gh:ev:{*}`.
 *
 * Pattern rather than a second PUBLISH on one fleet channel: every event then costs one
 * PUBLISH instead of two. Measured with bench/bus-fanout.ts (Redis 7.0.15 on loopback, 50,000
 * telemetry events of 178 bytes over 1,000 devices, 2 shared cores): publishing node 7.4–10.2 µs
 * CPU per event with the pattern vs 13.4–14.4 µs with the fleet channel; Redis 1.0–1.1 vs 1.7 µs;
 * all delivered in 303–601 ms vs 591–839 ms. Redis matches each PUBLISH against every pattern,
 * and there is at most one pattern per node. A node watching both a device and everything gets
 * two copies from Redis; each subscription feeds only its own listeners.
 *
 * Unwatched devices cost nothing (CLUSTER.md §6.7): a PUBLISH that reached nobody marks the
 * device unwatched, and its events are not even built for {@link UNWATCHED_RECHECK_MS}. A node
 * that starts watching a device (or everything) says so on `gh:ev:watch`, and emitters forget
 * the mark at once; the recheck bounds the gap if that note is lost. Measured with
 * bench/telemetry.ts (20 devices at QoS 1, Redis on loopback, a shared 2-core machine at load
 * 8–13, so ±20 % noise): server CPU per message 37–48 µs without a bus; with Redis and nobody
 * watching 40–55 µs (84–114 µs before the mark, which published every event); with one node
 * watching every device ~91 µs and half the throughput — each PUBLISH costs node-redis ~40 µs
 * of writes there. Coalescing a commit's events per device is the next step if dashboards
 * watching busy fleets need it.
 */
import type { Logger } from 'pino';

import type { HubEvent } from '../hub/hub-api.js';
import { channels, type Bus, type Unsubscribe } from './bus.js';

export type HubEventListener = (event: HubEvent) => void;

/** The other nodes: the bus and this node's name (to recognise its own events). */
export interface EventBusCluster {
  bus: Bus;
  nodeId: string;
}

/** What travels on `gh:ev:{deviceId}`: the emitting node and the event. */
interface Envelope {
  n: string;
  e: HubEvent;
}

/** One bus subscription shared by the listeners that need it. */
interface RemoteSubscription {
  refs: number;
  ready: Promise<Unsubscribe | undefined>;
  /** Confirmed by the bus: PUBLISH counts this node among the receivers. */
  active: boolean;
}

const ALL = channels.allDeviceEvents;
/** How long a device whose events reached nobody is skipped before trying again. */
export const UNWATCHED_RECHECK_MS = 30_000;

export class EventBus {
  private readonly all = new Set<HubEventListener>();
  private readonly local = new Set<HubEventListener>();
  private readonly perDevice = new Map<string, Set<HubEventListener>>();
  private readonly remote = new Map<string, RemoteSubscription>();
  /** Devices whose last event reached no node, until when their events are skipped. */
  private readonly unwatched = new Map<string, number>();
  private readonly watchNotes: Promise<Unsubscribe | undefined> | undefined;
  private publishFailures = 0;

  constructor(
    private readonly logger?: Logger,
    private readonly cluster?: EventBusCluster,
    private readonly now: () => number = Date.now,
  ) {
    this.watchNotes = cluster?.bus
      .subscribe(channels.watch, (message) => this.onWatchNote(message.toString()))
      .catch((err: unknown) => {
        this.logger?.warn({ err }, 'watch notes of other nodes not subscribed');
        return undefined;
      });
  }

  /** Listens to every event, or only `deviceId`'s; returns the unsubscribe function. */
  subscribe(listener: HubEventListener, deviceId?: string): () => void {
    if (deviceId === undefined) {
      if (this.all.has(listener)) return () => undefined;
      this.all.add(listener);
      this.acquire(undefined);
      return () => {
        if (this.all.delete(listener)) this.release(ALL);
      };
    }
    let set = this.perDevice.get(deviceId);
    if (!set) {
      set = new Set();
      this.perDevice.set(deviceId, set);
    }
    if (set.has(listener)) return () => undefined;
    set.add(listener);
    this.acquire(deviceId);
    return () => {
      const current = this.perDevice.get(deviceId);
      if (!current?.delete(listener)) return;
      if (current.size === 0) this.perDevice.delete(deviceId);
      this.release(channels.deviceEvents(deviceId));
    };
  }

  /**
   * Listens to the events emitted on this node only, never to other nodes' (rules/engine.ts:
   * each event is evaluated once, where the device is connected); no bus subscription.
   */
  subscribeLocal(listener: HubEventListener): () => void {
    this.local.add(listener);
    return () => void this.local.delete(listener);
  }

  /** Number of listeners, for tests and metrics. */
  get listenerCount(): number {
    let n = this.all.size;
    for (const set of this.perDevice.values()) n += set.size;
    return n;
  }

  /** Bus channels and patterns this node holds for its listeners (tests, metrics). */
  get remoteSubscriptions(): number {
    return this.remote.size;
  }

  /**
   * True when someone would receive an event of `deviceId` (lets publishers skip work): a
   * listener here, or, in a cluster, unless the device's last event reached no other node.
   */
  hasListeners(deviceId: string): boolean {
    return this.all.size > 0 || this.perDevice.has(deviceId) || this.watchedElsewhere(deviceId);
  }

  emit(event: HubEvent): void {
    for (const listener of this.local) this.call(listener, event);
    this.deliver(event, true, true);
    if (!this.cluster || !this.watchedElsewhere(event.deviceId)) return;
    const deviceId = event.deviceId;
    const envelope: Envelope = { n: this.cluster.nodeId, e: event };
    this.cluster.bus.publish(channels.deviceEvents(deviceId), JSON.stringify(envelope)).then(
      (receivers) => {
        this.publishFailures = 0;
        if (receivers - this.ownReceivers(deviceId) <= 0) {
          this.unwatched.set(deviceId, this.now() + UNWATCHED_RECHECK_MS);
        }
      },
      (err: unknown) => {
        // Live events are lossy by design (the store has the data); the bus logs its outages.
        if (this.publishFailures++ === 0) this.logger?.warn({ err }, 'live event not sent to other nodes');
      },
    );
  }

  /** Resolves once every bus subscription asked for so far is in place (tests, SSE start). */
  async settled(): Promise<void> {
    await Promise.all([this.watchNotes, ...[...this.remote.values()].map((r) => r.ready)]);
  }

  /** Drops every bus subscription (server shutdown); local listeners stay. */
  async close(): Promise<void> {
    const all = [...this.remote.values()].map((r) => r.ready);
    this.remote.clear();
    await Promise.all([...all, this.watchNotes].map(async (ready) => (await ready)?.()));
  }

  /** How many of a PUBLISH's receivers are this node's own subscriptions (its copy is dropped). */
  private ownReceivers(deviceId: string): number {
    const device = this.remote.get(channels.deviceEvents(deviceId))?.active ? 1 : 0;
    return device + (this.remote.get(ALL)?.active ? 1 : 0);
  }

  /** Whether events of `deviceId` are sent to other nodes now (tests). */
  watchedByOthers(deviceId: string): boolean {
    return this.watchedElsewhere(deviceId);
  }

  private watchedElsewhere(deviceId: string): boolean {
    if (!this.cluster) return false;
    const until = this.unwatched.get(deviceId);
    if (until === undefined) return true;
    if (until > this.now()) return false;
    this.unwatched.delete(deviceId);
    return true;
  }

  private onWatchNote(deviceId: string): void {
    if (deviceId === '*') this.unwatched.clear();
    else this.unwatched.delete(deviceId);
  }

  private deliver(event: HubEvent, toAll: boolean, toDevice: boolean): void {
    if (toAll) for (const listener of this.all) this.call(listener, event);
    const set = toDevice ? this.perDevice.get(event.deviceId) : undefined;
    if (set) for (const listener of set) this.call(listener, event);
  }

  /** Holds the bus subscription for `deviceId`'s events, or every device's (undefined). */
  private acquire(deviceId: string | undefined): void {
    if (!this.cluster) return;
    const channel = deviceId === undefined ? ALL : channels.deviceEvents(deviceId);
    const existing = this.remote.get(channel);
    if (existing) {
      existing.refs++;
      return;
    }
    const bus = this.cluster.bus;
    // A fresh handler per subscription: a late unsubscribe of an earlier one cannot remove it.
    const fromPattern = deviceId === undefined;
    const handler = (message: Buffer) => this.onRemote(message, fromPattern);
    const note = deviceId ?? '*';
    const ready = (fromPattern ? bus.psubscribe(channel, handler) : bus.subscribe(channel, handler)).then(
      (unsubscribe) => {
        entry.active = true;
        // Subscribed first, then the note: an emitter that reads it publishes to us.
        bus.publish(channels.watch, note).catch(() => undefined);
        return unsubscribe;
      },
      (err: unknown) => {
        this.logger?.warn({ err, channel }, 'live events of other nodes not subscribed');
        return undefined;
      },
    );
    const entry: RemoteSubscription = { refs: 1, ready, active: false };
    this.remote.set(channel, entry);
  }

  private release(channel: string): void {
    const entry = this.remote.get(channel);
    if (!entry || --entry.refs > 0) return;
    this.remote.delete(channel);
    void entry.ready.then((unsubscribe) => unsubscribe?.()).catch(() => undefined);
  }

  private onRemote(message: Buffer, fromPattern: boolean): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(message.toString()) as Envelope;
    } catch (err) {
      this.logger?.warn({ err }, 'malformed live event from the bus ignored');
      return;
    }
    // Our own event: its listeners here were called by emit().
    if (envelope.n === this.cluster?.nodeId || typeof envelope.e?.deviceId !== 'string') return;
    this.deliver(envelope.e, fromPattern, !fromPattern);
  }

  private call(listener: HubEventListener, event: HubEvent): void {
    try {
      listener(event);
    } catch (err) {
      this.logger?.error({ err, type: event.type }, 'event listener failed');
    }
  }
}
