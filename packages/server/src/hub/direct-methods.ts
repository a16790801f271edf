/**
 * Direct methods (PROTOCOL.md §3.6; CENTRAL_API.md §1.2 Commands). The hub publishes
 * `$iothub/methods/POST/<name>/?$rid=<rid>` (QoS 0) with a JSON body (`null` without
 * payload: an empty body makes the SDK answer 400 by itself) and waits for the device's
 * `$iothub/methods/res/<status>/?$rid=<rid>`. Every attempt — answered, offline or timed out —
 * is kept in the `commands` history.
 */
import { randomUUID } from 'node:crypto';

import { MAX_METHOD_PAYLOAD_BYTES, METHODS_REQUEST_FILTER, methodRequestTopic } from '@gatehouse/protocol';
import type { Kysely, Selectable } from 'kysely';
import type { Logger } from 'pino';

import type { CommandsTable, Database } from '../store/schema.js';
import { isObject } from '../validation.js';
import type { ConnectionRegistry, LiveDevice } from './connection-registry.js';
import type { MethodOutcome } from './device-requests.js';
import type { DeviceRouter } from './device-router.js';

/** How long to wait before the one more look during a takeover. */
const TAKEOVER_GAP_MS = 250;
import { hubError } from './errors.js';
import type { CommandRequest, DeviceCommand } from './hub-api.js';
import { decodeBody } from './message-body.js';

/** CENTRAL_API.md §1.2: connectionTimeout 0–30 s (default 0), responseTimeout 5–30 s (default 30). */
export const CONNECTION_TIMEOUT = { min: 0, max: 30, default: 0 } as const;
export const RESPONSE_TIMEOUT = { min: 5, max: 30, default: 30 } as const;
/** Extra wait for a routed command's reply beyond its timeouts: two bus hops and the owner's work. */
const ROUTE_GRACE_MS = 2000;
/** While a command waits for its device to connect, how often other nodes are asked again. */
const CLUSTER_RETRY_MS = 250;

const subscribedToMethods = (d: LiveDevice) => d.isSubscribed(METHODS_REQUEST_FILTER);

export interface DirectMethodsOptions {
  db: Kysely<Database>;
  registry: ConnectionRegistry;
  logger: Logger;
  now?: () => Date;
  /** Milliseconds per timeout second; 1000 except in tests that must not wait 5 s. */
  secondMs?: number;
  onCompleted?: (deviceId: string, command: DeviceCommand) => void;
  /** Reaches devices connected to other nodes (a cluster); without it, only this node's. */
  router?: DeviceRouter;
  /**
   * Whether a node took the device's session in the last moments (device_sessions): a takeover
   * leaves a short gap between the old node's unsubscribe and the new one's subscribe, worth
   * one more look before answering offline (CLUSTER.md §6.3).
   */
  justConnected?: (deviceId: string) => Promise<boolean>;
}

type Pending = { deviceId: string; resolve: (answer: { status: number; payload: Buffer }) => void };

function timeoutField(
  body: Record<string, unknown>,
  name: string,
  range: { min: number; max: number; default: number },
) {
  const value = body[name];
  if (value === undefined || value === null) return range.default;
  // Whole seconds, as IoT Central types them (integer), and as the command history stores them.
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
    throw hubError(
      'ERR_COMMAND_INVALID',
      `'${name}' must be a whole number of seconds from ${range.min} to ${range.max}.`,
    );
  }
  return value;
}

export class DirectMethods {
  private readonly pending = new Map<string, Pending>();
  private readonly now: () => Date;
  private readonly secondMs: number;

  constructor(private readonly options: DirectMethodsOptions) {
    this.now = options.now ?? (() => new Date());
    this.secondMs = options.secondMs ?? 1000;
  }

