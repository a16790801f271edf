/**
 * Cloud-to-device messages (PROTOCOL.md §3.4): queued in the store (so they survive restarts),
 * at most 50 per device, delivered in order over QoS 1 to
 * `devices/<id>/messages/devicebound/<bag>` when the device is connected with the devicebound
 * subscription (a persistent session keeps it across reconnects, §3.9). The device's PUBACK
 * completes a message (MQTT.js acks on receipt; `complete()` is a no-op over MQTT). A message
 * past its expiry becomes `expired` and is never sent.
 */
import { randomUUID } from 'node:crypto';

import { C2D_QUEUE_DEPTH, c2dFilter, c2dTopic, MAX_MESSAGE_BYTES } from '@gatehouse/protocol';
import type { Kysely, Selectable } from 'kysely';
import type { Logger } from 'pino';

import type { C2dMessagesTable, Database } from '../store/schema.js';
import { isObject } from '../validation.js';
import type { ConnectionRegistry } from './connection-registry.js';
import type { DeviceRouter } from './device-router.js';
import { hubError } from './errors.js';
import type { CloudToDeviceMessage } from './hub-api.js';

/** Default and largest time a message may wait for its device (IoT Hub: up to 2 days). */
export const C2D_TTL = { default: 3600, min: 1, max: 172_800 } as const;

export interface CloudToDeviceOptions {
  db: Kysely<Database>;
  registry: ConnectionRegistry;
  logger: Logger;
  now?: () => Date;
  /** Wakes the node that holds the device's connection (a cluster). */
  router?: DeviceRouter | undefined;
}

interface StoredProperties {
  system: Record<string, string>;
  application: Record<string, string>;
}

/**
 * How often a node of a cluster looks for queued messages of the devices it holds
 * (CLUSTER.md §6.3): a wake-up lost on the bus (Redis down or restarting) delays a message by
 * at most this much, never loses it.
 */
export const C2D_SWEEP_MS = 10_000;

/** How long a message received over HTTPS stays locked for its device (the hub's default). */
export const C2D_LOCK_MS = 60_000;

export class CloudToDevice {
  private readonly now: () => Date;
  /** HTTPS receive locks: lock token → message (in memory; a restart releases them). */
  private readonly locks = new Map<string, { id: string; deviceId: string; until: number }>();
  /** Devices whose delivery loop runs, and whether it must look again once done. */
  private readonly pumping = new Map<string, { again: boolean }>();
  private seq = 0;
  private lastMs = 0;

