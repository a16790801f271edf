/**
 * A device's MQTT connection to the hub, from CONNECT to close: authentication, the one
 * connection per device in the cluster (CLUSTER.md §6.2), the persistent session, template
 * assignment from the announced model ID, and the `connected` / `disconnected` events.
 */
import type { IConnectPacket } from 'mqtt-packet';
import type { Logger } from 'pino';
import type { Kysely } from 'kysely';

import type { EventBus } from '../events/event-bus.js';
import { CONNACK } from '../gateway/connack-codes.js';
import type { HubConnectIdentity } from '../gateway/gateway-options.js';
import type { CloseReason, MqttConnection } from '../gateway/mqtt-connection.js';
import type { Database } from '../store/schema.js';
import type { StorageAlarm } from '../store/storage-alarm.js';
import type { CloudToDevice } from './cloud-to-device.js';
import type { ConnectionRegistry } from './connection-registry.js';
import type { DeviceAuthentication } from './device-authentication.js';
import type { DeviceRouter } from './device-router.js';
import type { DeviceSessions } from './device-sessions.js';
import type { DeviceRegistry } from './devices.js';
import type { HubMetrics } from './hub-metrics.js';
import type { HubRefusal, TemplateLookup } from './hub-service-options.js';
import { HubSession, type HubSessionHandlers } from './hub-session.js';
import type { SessionStore } from './sessions.js';
import type { TelemetryBudget } from './telemetry-budget.js';

/** How long a takeover waits for the old node to close the device's connection (CLUSTER.md §6.2). */
const KICK_WAIT_MS = 2000;

export interface DeviceConnectionsOptions {
  db: Kysely<Database>;
  logger: Logger;
  now: () => Date;
  nodeId: string;
  registry: ConnectionRegistry<HubSession>;
  router: DeviceRouter | undefined;
  authentication: DeviceAuthentication;
  deviceSessions: DeviceSessions;
  sessions: SessionStore;
  devices: DeviceRegistry;
  events: EventBus;
  c2d: CloudToDevice;
  budget: TelemetryBudget;
  /** What every device session calls into. */
  handlers: HubSessionHandlers;
  templates: TemplateLookup | undefined;
  storage: StorageAlarm | undefined;
  metrics: HubMetrics | undefined;
  onRefused: ((identity: HubConnectIdentity, refusal: HubRefusal) => void) | undefined;
}

export class DeviceConnections {
  /** Session releases under way: stop() waits for them before the store closes. */
  private readonly releasing = new Set<Promise<void>>();
  private stopping = false;

  constructor(private readonly o: DeviceConnectionsOptions) {}

