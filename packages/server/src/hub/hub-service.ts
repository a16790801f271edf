/**
 * The hub context's composition root: `HubService` implements the REST contract (hub-api.ts)
 * and gives the gateway its CONNECT hook (`connectHandler()`), wiring device authentication,
 * the connection registry, persistent sessions, telemetry ingest, twins, direct methods,
 * cloud-to-device messages and the event bus.
 */
import type { DeviceListQuery } from './device-list-query.js';
import { twinResponseTopic, type PropertyBag } from '@gatehouse/protocol';
import type { Kysely } from 'kysely';
import type { IConnectPacket, IPublishPacket } from 'mqtt-packet';
import type { Logger } from 'pino';

import type { Bus } from '../events/bus.js';
import { EventBus } from '../events/event-bus.js';
import { CONNACK } from '../gateway/connack-codes.js';
import type { HubConnectHandler, HubConnectIdentity } from '../gateway/gateway-options.js';
import type { CloseReason, MqttConnection } from '../gateway/mqtt-connection.js';
import type { Metrics } from '../metrics.js';
import { TelemetryBudget } from './telemetry-budget.js';
import type { Database } from '../store/schema.js';
import { checkId } from '../validation.js';
import { C2D_SWEEP_MS, CloudToDevice } from './cloud-to-device.js';
import { ConnectionRegistry } from './connection-registry.js';
import { HubDeviceOwner } from './device-owner.js';
import { DeviceRouter } from './device-router.js';
import {
  DeviceAuthentication,
  X509Authenticator,
  type AuthenticationResult,
  type ConnectCheck,
  type DeviceAuthenticator,
} from './device-authentication.js';

/** A refused CONNECT (or a live session closed by a revocation). */
export type HubRefusal = Extract<AuthenticationResult, { ok: false }>;
import { DeviceRegistry } from './devices.js';
import { DirectMethods } from './direct-methods.js';
import { hubError } from './errors.js';
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
import { HubSession, type HubSessionHandlers } from './hub-session.js';
import { decodeBody, isPlainObject } from './message-body.js';
import { DesiredProperties } from './desired-properties.js';
import type { TemplateProperty } from './property-schema.js';
import { SessionStore } from './sessions.js';
import { DeviceSessions } from './device-sessions.js';
import { DeviceTags } from './device-tags.js';
import { TelemetryIngest } from './telemetry-ingest.js';
import type { TelemetryInput, TelemetryStore } from './telemetry-store.js';
import { TwinPatchError, TwinService, type TwinDocument, type TwinState } from './twins.js';
import { HubHttpDevices } from './hub-http-devices.js';
import type { StorageAlarm } from '../store/storage-alarm.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** How long a takeover waits for the old node to close the device's connection (CLUSTER.md §6.2). */
const KICK_WAIT_MS = 2000;
/** A session taken this recently may still be subscribing its bus channel (direct-methods.ts). */
const JUST_CONNECTED_MS = 2000;
/** Default and largest number of messages a history query returns. */
const HISTORY_LIMIT = { default: 1000, max: 10_000 } as const;

