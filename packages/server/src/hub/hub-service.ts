/**
 * The hub context's composition root: `HubService` implements the REST contract (hub-api.ts)
 * and gives the gateway its CONNECT hook (`connectHandler()`), wiring device authentication,
 * the connection registry, persistent sessions, telemetry ingest, twins, direct methods,
 * cloud-to-device messages and the event bus. The work itself is done by the modules it wires:
 * device connections (device-connections.ts), device management (device-management.ts),
 * telemetry (hub-telemetry.ts) and twin requests (twin-requests.ts).
 */
import type { DeviceListQuery } from './device-list-query.js';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';

import { EventBus } from '../events/event-bus.js';
import type { HubConnectHandler } from '../gateway/gateway-options.js';
import { TelemetryBudget } from './telemetry-budget.js';
import type { Database } from '../store/schema.js';
import { checkId } from '../validation.js';
import { C2D_SWEEP_MS, CloudToDevice } from './cloud-to-device.js';
import { ConnectionRegistry } from './connection-registry.js';
import { DeviceConnections } from './device-connections.js';
import { DeviceManagement } from './device-management.js';
import { HubDeviceOwner } from './device-owner.js';
import { DeviceRouter } from './device-router.js';
import { DeviceAuthentication, X509Authenticator } from './device-authentication.js';
import type { HubRefusal, HubServiceOptions } from './hub-service-options.js';
import { DeviceRegistry } from './devices.js';
import { DirectMethods } from './direct-methods.js';
import type {
  CloudToDeviceMessage,
  Device,
  DeviceCommand,
  DevicePage,
  HubApi,
  HubEvent,
  TelemetryHistoryQuery,
  TelemetryMessageRecord,
  TelemetryValue,
} from './hub-api.js';
import { hubMetrics } from './hub-metrics.js';
import type { HubSession, HubSessionHandlers } from './hub-session.js';
import { HubTelemetry } from './hub-telemetry.js';
import { DesiredProperties } from './desired-properties.js';
import { SessionStore } from './sessions.js';
import { DeviceSessions } from './device-sessions.js';
import { DeviceTags } from './device-tags.js';
import { TelemetryIngest } from './telemetry-ingest.js';
import type { TelemetryStore } from './telemetry-store.js';
import { TwinRequests } from './twin-requests.js';
import { TwinService, type TwinDocument, type TwinState } from './twins.js';
import { HubHttpDevices } from './hub-http-devices.js';

export type { HubRefusal, HubServiceOptions, TemplateLookup } from './hub-service-options.js';

const HOUR_MS = 3_600_000;
/** A session taken this recently may still be subscribing its bus channel (direct-methods.ts). */
const JUST_CONNECTED_MS = 2000;

export class HubService implements HubApi {
  readonly hostName: string;
  readonly events: EventBus;
  readonly registry: ConnectionRegistry<HubSession>;
  /** Reaches devices connected to other nodes; undefined without a bus (one process). */
  readonly router: DeviceRouter | undefined;
  readonly ingest: TelemetryIngest;
  readonly twins: TwinService;
  readonly methods: DirectMethods;
  readonly c2d: CloudToDevice;
  /** The hub over HTTPS (PROTOCOL.md §4), for the device HTTPS listener. */
  readonly http: HubHttpDevices;
  readonly devices: DeviceRegistry;
  /** Which node holds each device's connection, with its epoch (device-sessions.ts). */
  readonly deviceSessions: DeviceSessions;
  /** Twin tags (device-tags.ts). */
  readonly tags: DeviceTags;
  readonly nodeId: string;
  private readonly properties: DesiredProperties;
  private readonly connections: DeviceConnections;
  private readonly management: DeviceManagement;
  private readonly telemetry: HubTelemetry;
  private readonly twinRequests: TwinRequests;