  /** Validates a `POST /devices/{id}/commands/{name}` body. */
  parseRequest(
    name: string,
    body: unknown,
  ): Required<Pick<CommandRequest, 'connectionTimeout' | 'responseTimeout'>> & {
    request: unknown;
    payload: string;
  } {
    const input = body === undefined || body === null ? {} : body;
    if (!isObject(input)) throw hubError('ERR_COMMAND_INVALID', 'The command body must be a JSON object.');
    try {
      methodRequestTopic(name, 'check');
    } catch {
      throw hubError(
        'ERR_COMMAND_INVALID',
        `Command name '${name}' must be one topic level without / ? # + or spaces.`,
      );
    }
    const request = input['request'];
    const payload = JSON.stringify(request === undefined ? null : request);
    if (Buffer.byteLength(payload) > MAX_METHOD_PAYLOAD_BYTES) {
      throw hubError('ERR_COMMAND_INVALID', `The command request exceeds ${MAX_METHOD_PAYLOAD_BYTES} bytes.`);
    }
    return {
      request,
      payload,
      connectionTimeout: timeoutField(input, 'connectionTimeout', CONNECTION_TIMEOUT),
      responseTimeout: timeoutField(input, 'responseTimeout', RESPONSE_TIMEOUT),
    };
  }

  /**
   * Runs a command; resolves with the completed command, or throws ERR_DEVICE_OFFLINE /
   * ERR_COMMAND_TIMEOUT (with the recorded command in `detail.command`).
   */
  async invoke(deviceId: string, name: string, body: unknown): Promise<DeviceCommand> {
    const { request, payload, connectionTimeout, responseTimeout } = this.parseRequest(name, body);
    const id = randomUUID();
    const time = this.now().toISOString();
    const base = {
      id,
      name,
      connectionTimeout,
      responseTimeout,
      time,
      ...(request === undefined ? {} : { request }),
    };

    const outcome = await this.deliver(
      deviceId,
      name,
      payload,
      connectionTimeout * this.secondMs,
      responseTimeout * this.secondMs,
    );
    if (outcome.outcome === 'offline' || outcome.outcome === 'notSubscribed') {
      const command: DeviceCommand = { ...base, status: 'deviceOffline' };
      await this.record(deviceId, command);
      throw hubError(
        'ERR_DEVICE_OFFLINE',
        `Device '${deviceId}' is not connected${outcome.outcome === 'notSubscribed' ? ' to direct methods' : ''}${connectionTimeout > 0 ? ` within ${connectionTimeout} s` : ''}.`,
        { detail: { command } },
      );
    }
    if (outcome.outcome === 'timeout') {
      const command: DeviceCommand = { ...base, status: 'timeout' };
      await this.record(deviceId, command);
      throw hubError(
        'ERR_COMMAND_TIMEOUT',
        `Device '${deviceId}' did not answer '${name}' within ${responseTimeout} s.`,
        {
          detail: { command },
        },
      );
    }
    const command: DeviceCommand = { ...base, status: 'completed', responseCode: outcome.status };
    if (outcome.payload.length > 0) command.response = decodeBody(outcome.payload).body;
    await this.record(deviceId, command);
    return command;
  }

  /**
   * Gets the request to the device, here or (with a router) on the node that holds its
   * connection, waiting up to `connectWaitMs` for it to be connected with the method
   * subscription (CLUSTER.md §6.3).
   */
  private async deliver(
    deviceId: string,
    name: string,
    payload: string,
    connectWaitMs: number,
    responseTimeoutMs: number,
  ): Promise<MethodOutcome> {
    const { registry, router } = this.options;
    if (!router) return this.callHere(deviceId, name, payload, connectWaitMs, responseTimeoutMs);
    const deadline = Date.now() + connectWaitMs;
    let lookedAgain = false;
    for (;;) {
      const remaining = Math.max(0, deadline - Date.now());
      if (registry.isConnected(deviceId)) {
        return this.callHere(deviceId, name, payload, remaining, responseTimeoutMs);
      }
      const routed = await router.invoke(
        deviceId,
        'method',
        { name, payload, connectWaitMs: remaining, responseTimeoutMs },
        remaining + responseTimeoutMs + ROUTE_GRACE_MS,
      );
      switch (routed.status) {
        case 'ok':
          // 'offline': the connection left while the request travelled; it may be back elsewhere.
          if (routed.reply.outcome !== 'offline') return routed.reply;
          break;
        case 'timeout':
          // The owning node did not answer at all (it died or stalled): the caller sees a timeout.
          return { outcome: 'timeout' };
        case 'unavailable':
          throw routed.error;
        case 'failed':
          throw new Error(`the device's node could not run the command: ${routed.error}`);
        case 'offline':
          break;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        if (!lookedAgain && (await this.options.justConnected?.(deviceId).catch(() => false))) {
          lookedAgain = true;
          await new Promise((resolve) => setTimeout(resolve, TAKEOVER_GAP_MS));
          continue;
        }
        return { outcome: 'offline' };
      }
      // Connected nowhere yet: wait for a local connection, or look again across the cluster.
      await registry.waitFor(deviceId, Math.min(left, CLUSTER_RETRY_MS), subscribedToMethods);
    }
  }