export interface HubServiceOptions {
  db: Kysely<Database>;
  /**
   * Where telemetry is kept (SQLite or PostgreSQL): chosen where the server is wired
   * (store/open-store.ts), never here.
   */
  telemetryStore: TelemetryStore;
  /** The hub's host name (the `HostName` devices connect with). */
  hostName: string;
  logger: Logger;
  /** Telemetry read but not committed, across every session, before sessions stop reading (telemetry-budget.ts). */
  maxUncommittedTelemetry?: number;
  metrics?: Metrics;
  /** The disk-full alarm: devices are refused while it is raised (server.ts makes it). */
  storage?: StorageAlarm;
  /** Retention of raw telemetry (and of the minute rollups) in days; default 30. */
  retentionDays?: number;
  /** Retention of the hour rollups in days; default 365. */
  rollupRetentionDays?: number;
  now?: () => Date;
  /** Extra authenticators tried after X.509 (SAS, later). */
  authenticators?: DeviceAuthenticator[];
  /** Milliseconds per second of command timeouts (tests only); default 1000. */
  commandSecondMs?: number;
  /**
   * Device templates as the hub needs them (kept to two functions so the hub does not depend on
   * the application context): `check` refuses a device body's unknown `template` (it throws),
   * `resolve` maps an IoT Plug and Play model ID to a template ID.
   */
  templates?: TemplateLookup;
  /**
   * The bus to the other nodes of a cluster (CLUSTER.md §6.1): live events and requests for
   * devices connected elsewhere travel on it. Without it the hub serves this process only.
   */
  bus?: Bus;
  /** This node's name on the bus (required with `bus`). */
  nodeId?: string;
  /** Checks after authentication at every CONNECT (revocation/connect-check.ts). */
  connectChecks?: ConnectCheck[];
  /** Told of every refused hub CONNECT, to keep the reason (the refusal records). */
  onRefused?: (identity: HubConnectIdentity, refusal: HubRefusal, transport?: 'https') => void;
  /** With a bus: how often queued C2D messages of devices held here are looked for; default 10 s. */
  c2dSweepMs?: number;
}