  private readonly db: Kysely<Database>;
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly telemetryStore: TelemetryStore;
  private retentionTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly c2dSweepMs: number;
  /** What every device session calls into. */
  private readonly handlers: HubSessionHandlers = {
    telemetry: (session, bag, packet) => this.telemetry.fromDevice(session, bag, packet),
    twinGet: (session, rid) => this.twinRequests.get(session, rid),
    twinPatchReported: (session, rid, payload) => this.twinRequests.patchReported(session, rid, payload),
    methodResponse: (session, status, rid, payload) =>
      this.methods.onResponse(session.deviceId, status, rid, payload),
    subscriptionsChanged: (session) => this.connections.onSubscriptionsChanged(session),
    closed: (session, reason) => this.connections.onSessionClosed(session, reason),
  };

  constructor(options: HubServiceOptions) {
    this.db = options.db;
    this.hostName = options.hostName;
    this.logger = options.logger;
    this.now = options.now ?? (() => new Date());
    this.c2dSweepMs = options.c2dSweepMs ?? C2D_SWEEP_MS;
    const metrics = options.metrics ? hubMetrics(options.metrics) : undefined;
    const budget = new TelemetryBudget(options.maxUncommittedTelemetry, metrics?.uncommitted);
    this.nodeId = options.nodeId ?? 'node';
    this.deviceSessions = new DeviceSessions(this.db, this.nodeId, this.now);
    this.tags = new DeviceTags(this.db, this.now);
    const cluster = options.bus ? { bus: options.bus, nodeId: this.nodeId } : undefined;
    this.events = new EventBus(this.logger, cluster);
    this.router = cluster
      ? new DeviceRouter({
          ...cluster,
          logger: this.logger,
          owner: new HubDeviceOwner(() => ({
            registry: this.registry,
            methods: this.methods,
            c2d: this.c2d,
          })),
        })
      : undefined;
    this.registry = new ConnectionRegistry<HubSession>(this.router);
    const telemetry = options.telemetryStore;
    this.telemetryStore = telemetry;
    const sessions = new SessionStore(this.db);
    const authentication = new DeviceAuthentication(
      this.db,
      [new X509Authenticator(this.db, this.now), ...(options.authenticators ?? [])],
      options.connectChecks,
    );
    this.ingest = new TelemetryIngest({
      store: telemetry,
      logger: this.logger,
      onCommitted: (batch) => this.telemetry.onCommitted(batch),
      ...(options.storage ? { onFailed: (err: unknown) => void options.storage?.noteFailure(err) } : {}),
    });
    this.twins = new TwinService(this.db, this.now);
    this.methods = new DirectMethods({
      db: this.db,
      registry: this.registry,
      logger: this.logger,
      now: this.now,
      ...(options.commandSecondMs !== undefined ? { secondMs: options.commandSecondMs } : {}),
      ...(this.router ? { router: this.router } : {}),
      justConnected: async (deviceId) => {
        const holder = await this.deviceSessions.holder(deviceId);
        const at = holder?.connectedAt ? Date.parse(holder.connectedAt) : NaN;
        return this.now().getTime() - at < JUST_CONNECTED_MS;
      },
      onCompleted: (deviceId, command) =>
        this.events.emit({ type: 'commandCompleted', deviceId, time: this.now().toISOString(), command }),
    });
    this.c2d = new CloudToDevice({
      db: this.db,
      registry: this.registry,
      logger: this.logger,
      now: this.now,
      router: this.router,
    });
    this.http = new HubHttpDevices({
      db: this.db,
      hostName: this.hostName,
      logger: this.logger,
      now: this.now,
      authentication,
      ingest: this.ingest,
      c2d: this.c2d,
      ...(options.onRefused
        ? { onRefused: (identity, refusal) => options.onRefused?.(identity, refusal, 'https') }
        : {}),
    });
    this.devices = new DeviceRegistry(
      this.db,
      {
        status: (id, stored) => {
          const live = this.registry.get(id);
          return {
            // Here, or on another node of the cluster (its session row names that node; for
            // this node the registry is the truth, the row is released a moment after a close).
            connected: live !== undefined || (stored?.heldBy !== undefined && stored.heldBy !== this.nodeId),
            lastActivity: live ? live.lastActivity.toISOString() : (stored?.last_activity ?? null),
            lastConnected: stored?.last_connected ?? null,
          };
        },
      },
      this.now,
      options.templates ? (id) => options.templates!.check(id) : undefined,
    );
    this.properties = new DesiredProperties({
      devices: this.devices,
      twins: this.twins,
      registry: this.registry,
      events: this.events,
      templates: options.templates,
      now: this.now,
      router: this.router,
    });
    this.connections = new DeviceConnections({
      db: this.db,
      logger: this.logger,
      now: this.now,
      nodeId: this.nodeId,
      registry: this.registry,
      router: this.router,
      authentication,
      deviceSessions: this.deviceSessions,
      sessions,
      devices: this.devices,
      events: this.events,
      c2d: this.c2d,
      budget,
      handlers: this.handlers,
      templates: options.templates,
      storage: options.storage,
      metrics,
      onRefused: options.onRefused,
    });
    this.management = new DeviceManagement({
      devices: this.devices,
      tags: this.tags,
      connections: this.connections,
      twins: this.twins,
      sessions,
      deviceSessions: this.deviceSessions,
      c2d: this.c2d,
      methods: this.methods,
      telemetry,
      events: this.events,
      logger: this.logger,
      now: this.now,
    });
    this.telemetry = new HubTelemetry({
      store: telemetry,
      ingest: this.ingest,
      devices: this.devices,
      events: this.events,
      logger: this.logger,
      now: this.now,
      metrics,
      retentionDays: options.retentionDays ?? 30,
      rollupRetentionDays: options.rollupRetentionDays ?? 365,
    });
    this.twinRequests = new TwinRequests({ twins: this.twins, events: this.events, now: this.now });
  }