  constructor(private readonly options: CloudToDeviceOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Queues a message (`POST /devices/{id}/messages`) and starts delivery if the device is there. */
  async send(deviceId: string, input: unknown): Promise<CloudToDeviceMessage> {
    const request = this.parse(input);
    const now = this.now();
    await this.expire(deviceId, now);
    const queued = await this.options.db
      .selectFrom('c2d_messages')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('device_id', '=', deviceId)
      .where('state', '=', 'queued')
      .executeTakeFirstOrThrow();
    if (Number(queued.n) >= C2D_QUEUE_DEPTH) {
      throw hubError(
        'ERR_C2D_QUEUE_FULL',
        `Device '${deviceId}' already has ${C2D_QUEUE_DEPTH} undelivered cloud-to-device messages.`,
      );
    }
    const id = randomUUID();
    const messageId = request.messageId ?? id;
    const expiry = new Date(now.getTime() + request.ttl * 1000).toISOString();
    const system: Record<string, string> = {
      '$.mid': messageId,
      '$.to': `/devices/${deviceId}/messages/devicebound`,
      '$.exp': expiry,
    };
    if (request.correlationId !== undefined) system['$.cid'] = request.correlationId;
    if (request.contentType !== undefined) system['$.ct'] = request.contentType;
    const properties: StoredProperties = { system, application: request.properties };
    const row = {
      id,
      seq: this.nextSeq(now),
      device_id: deviceId,
      message_id: messageId,
      body: request.body,
      properties: JSON.stringify(properties),
      correlation_id: request.correlationId ?? null,
      created_at: now.toISOString(),
      expiry,
      state: 'queued',
      delivered_at: null,
    };
    // The bag must fit in a topic: encode once now so a bad one fails the request, not delivery.
    c2dTopic(deviceId, properties);
    await this.options.db.insertInto('c2d_messages').values(row).execute();
    // Committed first, then the wake-up (CLUSTER.md §6.3): a lost wake-up costs nothing, the
    // next CONNECT or subscription change delivers the queue.
    if (this.options.registry.isConnected(deviceId) || !this.options.router) this.deliver(deviceId);
    else void this.options.router.notify(deviceId, 'c2dWake', {});
    return toMessage(row);
  }

  async list(deviceId: string): Promise<CloudToDeviceMessage[]> {
    await this.expire(deviceId, this.now());
    const rows = await this.options.db
      .selectFrom('c2d_messages')
      .selectAll()
      .where('device_id', '=', deviceId)
      .orderBy('seq', 'desc')
      .limit(200)
      .execute();
    return rows.map(toMessage);
  }

  async deleteDevice(deviceId: string): Promise<void> {
    await this.options.db.deleteFrom('c2d_messages').where('device_id', '=', deviceId).execute();
  }

  /**
   * HTTPS receive (PROTOCOL.md §4): the oldest queued message that no live lock
   * holds, locked for {@link C2D_LOCK_MS} under a fresh lock token.
   */
  async receive(
    deviceId: string,
  ): Promise<{ lockToken: string; row: Selectable<C2dMessagesTable>; properties: StoredProperties } | null> {
    const now = this.now();
    await this.expire(deviceId, now);
    const locked = this.lockedIds(deviceId, now.getTime());
    let q = this.options.db
      .selectFrom('c2d_messages')
      .selectAll()
      .where('device_id', '=', deviceId)
      .where('state', '=', 'queued');
    if (locked.length > 0) q = q.where('id', 'not in', locked);
    const row = await q.orderBy('seq').limit(1).executeTakeFirst();
    if (!row) return null;
    const lockToken = randomUUID();
    this.locks.set(lockToken, { id: row.id, deviceId, until: now.getTime() + C2D_LOCK_MS });
    return { lockToken, row, properties: JSON.parse(row.properties) as StoredProperties };
  }

  /** complete → delivered; reject → rejected (dead-lettered); abandon → back in the queue. */
  async settle(
    deviceId: string,
    lockToken: string,
    outcome: 'complete' | 'reject' | 'abandon',
  ): Promise<void> {
    const lock = this.locks.get(lockToken);
    if (!lock || lock.deviceId !== deviceId || lock.until < this.now().getTime()) {
      this.locks.delete(lockToken);
      throw hubError(
        'ERR_C2D_LOCK_TOKEN_UNKNOWN',
        `Lock token '${lockToken}' is unknown or expired for device '${deviceId}': receive the message again.`,
      );
    }
    this.locks.delete(lockToken);
    if (outcome === 'complete') await this.setState(lock.id, 'delivered', this.now().toISOString());
    else if (outcome === 'reject') await this.setState(lock.id, 'rejected', null);
    else this.deliver(deviceId);
  }

  private lockedIds(deviceId: string, nowMs: number): string[] {
    const ids: string[] = [];
    for (const [token, lock] of this.locks) {
      if (lock.until < nowMs) this.locks.delete(token);
      else if (lock.deviceId === deviceId) ids.push(lock.id);
    }
    return ids;
  }

  /**
   * Delivers what is queued for the devices connected here (CLUSTER.md §6.3): a message sent
   * through another node wakes this one over the bus, and a wake-up lost there (Redis
   * restarting, a takeover in between) is repaired by this sweep, every 10 s, not lost.
   * Returns the devices it found messages for.
   */
  async sweep(): Promise<string[]> {
    const connected = [...this.options.registry.all()].map((live) => live.deviceId);
    const found: string[] = [];
    for (let i = 0; i < connected.length; i += 500) {
      const rows = await this.options.db
        .selectFrom('c2d_messages')
        .select('device_id')
        .distinct()
        .where('state', '=', 'queued')
        .where('device_id', 'in', connected.slice(i, i + 500))
        .execute();
      for (const { device_id } of rows) {
        found.push(device_id);
        this.deliver(device_id);
      }
    }
    return found;
  }

  /** Sends the device's queued messages in order, if it is connected with the C2D subscription. */
  deliver(deviceId: string): void {
    const running = this.pumping.get(deviceId);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false };
    this.pumping.set(deviceId, state);
    void this.pump(deviceId, state)
      .catch((err: unknown) => this.options.logger.error({ err, deviceId }, 'C2D delivery failed'))
      .finally(() => {
        this.pumping.delete(deviceId);
        if (state.again) this.deliver(deviceId);
      });
  }

