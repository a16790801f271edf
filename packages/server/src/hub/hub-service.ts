/**
 * The hub context's composition root: `HubService` implements the REST contract (hub-api.ts)
 * and gives the gateway its CONNECT hook (`connectHandler()`), wiring device authentication,
 * the connection registry, persistent sessions, telemetry ingest, twins, direct methods,
 * cloud-to-device messages and the event bus.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { twinResponseTopic, type PropertyBag } from '@gatehouse/protocol';
import type { Kysely } from 'kysely';
import type { IConnectPacket, IPublishPacket } from 'mqtt-packet';
import type { Logger } from 'pino';

import { EventBus } from '../events/event-bus.js';
import { CONNACK } from '../gateway/connack-codes.js';
import type { HubConnectHandler, HubConnectIdentity } from '../gateway/gateway-options.js';
import type { CloseReason, MqttConnection } from '../gateway/mqtt-connection.js';
import type { Metrics } from '../metrics.js';
import type { Database } from '../store/schema.js';
import { checkId } from '../validation.js';
import { CloudToDevice } from './cloud-to-device.js';
import { ConnectionRegistry } from './connection-registry.js';
import {
  DeviceAuthentication,
  X509Authenticator,
  type DeviceAuthenticator,
} from './device-authentication.js';
import { DeviceRegistry } from './devices.js';
import { DirectMethods } from './direct-methods.js';
import { hubError } from './errors.js';
import type {
  CloudToDeviceMessage,
  Device,
  DeviceCommand,
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
import { TelemetryIngest } from './telemetry-ingest.js';
import { SqliteTelemetryStore, type TelemetryInput, type TelemetryStore } from './telemetry-store.js';
import { TwinPatchError, TwinService, type TwinDocument, type TwinState } from './twins.js';
import { HubHttpDevices } from './hub-http-devices.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Default and largest number of messages a history query returns. */
const HISTORY_LIMIT = { default: 1000, max: 10_000 } as const;

export interface HubServiceOptions {
  db: Kysely<Database>;
  /** The raw handle of the same SQLite database: the telemetry writer's prepared statements. */
  sqlite?: BetterSqlite3.Database;
  /** Another telemetry store (e.g. PostgreSQL); required when `sqlite` is absent. */
  telemetryStore?: TelemetryStore;
  /** The hub's host name (the `HostName` devices connect with). */
  hostName: string;
  logger: Logger;
  metrics?: Metrics;
  /** Telemetry retention in days; default 30. */
  retentionDays?: number;
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
  readonly registry = new ConnectionRegistry<HubSession>();
  readonly ingest: TelemetryIngest;
  readonly twins: TwinService;
  readonly methods: DirectMethods;
  readonly c2d: CloudToDevice;
  /** The hub over HTTPS (PROTOCOL.md §4), for the device HTTPS listener. */
  readonly http: HubHttpDevices;
  readonly devices: DeviceRegistry;
  private readonly properties: DesiredProperties;