  /**
   * Starts background work: telemetry retention (now, then hourly) and, in a cluster, the C2D
   * sweep that delivers messages whose wake-up the bus lost.
   */
  start(options: { retention?: boolean } = {}): void {
    if (this.router && !this.sweepTimer) {
      this.sweepTimer = setInterval(
        () =>
          void this.c2d
            .sweep()
            .catch((err: unknown) => this.logger.warn({ err }, 'C2D sweep failed; next one in a moment')),
        this.c2dSweepMs,
      );
      this.sweepTimer.unref();
    }
    // In a server, retention is a singleton job of the cluster (server-hub.ts) instead.
    if (this.retentionTimer || options.retention === false) return;
    void this.applyRetention();
    this.retentionTimer = setInterval(() => void this.applyRetention(), HOUR_MS);
    this.retentionTimer.unref();
  }

  /** Stops timers, closes device connections and flushes queued telemetry. */
  async stop(): Promise<void> {
    this.connections.refuseNew();
    clearInterval(this.retentionTimer);
    this.retentionTimer = undefined;
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    await this.connections.closeAll();
    await this.router?.close();
    await this.events.close();
    await this.ingest.flush();
    await this.telemetryStore.close?.();
  }

  /** Telemetry retention (hub-telemetry.ts); returns how many messages were deleted. */
  applyRetention(): Promise<number> {
    return this.telemetry.applyRetention();
  }

  // ---------------------------------------------------------------- MQTT (gateway side)

  /** The gateway's hook for hub CONNECTs (gateway-options.ts `HubConnectHandler`). */
  connectHandler(): HubConnectHandler {
    return (conn, connect, identity) => this.connections.onConnect(conn, connect, identity);
  }

  telemetryEventsSince(deviceId: string | undefined, from: string, limit: number): Promise<HubEvent[]> {
    return this.telemetry.eventsSince(deviceId, from, limit);
  }

  // ---------------------------------------------------------------- REST (HubApi)

  listDevices(query?: DeviceListQuery): Promise<DevicePage> {
    return this.management.list(query);
  }

  getDevice(id: string): Promise<Device> {
    return this.management.get(id);
  }

  getTags(id: string): Promise<Record<string, unknown>> {
    return this.management.getTags(id);
  }

  putTags(id: string, body: unknown): Promise<Record<string, unknown>> {
    return this.management.putTags(id, body);
  }