  private async pump(deviceId: string, state: { again: boolean }): Promise<void> {
    const filter = c2dFilter(deviceId);
    for (;;) {
      state.again = false;
      const live = this.options.registry.get(deviceId);
      if (!live || !live.isSubscribed(filter)) return;
      const locked = this.lockedIds(deviceId, this.now().getTime());
      let q = this.options.db
        .selectFrom('c2d_messages')
        .selectAll()
        .where('device_id', '=', deviceId)
        .where('state', '=', 'queued');
      if (locked.length > 0) q = q.where('id', 'not in', locked);
      const row = await q.orderBy('seq').limit(1).executeTakeFirst();
      if (!row) return;
      const now = this.now();
      if (row.expiry <= now.toISOString()) {
        await this.setState(row.id, 'expired', null);
        continue;
      }
      const properties = JSON.parse(row.properties) as StoredProperties;
      try {
        await live.publish(c2dTopic(deviceId, properties), row.body, 1);
      } catch (err) {
        // The connection closed before the PUBACK: the message stays queued for the next one.
        this.options.logger.debug({ err, deviceId, id: row.id }, 'C2D message not acknowledged; kept queued');
        return;
      }
      await this.setState(row.id, 'delivered', this.now().toISOString());
    }
  }

  private async setState(
    id: string,
    state: 'delivered' | 'expired' | 'rejected',
    deliveredAt: string | null,
  ): Promise<void> {
    await this.options.db
      .updateTable('c2d_messages')
      .set({ state, delivered_at: deliveredAt })
      .where('id', '=', id)
      .where('state', '=', 'queued')
      .execute();
  }

  /**
   * Marks every queued message past its expiry `expired`, for every device (a singleton job of
   * the cluster, CLUSTER.md §6.5; sending and delivery also expire a device's own). Returns how many.
   */
  async expireAll(): Promise<number> {
    const r = await this.options.db
      .updateTable('c2d_messages')
      .set({ state: 'expired' })
      .where('state', '=', 'queued')
      .where('expiry', '<=', this.now().toISOString())
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  private async expire(deviceId: string, now: Date): Promise<void> {
    await this.options.db
      .updateTable('c2d_messages')
      .set({ state: 'expired' })
      .where('device_id', '=', deviceId)
      .where('state', '=', 'queued')
      .where('expiry', '<=', now.toISOString())
      .execute();
  }

  private nextSeq(now: Date): number {
    const ms = now.getTime();
    if (ms > this.lastMs) {
      this.lastMs = ms;
      this.seq = 0;
    }
    this.seq++;
    return this.lastMs * 1000 + Math.min(this.seq, 999);
  }

  private parse(input: unknown): {
    body: Buffer;
    contentType?: string;
    properties: Record<string, string>;
    ttl: number;
    messageId?: string;
    correlationId?: string;
  } {
    if (!isObject(input))
      throw hubError('ERR_C2D_INVALID', 'The message must be a JSON object with a `body`.');
    const raw = input['body'];
    if (raw === undefined) throw hubError('ERR_C2D_INVALID', "'body' is required.");
    const body = Buffer.from(typeof raw === 'string' ? raw : JSON.stringify(raw));
    if (body.length > MAX_MESSAGE_BYTES) {
      throw hubError('ERR_C2D_INVALID', `The body exceeds ${MAX_MESSAGE_BYTES} bytes.`);
    }
    const properties: Record<string, string> = {};
    const props = input['properties'];
    if (props !== undefined && props !== null) {
      if (!isObject(props)) throw hubError('ERR_C2D_INVALID', "'properties' must be an object of strings.");
      for (const [key, value] of Object.entries(props)) {
        if (typeof value !== 'string' || key === '' || key.startsWith('$')) {
          throw hubError(
            'ERR_C2D_INVALID',
            `Property '${key}' must have a string value and a name not starting with '$'.`,
          );
        }
        properties[key] = value;
      }
    }
    const ttl = input['ttl'] ?? C2D_TTL.default;
    if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < C2D_TTL.min || ttl > C2D_TTL.max) {
      throw hubError(
        'ERR_C2D_INVALID',
        `'ttl' must be a number of seconds from ${C2D_TTL.min} to ${C2D_TTL.max}.`,
      );
    }
    const result: ReturnType<CloudToDevice['parse']> = { body, properties, ttl };
    if (typeof raw !== 'string') result.contentType = 'application/json';
    for (const name of ['messageId', 'correlationId'] as const) {
      const value = input[name];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'string' || value === '' || value.length > 128) {
        throw hubError('ERR_C2D_INVALID', `'${name}' must be a string of 1 to 128 characters.`);
      }
      result[name] = value;
    }
    return result;
  }
}

function toMessage(row: Selectable<C2dMessagesTable>): CloudToDeviceMessage {
  const properties = JSON.parse(row.properties) as StoredProperties;
  return {
    id: row.id,
    deviceId: row.device_id,
    messageId: row.message_id,
    state: row.state as CloudToDeviceMessage['state'],
    created: row.created_at,
    expiry: row.expiry,
    delivered: row.delivered_at,
    properties: properties.application,
  };
}