  private readonly db: Kysely<Database>;
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly telemetry: TelemetryStore;
  private readonly sessions: SessionStore;
  private readonly authentication: DeviceAuthentication;
  private readonly retentionDays: number;
  private readonly templates: TemplateLookup | undefined;
  private readonly metrics: ReturnType<typeof hubMetrics> | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
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
    this.templates = options.templates;
    this.metrics = options.metrics ? hubMetrics(options.metrics) : undefined;
    this.events = new EventBus(this.logger);
    const telemetry =
      options.telemetryStore ?? (options.sqlite ? new SqliteTelemetryStore(options.sqlite) : undefined);
    if (!telemetry) throw new Error('HubService needs `sqlite` (the raw handle) or a `telemetryStore`');
    this.telemetry = telemetry;
    this.sessions = new SessionStore(this.db);
    this.authentication = new DeviceAuthentication(this.db, [
      new X509Authenticator(this.db, this.now),
      ...(options.authenticators ?? []),
    ]);
    this.ingest = new TelemetryIngest({
      store: telemetry,
      logger: this.logger,
      onCommitted: (batch) => this.onTelemetryCommitted(batch),
    });
    this.twins = new TwinService(this.db, this.now);
    this.methods = new DirectMethods({
      db: this.db,
      registry: this.registry,
      logger: this.logger,
      now: this.now,
      ...(options.commandSecondMs !== undefined ? { secondMs: options.commandSecondMs } : {}),
      onCompleted: (deviceId, command) =>
        this.events.emit({ type: 'commandCompleted', deviceId, time: this.now().toISOString(), command }),
    });
    this.c2d = new CloudToDevice({
      db: this.db,
      registry: this.registry,
      logger: this.logger,
      now: this.now,
    });
    this.http = new HubHttpDevices({
      db: this.db,
      hostName: this.hostName,
      logger: this.logger,
      now: this.now,
      authentication: this.authentication,
      ingest: this.ingest,
      c2d: this.c2d,
    });
    this.devices = new DeviceRegistry(
      this.db,
      {
        status: (id, stored) => {
          const live = this.registry.get(id);
          return {
            connected: live !== undefined,
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
    });
  }

  /** Starts background work: telemetry retention (now, then hourly). */
  start(): void {
    if (this.retentionTimer) return;
    void this.applyRetention();
    this.retentionTimer = setInterval(() => void this.applyRetention(), HOUR_MS);
    this.retentionTimer.unref();
  }

  /** Stops timers, closes device connections and flushes queued telemetry. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.retentionTimer);
    this.retentionTimer = undefined;
    const live = [...this.registry.all()];
    this.registry.closeAll('server shutdown');
    await Promise.all(live.map((s) => this.saveActivity(s)));
    await this.ingest.flush();
    await this.telemetry.close?.();
  }

  /** Deletes telemetry older than `retentionDays`; returns how many messages. */
  async applyRetention(): Promise<number> {
    const cutoff = new Date(this.now().getTime() - this.retentionDays * DAY_MS).toISOString();
    try {
      const deleted = await this.telemetry.deleteOlderThan(cutoff);
      if (deleted > 0) this.logger.info({ deleted, cutoff }, 'telemetry retention applied');
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
    const result = await this.authentication.authenticate(connect.clientId, identity);
    if (!result.ok) {
      conn.log.info({ deviceId, connack: result.code, reason: result.reason }, 'hub connection refused');
      this.metrics?.refused.inc({ code: String(result.code) });
      conn.refuse(result.code, result.reason);
      return;
    }
    const clean = connect.clean !== false;
    const restored = await this.sessions.open(deviceId, clean);
    if (conn.isClosing) return;
    const session = new HubSession({
      conn,
      deviceId,
      clean,
      subscriptions: restored.subscriptions,
      sessions: this.sessions,
      handlers: this.handlers,
      now: this.now,
    });
    const time = this.now().toISOString();
    // One connection per device (§3.7): registering closes the previous one.
    this.registry.add(session);
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
    // Closed or replaced meanwhile: its close already told listeners (or the newer one will).
    if (this.registry.get(deviceId) !== session) return;
    this.events.emit({ type: 'connected', deviceId, time });
    this.c2d.deliver(deviceId);
    const modelId = identity.username.modelId;
    if (modelId !== undefined && modelId !== '') await this.assignTemplate(conn, deviceId, modelId);
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
      });
    }
  }

  // ---------------------------------------------------------------- REST (HubApi)

  listDevices(): Promise<Device[]> {
    return this.devices.list();
  }

  getDevice(id: string): Promise<Device> {
    return this.devices.get(id);
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
    this.registry.disconnect(id, 'device deleted');
    await Promise.all([
      this.twins.delete(id),
      this.sessions.drop(id),
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

  subscribe(listener: (event: HubEvent) => void, deviceId?: string): () => void {
    if (deviceId !== undefined) checkId('deviceId', deviceId);
    return this.events.subscribe(listener, deviceId);
  }

  /** Whether the device has a live connection now. */
  isConnected(deviceId: string): boolean {
    return this.registry.isConnected(deviceId);
  }

  /** Closes the device's live connection (e.g. its credentials changed); true if there was one. */
  disconnect(deviceId: string, reason: string): boolean {
    return this.registry.disconnect(deviceId, reason);
  }

  private afterDeviceChange(device: Device, change: 'created' | 'updated'): void {
    if (!device.enabled && this.registry.disconnect(device.id, 'device disabled')) {
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
    refused: metrics.counter('gatehouse_hub_connect_refused_total', 'Hub CONNECTs refused, by CONNACK code.'),
  };
}