  /**
   * The device's connection on this node, once it has the method subscription (also for
   * requests routed from other nodes, device-owner.ts).
   */
  async callHere(
    deviceId: string,
    name: string,
    payload: string,
    connectWaitMs: number,
    responseTimeoutMs: number,
  ): Promise<MethodOutcome> {
    const live = await this.options.registry.waitFor(deviceId, connectWaitMs, subscribedToMethods);
    if (!live) {
      return { outcome: this.options.registry.isConnected(deviceId) ? 'notSubscribed' : 'offline' };
    }
    return this.call(live, name, payload, responseTimeoutMs);
  }

  /** Publishes the request to a live connection and waits for the device's answer. */
  private async call(
    live: LiveDevice,
    name: string,
    payload: string,
    responseTimeoutMs: number,
  ): Promise<MethodOutcome> {
    const deviceId = live.deviceId;
    const rid = randomUUID().replace(/-/g, '').slice(0, 16);
    let timer: NodeJS.Timeout | undefined;
    const answer = new Promise<{ status: number; payload: Buffer } | undefined>((resolve) => {
      this.pending.set(rid, { deviceId, resolve });
      timer = setTimeout(() => resolve(undefined), responseTimeoutMs);
      timer.unref();
    });
    try {
      await live.publish(methodRequestTopic(name, rid), payload, 0);
    } catch (err) {
      this.options.logger.info({ deviceId, err }, 'method request not sent: connection closed');
    }
    const result = await answer;
    clearTimeout(timer);
    this.pending.delete(rid);
    if (!result) return { outcome: 'timeout' };
    return { outcome: 'completed', status: result.status, payload: result.payload };
  }

  /** A `$iothub/methods/res/<status>/?$rid=` from `deviceId`. Unknown or foreign rids are ignored. */
  onResponse(deviceId: string, status: number, rid: string, payload: Buffer): void {
    const pending = this.pending.get(rid);
    if (!pending || pending.deviceId !== deviceId) {
      this.options.logger.info({ deviceId, rid, status }, 'method response for an unknown $rid ignored');
      return;
    }
    this.pending.delete(rid);
    pending.resolve({ status, payload });
  }

  async list(deviceId: string, name: string): Promise<DeviceCommand[]> {
    const rows = await this.options.db
      .selectFrom('commands')
      .selectAll()
      .where('device_id', '=', deviceId)
      .where('name', '=', name)
      .orderBy('time', 'desc')
      .limit(100)
      .execute();
    return rows.map(toCommand);
  }

  async deleteDevice(deviceId: string): Promise<void> {
    await this.options.db.deleteFrom('commands').where('device_id', '=', deviceId).execute();
  }

  /** Number of commands waiting for an answer. */
  get waiting(): number {
    return this.pending.size;
  }

  private async record(deviceId: string, command: DeviceCommand): Promise<void> {
    await this.options.db
      .insertInto('commands')
      .values({
        id: command.id,
        device_id: deviceId,
        name: command.name,
        request: command.request === undefined ? null : JSON.stringify(command.request),
        response: command.response === undefined ? null : JSON.stringify(command.response),
        response_code: command.responseCode ?? null,
        status: command.status,
        time: command.time,
        connection_timeout: command.connectionTimeout,
        response_timeout: command.responseTimeout,
      })
      .execute();
    this.options.onCompleted?.(deviceId, command);
  }
}

function toCommand(row: Selectable<CommandsTable>): DeviceCommand {
  const command: DeviceCommand = {
    id: row.id,
    name: row.name,
    connectionTimeout: row.connection_timeout,
    responseTimeout: row.response_timeout,
    time: row.time,
    status: row.status as DeviceCommand['status'],
  };
  if (row.request !== null) command.request = JSON.parse(row.request) as unknown;
  if (row.response !== null) command.response = JSON.parse(row.response) as unknown;
  if (row.response_code !== null) command.responseCode = row.response_code;
  return command;
}