  async onConnect(
    conn: MqttConnection,
    connect: IConnectPacket,
    identity: HubConnectIdentity,
  ): Promise<void> {
    const deviceId = identity.username.deviceId;
    if (this.stopping) {
      conn.refuse(CONNACK.SERVER_UNAVAILABLE, 'hub is stopping');
      return;
    }
    if (this.o.storage?.full) {
      this.o.metrics?.refused.inc({ code: String(CONNACK.SERVER_UNAVAILABLE) });
      conn.refuse(CONNACK.SERVER_UNAVAILABLE, 'storage is full: telemetry cannot be stored');
      return;
    }
    const result = await this.o.authentication.authenticate(connect.clientId, identity);
    if (!result.ok) {
      conn.log.info({ deviceId, connack: result.code, reason: result.reason }, 'hub connection refused');
      this.o.metrics?.refused.inc({ code: String(result.code) });
      conn.refuse(result.code, result.reason);
      this.o.onRefused?.(identity, result);
      return;
    }
    const clean = connect.clean !== false;
    // One connection per device in the whole cluster (CLUSTER.md §6.2): take the session row,
    // then tell the node that held it to close its connection, before this one is announced.
    const claim = await this.o.deviceSessions.claim(deviceId, conn.remoteAddress);
    if (claim.previous && claim.previous.nodeId !== this.o.nodeId && this.o.router) {
      const kicked = await this.o.router.invoke(
        deviceId,
        'kick',
        {
          epoch: claim.epoch,
          reason: `replaced by a new connection of the same device on node ${this.o.nodeId}`,
        },
        KICK_WAIT_MS,
      );
      conn.log.info(
        { deviceId, previousNode: claim.previous.nodeId, epoch: claim.epoch, kick: kicked.status },
        'took the device over from another node',
      );
    }
    const restored = await this.o.sessions.open(deviceId, clean);
    if (conn.isClosing) {
      void this.releaseSession(deviceId, claim.epoch);
      return;
    }
    const session = new HubSession({
      conn,
      deviceId,
      clean,
      subscriptions: restored.subscriptions,
      sessions: this.o.sessions,
      handlers: this.o.handlers,
      now: this.o.now,
      epoch: claim.epoch,
      clientId: connect.clientId,
      identity,
      budget: this.o.budget,
    });
    const time = this.o.now().toISOString();
    // One connection per device (§3.7): registering closes the previous one.
    this.o.registry.add(session);
    if (this.o.router) {
      // CONNACK only once other nodes can reach the device (CLUSTER.md §6.2 step 3).
      await this.o.registry.reachable(deviceId);
      // A newer claim on another node may have sent its kick before this node listened on the
      // device's channel, so it reached nobody: the row says who holds the device now. Found
      // with two real nodes and parallel CONNECTs (T1): both connections stayed open.
      const superseded = conn.isClosing ? false : !(await this.holdsSession(deviceId, claim.epoch));
      if (conn.isClosing || superseded) {
        // Never accepted, so the connection will not report its close: forget it here.
        this.o.registry.remove(session);
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
    this.o.metrics?.connected.set({}, this.o.registry.size);
    // After CONNACK nothing may throw back to the gateway (it would answer a second CONNACK).
    try {
      await this.o.db
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
    if (this.o.registry.get(deviceId) !== session) return;
    this.o.events.emit({ type: 'connected', deviceId, time });
    this.o.c2d.deliver(deviceId);
  }

  onSubscriptionsChanged(session: HubSession): void {
    this.o.registry.changed(session.deviceId);
    this.o.c2d.deliver(session.deviceId);
  }

  onSessionClosed(session: HubSession, reason: CloseReason): void {
    const current = this.o.registry.remove(session);
    this.o.metrics?.connected.set({}, this.o.registry.size);
    void this.saveActivity(session);
    // Fenced by the epoch: a newer connection (here or on another node) keeps its row.
    if (session.epoch !== undefined) void this.releaseSession(session.deviceId, session.epoch);
    // A connection replaced by a newer one of the same device is not a disconnection.
    if (!current) return;
    this.o.events.emit({
      type: 'disconnected',
      deviceId: session.deviceId,
      time: this.o.now().toISOString(),
      reason,
    });
  }

  /**
   * Checks a live session's credentials again (revocation/session-sweep.ts): the refusal if
   * they no longer pass, else undefined.
   */
  async recheck(session: HubSession): Promise<HubRefusal | undefined> {
    if (!session.identity) return undefined;
    const result = await this.o.authentication.authenticate(session.clientId, session.identity);
    return result.ok ? undefined : result;
  }

  /**
   * Closes the device's connection here, or asks the node that holds it (a kick newer than any
   * session); true if it was here.
   */
  disconnectEverywhere(deviceId: string, reason: string): boolean {
    if (this.o.registry.disconnect(deviceId, reason)) return true;
    void this.o.router?.notify(deviceId, 'kick', { epoch: Number.MAX_SAFE_INTEGER, reason });
    return false;
  }

  /** From now on every CONNECT is refused (the hub is stopping). */
  refuseNew(): void {
    this.stopping = true;
  }

  /** Closes every connection, then waits for their last activity and session releases to be saved. */
  async closeAll(): Promise<void> {
    const live = [...this.o.registry.all()];
    this.o.registry.closeAll('server shutdown');
    await Promise.all(live.map((s) => this.saveActivity(s)));
    await Promise.all([...this.releasing]);
  }

  /** Whether this node's connection of `epoch` still holds the device's session row. */
  private async holdsSession(deviceId: string, epoch: number): Promise<boolean> {
    const holder = await this.o.deviceSessions.holder(deviceId);
    return holder?.nodeId === this.o.nodeId && holder.epoch === epoch;
  }

  /**
   * A device without a template that announces `model-id` (PROTOCOL.md §3.1) gets the template
   * of that model, if there is one (contract §A Assignment). Never throws: the device is connected.
   */
  private async assignTemplate(conn: MqttConnection, deviceId: string, modelId: string): Promise<void> {
    if (!this.o.templates) return;
    try {
      const template = await this.o.templates.resolve(modelId);
      if (template === undefined) {
        conn.log.debug({ deviceId, modelId }, 'no device template for the model ID');
        return;
      }
      if (!(await this.o.devices.assignTemplateIfUnset(deviceId, template))) return;
      conn.log.info({ deviceId, modelId, template }, 'device template assigned from the model ID');
      this.o.events.emit({
        type: 'deviceChanged',
        deviceId,
        time: this.o.now().toISOString(),
        change: 'updated',
      });
    } catch (err) {
      conn.log.warn({ err, deviceId, modelId }, 'device template not assigned');
    }
  }

  private releaseSession(deviceId: string, epoch: number): Promise<void> {
    const release = this.o.deviceSessions.release(deviceId, epoch).then(
      () => undefined,
      (err: unknown) => {
        // The reaper releases it once this node stops heartbeating; until then it reads connected.
        this.o.logger.warn({ err, deviceId, epoch }, 'device session not released');
      },
    );
    this.releasing.add(release);
    void release.finally(() => this.releasing.delete(release));
    return release;
  }

  private async saveActivity(session: HubSession): Promise<void> {
    try {
      await this.o.db
        .updateTable('device_status')
        .set({ last_activity: session.lastActivity.toISOString() })
        .where('device_id', '=', session.deviceId)
        .execute();
    } catch (err) {
      this.o.logger.warn({ err, deviceId: session.deviceId }, 'last activity not saved');
    }
  }
}