/** See {@link HubServiceOptions.templates}. */
export interface TemplateLookup {
  check(templateId: string): Promise<void>;
  resolve(modelId: string): Promise<string | undefined>;
  /**
   * The template's properties, to check property values against (property-schema.ts), and its
   * components' names, to refuse writes to a component the template does not have.
   */
  properties?(
    templateId: string,
  ): Promise<{ properties: readonly TemplateProperty[]; components: readonly string[] } | undefined>;
}

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

  private readonly db: Kysely<Database>;
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly telemetry: TelemetryStore;
  private readonly sessions: SessionStore;
  private readonly authentication: DeviceAuthentication;
  private readonly onRefused: HubServiceOptions['onRefused'];
  private readonly retentionDays: number;
  private readonly rollupRetentionDays: number;
  private readonly templates: TemplateLookup | undefined;
  private readonly metrics: ReturnType<typeof hubMetrics> | undefined;
  private readonly budget: TelemetryBudget;
  private readonly storage: StorageAlarm | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly c2dSweepMs: number;
  /** Session releases under way: stop() waits for them before the store closes. */
  private readonly releasing = new Set<Promise<void>>();
  private stopping = false;
  /** What every device session calls into. */
  private readonly handlers: HubSessionHandlers = {
    telemetry: (session, bag, packet) => this.onDeviceTelemetry(session, bag, packet),
    twinGet: (session, rid) => this.onTwinGet(session, rid),
    twinPatchReported: (session, rid, payload) => this.onTwinPatchReported(session, rid, payload),
    methodResponse: (session, status, rid, payload) =>
      this.methods.onResponse(session.deviceId, status, rid, payload),
    subscriptionsChanged: (session) => this.onSubscriptionsChanged(session),
    closed: (session, reason) => this.onSessionClosed(session, reason),
  };

  constructor(options: HubServiceOptions) {
    this.db = options.db;
    this.hostName = options.hostName;
    this.logger = options.logger;
    this.now = options.now ?? (() => new Date());
    this.retentionDays = options.retentionDays ?? 30;
    this.rollupRetentionDays = options.rollupRetentionDays ?? 365;
    this.c2dSweepMs = options.c2dSweepMs ?? C2D_SWEEP_MS;
    this.templates = options.templates;
    this.storage = options.storage;
    this.metrics = options.metrics ? hubMetrics(options.metrics) : undefined;
    this.budget = new TelemetryBudget(options.maxUncommittedTelemetry, this.metrics?.uncommitted);
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
    this.telemetry = telemetry;
    this.sessions = new SessionStore(this.db);
    this.authentication = new DeviceAuthentication(
      this.db,
      [new X509Authenticator(this.db, this.now), ...(options.authenticators ?? [])],
      options.connectChecks,
    );
    this.onRefused = options.onRefused;
    this.ingest = new TelemetryIngest({
      store: telemetry,
      logger: this.logger,
      onCommitted: (batch) => this.onTelemetryCommitted(batch),
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
      authentication: this.authentication,
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
    // In a server, retention is a singleton job of the cluster (server.ts) instead.
    if (this.retentionTimer || options.retention === false) return;
    void this.applyRetention();
    this.retentionTimer = setInterval(() => void this.applyRetention(), HOUR_MS);
    this.retentionTimer.unref();
  }

  /** Stops timers, closes device connections and flushes queued telemetry. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.retentionTimer);
    this.retentionTimer = undefined;
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    const live = [...this.registry.all()];
    this.registry.closeAll('server shutdown');
    await Promise.all(live.map((s) => this.saveActivity(s)));
    await Promise.all([...this.releasing]);
    await this.router?.close();
    await this.events.close();
    await this.ingest.flush();
    await this.telemetry.close?.();
  }

  /**
   * Deletes telemetry older than `retentionDays` with its minute rollups (they have the same
   * resolution, so they would only duplicate it) and hour rollups older than
   * `rollupRetentionDays`; returns how many messages.
   */
  async applyRetention(): Promise<number> {
    const now = this.now().getTime();
    const cutoff = new Date(now - this.retentionDays * DAY_MS).toISOString();
    const rollupCutoff = new Date(now - this.rollupRetentionDays * DAY_MS).toISOString();
    try {
      const deleted = await this.telemetry.deleteOlderThan(cutoff);
      const minutes = await this.telemetry.deleteRollupsOlderThan('minute', cutoff);
      const hours = await this.telemetry.deleteRollupsOlderThan('hour', rollupCutoff);
      if (deleted + minutes + hours > 0) {
        this.logger.info({ deleted, cutoff, minutes, hours, rollupCutoff }, 'telemetry retention applied');
      }
      return deleted;
    } catch (err) {
      this.logger.error({ err }, 'telemetry retention failed');
      return 0;
    }
  }

  // ---------------------------------------------------------------- MQTT (gateway side)

  /** The gateway's hook for hub CONNECTs (gateway-options.ts `HubConnectHandler`). */
  connectHandler(): HubConnectHandler {
    return (conn, connect, identity) => this.onConnect(conn, connect, identity);
  }

  private async onConnect(
    conn: MqttConnection,
    connect: IConnectPacket,
    identity: HubConnectIdentity,
  ): Promise<void> {
    const deviceId = identity.username.deviceId;
    if (this.stopping) {
      conn.refuse(CONNACK.SERVER_UNAVAILABLE, 'hub is stopping');
      return;
    }
    if (this.storage?.full) {
      this.metrics?.refused.inc({ code: String(CONNACK.SERVER_UNAVAILABLE) });
      conn.refuse(CONNACK.SERVER_UNAVAILABLE, 'storage is full: telemetry cannot be stored');
      return;
    }
    const result = await this.authentication.authenticate(connect.clientId, identity);
    if (!result.ok) {
      conn.log.info({ deviceId, connack: result.code, reason: result.reason }, 'hub connection refused');
      this.metrics?.refused.inc({ code: String(result.code) });
      conn.refuse(result.code, result.reason);
      this.onRefused?.(identity, result);
      return;
    }
    const clean = connect.clean !== false;
    // One connection per device in the whole cluster (CLUSTER.md §6.2): take the session row,
    // then tell the node that held it to close its connection, before this one is announced.
    const claim = await this.deviceSessions.claim(deviceId, conn.remoteAddress);
    if (claim.previous && claim.previous.nodeId !== this.nodeId && this.router) {
      const kicked = await this.router.invoke(
        deviceId,
        'kick',
        {
          epoch: claim.epoch,
          reason: `replaced by a new connection of the same device on node ${this.nodeId}`,
        },
        KICK_WAIT_MS,
      );
      conn.log.info(
        { deviceId, previousNode: claim.previous.nodeId, epoch: claim.epoch, kick: kicked.status },
        'took the device over from another node',
      );
    }
    const restored = await this.sessions.open(deviceId, clean);
    if (conn.isClosing) {
      void this.releaseSession(deviceId, claim.epoch);
      return;
    }
    const session = new HubSession({
      conn,
      deviceId,
      clean,
      subscriptions: restored.subscriptions,
      sessions: this.sessions,
      handlers: this.handlers,
      now: this.now,
      epoch: claim.epoch,
      clientId: connect.clientId,
      identity,
      budget: this.budget,
    });
    const time = this.now().toISOString();
    // One connection per device (§3.7): registering closes the previous one.
    this.registry.add(session);
    if (this.router) {
      // CONNACK only once other nodes can reach the device (CLUSTER.md §6.2 step 3).
      await this.registry.reachable(deviceId);
      // A newer claim on another node may have sent its kick before this node listened on the
      // device's channel, so it reached nobody: the row says who holds the device now. Found
      // with two real nodes and parallel CONNECTs (T1): both connections stayed open.
      const superseded = conn.isClosing ? false : !(await this.holdsSession(deviceId, claim.epoch));
      if (conn.isClosing || superseded) {
        // Never accepted, so the connection will not report its close: forget it here.
        this.registry.remove(session);
        void this.releaseSession(deviceId, claim.epoch);
        if (superseded) {
          conn.log.info(
            { deviceId, epoch: claim.epoch },
            'a newer connection of the device holds it; refused',
          );
          conn.refuse(CONNACK.SERVER_UNAVAILABLE, 'replaced by a newer connection of the same device');
        }
        return;
      }
    }
    conn.accept(session, 'hub', restored.present);
    conn.log.info(
      {
        deviceId,
        method: result.method,
        clean,
        sessionPresent: restored.present,
        subscriptions: restored.subscriptions.size,
        modelId: identity.username.modelId,
      },
      'hub device connected',
    );
    this.metrics?.connected.set({}, this.registry.size);
    // After CONNACK nothing may throw back to the gateway (it would answer a second CONNACK).
    try {
      await this.db
        .insertInto('device_status')
        .values({ device_id: deviceId, last_connected: time, last_activity: time })
        .onConflict((oc) => oc.column('device_id').doUpdateSet({ last_connected: time, last_activity: time }))
        .execute();
    } catch (err) {
      conn.log.warn({ err }, 'connection time not saved');
    }
    // The model the device announced names its template even if it has gone again already
    // (a round trip to PostgreSQL is long enough for a quick connect-and-leave).
    const modelId = identity.username.modelId;
    if (modelId !== undefined && modelId !== '') await this.assignTemplate(conn, deviceId, modelId);
    // Closed or replaced meanwhile: its close already told listeners (or the newer one will).
    if (this.registry.get(deviceId) !== session) return;
    this.events.emit({ type: 'connected', deviceId, time });
    this.c2d.deliver(deviceId);
  }

  /** Whether this node's connection of `epoch` still holds the device's session row. */
  private async holdsSession(deviceId: string, epoch: number): Promise<boolean> {
    const holder = await this.deviceSessions.holder(deviceId);
    return holder?.nodeId === this.nodeId && holder.epoch === epoch;
  }

  /**
   * A device without a template that announces `model-id` (PROTOCOL.md §3.1) gets the template
   * of that model, if there is one (contract §A Assignment). Never throws: the device is connected.
   */
  private async assignTemplate(conn: MqttConnection, deviceId: string, modelId: string): Promise<void> {
    if (!this.templates) return;
    try {
      const template = await this.templates.resolve(modelId);
      if (template === undefined) {
        conn.log.debug({ deviceId, modelId }, 'no device template for the model ID');
        return;
      }
      if (!(await this.devices.assignTemplateIfUnset(deviceId, template))) return;
      conn.log.info({ deviceId, modelId, template }, 'device template assigned from the model ID');
      this.events.emit({
        type: 'deviceChanged',
        deviceId,
        time: this.now().toISOString(),
        change: 'updated',
      });
    } catch (err) {
      conn.log.warn({ err, deviceId, modelId }, 'device template not assigned');
    }
  }

  private onDeviceTelemetry(session: HubSession, bag: PropertyBag, packet: IPublishPacket): Promise<void> {
    const body = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const properties = { ...bag.application };
    // §3.7: a retained publish is stored with the app property `mqtt-retain`.
    if (packet.retain) properties['mqtt-retain'] = 'true';
    const input: TelemetryInput = {
      deviceId: session.deviceId,
      enqueuedAt: this.now().toISOString(),
      component: bag.system['$.sub'] ?? null,
      body,
      contentType: bag.system['$.ct'] ?? null,
      systemProperties: { ...bag.system },
      properties,
    };
    const decoded = decodeBody(body);
    if (decoded.bodyEncoding === 'json' && isPlainObject(decoded.body)) input.fields = decoded.body;
    const stored = this.ingest.submit(input);
    // QoS 0: stored, never acknowledged; a failure is logged by the ingest.
    if (packet.qos === 0) {
      stored.catch(() => undefined);
      return Promise.resolve();
    }
    return stored;
  }

  private onTwinGet(session: HubSession, rid: string): void {
    void this.twins.document(session.deviceId).then(
      (document) => this.reply(session, twinResponseTopic(200, rid), JSON.stringify(document)),
      (err: unknown) => this.twinFailure(session, rid, err),
    );
  }

  private onTwinPatchReported(session: HubSession, rid: string, payload: Buffer): void {
    void this.twins.patchReported(session.deviceId, payload).then(
      ({ version, patch }) => {
        // §3.5: 204 with the new reported version and an empty body.
        this.reply(session, twinResponseTopic(204, rid, version), '');
        this.events.emit({
          type: 'reportedProperties',
          deviceId: session.deviceId,
          time: this.now().toISOString(),
          patch,
          version,
        });
      },
      (err: unknown) => this.twinFailure(session, rid, err),
    );
  }

  private onSubscriptionsChanged(session: HubSession): void {
    this.registry.changed(session.deviceId);
    this.c2d.deliver(session.deviceId);
  }

  private onSessionClosed(session: HubSession, reason: CloseReason): void {
    const current = this.registry.remove(session);
    this.metrics?.connected.set({}, this.registry.size);
    void this.saveActivity(session);
    // Fenced by the epoch: a newer connection (here or on another node) keeps its row.
    if (session.epoch !== undefined) void this.releaseSession(session.deviceId, session.epoch);
    // A connection replaced by a newer one of the same device is not a disconnection.
    if (!current) return;
    this.events.emit({
      type: 'disconnected',
      deviceId: session.deviceId,
      time: this.now().toISOString(),
      reason,
    });
  }

  /**
   * Twin responses go to the live connection even without `$iothub/twin/res/#` in its current
   * subscription set (§3.9: the SDK does not re-subscribe it after a reconnect).
   */
  private reply(session: HubSession, topic: string, body: string): void {
    session.publish(topic, body, 0).catch((err: unknown) => {
      session.log.debug({ err, topic }, 'twin response not sent: connection closed');
    });
  }

  /** §3.5: the SDK reads only the body, so errors carry `errorCode`. */
  private twinFailure(session: HubSession, rid: string, err: unknown): void {
    if (err instanceof TwinPatchError) {
      session.log.info({ rid, reason: err.message }, 'twin request refused');
      this.reply(
        session,
        twinResponseTopic(400, rid),
        JSON.stringify({ errorCode: err.errorCode, message: err.message }),
      );
      return;
    }
    session.log.error({ err, rid }, 'twin request failed');
    this.reply(
      session,
      twinResponseTopic(500, rid),
      JSON.stringify({ errorCode: 500001, message: 'internal error, try again' }),
    );
  }

  private releaseSession(deviceId: string, epoch: number): Promise<void> {
    const release = this.deviceSessions.release(deviceId, epoch).then(
      () => undefined,
      (err: unknown) => {
        // The reaper releases it once this node stops heartbeating; until then it reads connected.
        this.logger.warn({ err, deviceId, epoch }, 'device session not released');
      },
    );
    this.releasing.add(release);
    void release.finally(() => this.releasing.delete(release));
    return release;
  }

  private async saveActivity(session: HubSession): Promise<void> {
    try {
      await this.db
        .updateTable('device_status')
        .set({ last_activity: session.lastActivity.toISOString() })
        .where('device_id', '=', session.deviceId)
        .execute();
    } catch (err) {
      this.logger.warn({ err, deviceId: session.deviceId }, 'last activity not saved');
    }
  }

  private onTelemetryCommitted(batch: readonly TelemetryInput[]): void {
    this.metrics?.messages.inc({}, batch.length);
    this.metrics?.batches.inc();
    for (const m of batch) {
      if (!this.events.hasListeners(m.deviceId)) continue;
      this.events.emit({
        type: 'telemetry',
        deviceId: m.deviceId,
        component: m.component,
        enqueuedTime: m.enqueuedAt,
        body: m.fields ?? decodeBody(m.body).body,
        properties: m.properties,
        ...(m.id !== undefined ? { id: m.id } : {}),
      });
    }
  }

  async telemetryEventsSince(deviceId: string | undefined, from: string, limit: number): Promise<HubEvent[]> {
    const rows = await this.telemetry.history(deviceId, { from, limit });
    return rows.map((r) => {
      const decoded = decodeBody(r.body);
      return {
        type: 'telemetry' as const,
        deviceId: r.deviceId,
        component: r.component,
        enqueuedTime: r.enqueuedAt,
        body: decoded.body,
        properties: r.properties,
        id: r.id,
      };
    });
  }

  // ---------------------------------------------------------------- REST (HubApi)

  listDevices(query?: DeviceListQuery): Promise<DevicePage> {
    return query === undefined ? this.devices.list() : this.devices.page(query);
  }

  getDevice(id: string): Promise<Device> {
    return this.devices.get(id);
  }

  async getTags(id: string): Promise<Record<string, unknown>> {
    await this.devices.row(id);
    return this.tags.get(id);
  }

  async putTags(id: string, body: unknown): Promise<Record<string, unknown>> {
    await this.devices.row(id);
    return this.tags.replace(id, body);
  }

  async patchTags(id: string, body: unknown): Promise<Record<string, unknown>> {
    await this.devices.row(id);
    return this.tags.patch(id, body);
  }

  async putDevice(id: string, body: unknown): Promise<Device> {
    const { device, created } = await this.devices.put(id, body);
    this.afterDeviceChange(device, created ? 'created' : 'updated');
    return device;
  }

  async patchDevice(id: string, body: unknown): Promise<Device> {
    const device = await this.devices.patch(id, body);
    this.afterDeviceChange(device, 'updated');
    return device;
  }

  async deleteDevice(id: string): Promise<void> {
    await this.devices.delete(id);
    this.disconnectEverywhere(id, 'device deleted');
    await Promise.all([
      this.twins.delete(id),
      this.sessions.drop(id),
      this.deviceSessions.forget(id),
      this.tags.forget(id),
      this.c2d.deleteDevice(id),
      this.methods.deleteDevice(id),
      this.telemetry.deleteDevice(id),
    ]);
    this.events.emit({
      type: 'deviceChanged',
      deviceId: id,
      time: this.now().toISOString(),
      change: 'deleted',
    });
  }

  async latestTelemetry(deviceId: string, name: string, component?: string): Promise<TelemetryValue> {
    await this.devices.row(deviceId);
    const latest = await this.telemetry.latest(deviceId, name, component ?? '');
    if (!latest) {
      throw hubError(
        'ERR_TELEMETRY_NOT_FOUND',
        `Device '${deviceId}' has not sent '${name}'${component ? ` in component '${component}'` : ''}.`,
      );
    }
    return { value: latest.value, timestamp: latest.enqueuedAt };
  }

  async telemetryHistory(deviceId: string, query: TelemetryHistoryQuery): Promise<TelemetryMessageRecord[]> {
    await this.devices.row(deviceId);
    const limit = query.limit ?? HISTORY_LIMIT.default;
    if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_LIMIT.max) {
      throw hubError(
        'ERR_TELEMETRY_QUERY_INVALID',
        `'limit' must be an integer from 1 to ${HISTORY_LIMIT.max}.`,
      );
    }
    if (query.from && query.to && query.from > query.to) {
      throw hubError('ERR_TELEMETRY_QUERY_INVALID', "'from' must not be after 'to'.");
    }
    const rows = await this.telemetry.history(deviceId, {
      limit,
      ...(query.from ? { from: query.from.toISOString() } : {}),
      ...(query.to ? { to: query.to.toISOString() } : {}),
      ...(query.name !== undefined ? { name: query.name } : {}),
      ...(query.component !== undefined ? { component: query.component } : {}),
    });
    return rows.map((r) => ({
      id: r.id,
      deviceId: r.deviceId,
      enqueuedTime: r.enqueuedAt,
      component: r.component,
      ...decodeBody(r.body),
      systemProperties: r.systemProperties,
      properties: r.properties,
    }));
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
  async recheck(session: HubSession): Promise<HubRefusal | undefined> {
    if (!session.identity) return undefined;
    const result = await this.authentication.authenticate(session.clientId, session.identity);
    return result.ok ? undefined : result;
  }

  /** Closes the device's live connection (e.g. its credentials changed); true if there was one. */
  disconnect(deviceId: string, reason: string): boolean {
    return this.disconnectEverywhere(deviceId, reason);
  }

  /**
   * Closes the device's connection here, or asks the node that holds it (a kick newer than any
   * session); true if it was here.
   */
  private disconnectEverywhere(deviceId: string, reason: string): boolean {
    if (this.registry.disconnect(deviceId, reason)) return true;
    void this.router?.notify(deviceId, 'kick', { epoch: Number.MAX_SAFE_INTEGER, reason });
    return false;
  }

  private afterDeviceChange(device: Device, change: 'created' | 'updated'): void {
    if (!device.enabled && this.disconnectEverywhere(device.id, 'device disabled')) {
      this.logger.info({ deviceId: device.id }, 'disabled device disconnected');
    }
    this.events.emit({ type: 'deviceChanged', deviceId: device.id, time: this.now().toISOString(), change });
  }
}

function hubMetrics(metrics: Metrics) {
  return {
    messages: metrics.counter('gatehouse_hub_telemetry_messages_total', 'Telemetry messages stored.'),
    batches: metrics.counter(
      'gatehouse_hub_telemetry_batches_total',
      'Telemetry commits (group commit batches).',
    ),
    connected: metrics.gauge('gatehouse_hub_connected_devices', 'Devices connected to the hub now.'),
    uncommitted: metrics.gauge(
      'gatehouse_hub_telemetry_uncommitted',
      'Telemetry messages read from devices and not yet committed, across all sessions.',
    ),
    refused: metrics.counter('gatehouse_hub_connect_refused_total', 'Hub CONNECTs refused, by CONNACK code.'),
  };
}