  patchTags(id: string, body: unknown): Promise<Record<string, unknown>> {
    return this.management.patchTags(id, body);
  }

  putDevice(id: string, body: unknown): Promise<Device> {
    return this.management.put(id, body);
  }

  patchDevice(id: string, body: unknown): Promise<Device> {
    return this.management.patch(id, body);
  }

  deleteDevice(id: string): Promise<void> {
    return this.management.delete(id);
  }

  latestTelemetry(deviceId: string, name: string, component?: string): Promise<TelemetryValue> {
    return this.telemetry.latest(deviceId, name, component);
  }

  telemetryHistory(deviceId: string, query: TelemetryHistoryQuery): Promise<TelemetryMessageRecord[]> {
    return this.telemetry.history(deviceId, query);
  }

  getProperties(deviceId: string): Promise<Record<string, unknown>> {
    return this.properties.get(deviceId);
  }

  putProperties(deviceId: string, body: unknown): Promise<Record<string, unknown>> {
    return this.properties.set(deviceId, body, { replace: true });
  }

  patchProperties(deviceId: string, body: unknown): Promise<Record<string, unknown>> {
    return this.properties.set(deviceId, body, { replace: false });
  }

  getComponentProperties(deviceId: string, component: string): Promise<Record<string, unknown>> {
    return this.properties.get(deviceId, component);
  }

  putComponentProperties(
    deviceId: string,
    component: string,
    body: unknown,
  ): Promise<Record<string, unknown>> {
    return this.properties.set(deviceId, body, { component, replace: true });
  }

  patchComponentProperties(
    deviceId: string,
    component: string,
    body: unknown,
  ): Promise<Record<string, unknown>> {
    return this.properties.set(deviceId, body, { component, replace: false });
  }

  /**
   * A checked PATCH of desired properties (root or `component`), answering the desired
   * `$version` it made: the version the device's acknowledgement must reach (jobs wait for it).
   */
  async writeProperties(deviceId: string, body: unknown, component?: string): Promise<number> {
    const how = component === undefined ? { replace: false } : { component, replace: false };
    return (await this.properties.write(deviceId, body, how)).version;
  }

  /** Stores a desired patch and pushes it to the device if connected (desired-properties.ts). */
  sendDesired(deviceId: string, patch: TwinDocument | ((twin: TwinState) => TwinDocument)): Promise<number> {
    return this.properties.send(deviceId, patch);
  }

  async runCommand(deviceId: string, name: string, body: unknown): Promise<DeviceCommand> {
    await this.devices.row(deviceId);
    return this.methods.invoke(deviceId, name, body);
  }

  async listCommands(deviceId: string, name: string): Promise<DeviceCommand[]> {
    await this.devices.row(deviceId);
    return this.methods.list(deviceId, name);
  }

  async sendMessage(deviceId: string, body: unknown): Promise<CloudToDeviceMessage> {
    await this.devices.row(deviceId);
    return this.c2d.send(deviceId, body);
  }

  async listMessages(deviceId: string): Promise<CloudToDeviceMessage[]> {
    await this.devices.row(deviceId);
    return this.c2d.list(deviceId);
  }

  eventsSettled(): Promise<void> {
    return this.events.settled();
  }

  subscribe(listener: (event: HubEvent) => void, deviceId?: string): () => void {
    if (deviceId !== undefined) checkId('deviceId', deviceId);
    return this.events.subscribe(listener, deviceId);
  }

  /** Whether the device has a live connection now. */
  isConnected(deviceId: string): boolean {
    return this.registry.isConnected(deviceId);
  }

  /**
   * Checks a live session's credentials again (revocation/session-sweep.ts): the refusal if
   * they no longer pass, else undefined.
   */
  recheck(session: HubSession): Promise<HubRefusal | undefined> {
    return this.connections.recheck(session);
  }

  /** Closes the device's live connection (e.g. its credentials changed); true if there was one. */
  disconnect(deviceId: string, reason: string): boolean {
    return this.connections.disconnectEverywhere(deviceId, reason);
  }
}
