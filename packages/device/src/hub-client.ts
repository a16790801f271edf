/**
 * The device's link to its hub over MQTT/TLS (PROTOCOL.md §3): telemetry, twin, direct methods
 * and cloud-to-device messages, shaped one-to-one on the Azure SDK's `Client` so ported code
 * changes names, not structure.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  METHODS_REQUEST_FILTER,
  SDK_KEEPALIVE_SECONDS,
  TWIN_DESIRED_FILTER,
  TWIN_RESPONSE_FILTER,
  c2dFilter,
  methodResponseTopic,
  parseHubCloudTopic,
  telemetryTopic,
  twinGetTopic,
  twinPatchReportedTopic,
} from '@gatehouse/protocol';

import { decodeCloudToDeviceMessage, type CloudToDeviceMessage } from './cloud-to-device-message.js';
import type { MethodHandler } from './device-method.js';
import type { Twin, TwinProperties } from './device-twin.js';
import { DeviceError } from './errors.js';
import { hubCredential } from './hub-credential.js';
import {
  hubOptionsFromConnectionString,
  validateHubOptions,
  type ConnectionStringOptions,
  type HubClientOptions,
} from './hub-client-options.js';
import { HubSession, type ConnectReason } from './hub-session.js';
import { runMethod } from './method-dispatch.js';
import { splitHostPort } from './mqtt-connection.js';
import { loadPem } from './pem-input.js';
import { encodeTelemetry, type EventBody, type SendEventOptions } from './telemetry-message.js';
import { deviceUserAgent } from './version.js';

/** The hub API version of the Node SDK's username (§3.1). */
const HUB_API_VERSION = '2021-04-12';

/**
 * The events of a {@link HubClient} and their arguments.
 *
 * @example
 * ```ts
 * import type { HubClientEvents } from '@gatehouse/device';
 * const onDesired = (...[patch, version]: HubClientEvents['desired']) => console.log(version, patch);
 * client.on('desired', onDesired);
 * ```
 */
export interface HubClientEvents {
  /** A connection is up and its subscriptions are in place (`open`, `reconnect` or token `renewal`). */
  connected: [info: { reason: ConnectReason }];
  /** The connection went down (`connection lost` — a reconnect follows — or `closed`). */
  disconnected: [info: { reason: string }];
  /** A background failure: reconnect gave up (`ERR_DEVICE_UNAUTHORIZED`), a subscription was refused… */
  error: [err: DeviceError];
  /** A cloud-to-device message. Adding a listener subscribes to C2D. */
  message: [message: CloudToDeviceMessage];
  /** A desired-properties patch (without `$version`) and its version. Adding a listener subscribes. */
  desired: [patch: Record<string, unknown>, version: number | undefined];
}

interface TwinAnswer {
  status: number;
  version: number | undefined;
  body: unknown;
}

/**
 * A device's connection to a Gatehouse (or Azure IoT) hub over MQTT/TLS. Counterpart of the
 * Azure SDK's `Client.fromConnectionString(cs, Mqtt)`; see the README for the side-by-side.
 *
 * Nothing is subscribed on {@link open}; each feature subscribes when first used, like the SDK
 * (§3.2): `on('message')`, `on('desired')`, {@link onDeviceMethod}, {@link getTwin}. After an
 * unexpected disconnect the client reconnects with exponential back-off and jitter; SAS tokens
 * are renewed before they expire. Operations issued while disconnected wait for the next
 * connection (up to their time limit).
 *
 * @example
 * ```ts
 * import { HubClient } from '@gatehouse/device';
 * const client = HubClient.fromConnectionString(
 *   'HostName=gatehouse.example.com;DeviceId=sensor-1;SharedAccessKey=…',
 *   { ca: './server-ca.pem' },
 * );
 * client.onDeviceMethod('reboot', async () => ({ status: 200, payload: { ok: true } }));
 * await client.open();
 * await client.sendEvent({ temp: 21.5 });
 * ```
 */
export class HubClient extends EventEmitter<HubClientEvents> {
  private readonly session: HubSession;
  private readonly methods = new Map<string, MethodHandler>();
  private readonly twinWaiters = new Map<string, (answer: TwinAnswer) => void>();
  private tls: Promise<{ ca?: Buffer; cert?: Buffer; key?: Buffer }> | undefined;

  private constructor(private readonly options: HubClientOptions) {
    super();
    const { host: connectHost, port } = splitHostPort(
      options.gatewayHost ?? options.host,
      options.port ?? 8883,
    );
    const connectPort = options.port ?? port;
    const username =
      `${options.host}/${options.deviceId}/?api-version=${HUB_API_VERSION}` +
      // §3.1: model-id goes raw (not encoded), before DeviceClientType.
      (options.modelId ? `&model-id=${options.modelId}` : '') +
      `&DeviceClientType=${encodeURIComponent(deviceUserAgent())}`;
    this.session = new HubSession(
      {
        connection: async () => ({
          host: connectHost,
          port: connectPort,
          clientId: options.deviceId,
          username,
          clean: false,
          keepaliveSeconds: options.keepAliveSeconds ?? SDK_KEEPALIVE_SECONDS,
          connectTimeoutMs: options.connectTimeoutMs ?? 60_000,
          ...(await this.loadTls()),
          ...(options.x509?.passphrase === undefined ? {} : { passphrase: options.x509.passphrase }),
        }),
        credential: hubCredential(options),
        reconnect: options.reconnect ?? {},
      },
      {
        connected: (reason) => this.emit('connected', { reason }),
        disconnected: (reason) => this.emit('disconnected', { reason }),
        error: (err) => this.emitError(err),
        message: (topic, payload) => this.dispatch(topic, payload),
      },
    );
    // Adding a listener is what subscribes, as with the SDK's client.on('message') (§3.2).
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event === 'message') this.want(c2dFilter(options.deviceId), 1);
      if (event === 'desired') this.want(TWIN_DESIRED_FILTER, 0);
    });
  }

  /**
   * Make a client from explicit options. Throws `ERR_DEVICE_INVALID_ARGUMENT` when they are
   * incomplete or contradictory; connects only on {@link open}.
   *
   * @example
   * ```ts
   * const client = HubClient.create({
   *   host: 'localhost', port: 8883, deviceId: 'mytestdevice', ca: caPem,
   *   x509: { cert: 'mytestdevice_cert.pem', key: 'mytestdevice_key.pem' },
   * });
   * ```
   */
  static create(options: HubClientOptions): HubClient {
    return new HubClient(validateHubOptions(options));
  }

  /**
   * Make a client from a device connection string (`HostName=…;DeviceId=…;SharedAccessKey=…`,
   * `…;SharedAccessSignature=…` or `…;x509=true` with `cert` and `key` in `options`), like
   * `Client.fromConnectionString(cs, Mqtt)` followed by `client.setOptions(options)`.
   *
   * @example
   * ```ts
   * const client = HubClient.fromConnectionString(
   *   `HostName=${hub};DeviceId=mytestdevice;x509=true`,
   *   { ca: './server-ca.pem', cert: 'mytestdevice_cert.pem', key: 'mytestdevice_key.pem' },
   * );
   * ```
   */
  static fromConnectionString(connectionString: string, options: ConnectionStringOptions = {}): HubClient {
    return HubClient.create(hubOptionsFromConnectionString(connectionString, options));
  }

  /**
   * The device ID this client speaks for.
   *
   * @example
   * ```ts
   * console.log(`connected as ${client.deviceId}`);
   * ```
   */
  get deviceId(): string {
    return this.options.deviceId;
  }

  /**
   * Whether a connection is up right now (false while reconnecting).
   *
   * @example
   * ```ts
   * if (!client.connected) console.warn('offline: messages wait for the next connection');
   * ```
   */
  get connected(): boolean {
    return this.session.isConnected;
  }

  /**
   * Connect (CONNECT with `clean=false`, client ID = device ID) and subscribe what the listeners
   * and method handlers registered so far need. The first connection is not retried: a refusal
   * rejects with `ERR_DEVICE_UNAUTHORIZED` (CONNACK 4/5), `ERR_DEVICE_CONNECTION_REFUSED` or
   * `ERR_DEVICE_CONNECT_FAILED`. Calling it while open does nothing.
   *
   * @example
   * ```ts
   * await client.open();
   * ```
   */
  async open(): Promise<void> {
    await this.session.open();
  }

  /**
   * Disconnect and stop reconnecting; pending operations reject with `ERR_DEVICE_CLOSED`. The
   * client may be opened again later.
   *
   * @example
   * ```ts
   * process.on('SIGTERM', () => void client.close());
   * ```
   */
  async close(): Promise<void> {
    await this.session.close();
  }

  /**
   * Send a telemetry message (QoS 1) to `devices/<id>/messages/events/<bag>` and resolve on
   * PUBACK (§3.3). Strings go as UTF-8, Buffers as is, anything else as JSON (then `$.ct`
   * defaults to `application/json` and `$.ce` to `utf-8`). If the connection drops first, the
   * message is sent again on the next one (so duplicates are possible, as with the SDK).
   *
   * @example
   * ```ts
   * await client.sendEvent({ temperature: 21.5 }, { properties: { alert: 'none' }, messageId: randomUUID() });
   * await client.sendEvent('raw text', { contentType: 'text/plain' });
   * ```
   */
  async sendEvent(body: EventBody, options: SendEventOptions = {}): Promise<void> {
    const { payload, bag } = encodeTelemetry(body, options);
    const topic = telemetryTopic(this.options.deviceId, bag);
    await this.session.run(this.deadline(options.timeoutMs), async (conn) => {
      await conn.client.publishAsync(topic, payload, { qos: 1 });
    });
  }

  /**
   * Read the device twin (`$iothub/twin/GET`, §3.5). Rejects with `ERR_DEVICE_TWIN_FAILED`
   * when the hub answers with an error.
   *
   * @example
   * ```ts
   * const { desired, reported } = await client.getTwin();
   * ```
   */
  async getTwin(): Promise<Twin> {
    const answer = await this.twinRequest((rid) => twinGetTopic(rid), ' ');
    const body = answer.body as Partial<Twin> | undefined;
    if (!isObject(body?.desired) || !isObject(body?.reported)) {
      throw new DeviceError('ERR_DEVICE_PROTOCOL', 'the twin answer lacks desired or reported', {
        status: answer.status,
        result: answer.body,
      });
    }
    return { desired: body.desired, reported: body.reported };
  }

  /**
   * Merge `patch` into the reported properties (`null` deletes a property) and resolve with the
   * new reported `$version` when the hub tells it (§3.5).
   *
   * @example
   * ```ts
   * const version = await client.updateReportedProperties({ firmware: '1.2.0', battery: null });
   * ```
   */
  async updateReportedProperties(patch: Record<string, unknown>): Promise<number | undefined> {
    if (!isObject(patch)) throw new DeviceError('ERR_DEVICE_INVALID_ARGUMENT', 'the patch must be an object');
    const answer = await this.twinRequest((rid) => twinPatchReportedTopic(rid), JSON.stringify(patch));
    return answer.version;
  }

  /**
   * Answer the direct method `name` (§3.6): the handler gets the JSON payload and returns the
   * status and payload to send back. A handler that throws answers 500; a method without a
   * handler answers 501. Registering one subscribes to `$iothub/methods/POST/#`.
   *
   * @example
   * ```ts
   * client.onDeviceMethod('blink', async (payload) => {
   *   await blink(Number(payload));
   *   return { status: 200, payload: { status: `Blinking LED every ${payload} seconds` } };
   * });
   * ```
   */
  onDeviceMethod(name: string, handler: MethodHandler): this {
    if (!name || /[/?#+]/.test(name)) {
      throw new DeviceError(
        'ERR_DEVICE_INVALID_ARGUMENT',
        'a method name is one topic level without wildcards',
      );
    }
    this.methods.set(name, handler);
    this.want(METHODS_REQUEST_FILTER, 0);
    return this;
  }

  private deadline(timeoutMs?: number): number {
    return Date.now() + (timeoutMs ?? this.options.operationTimeoutMs ?? 240_000);
  }

  private want(filter: string, qos: 0 | 1): void {
    this.session.subscribe(filter, qos, this.deadline()).catch((err: unknown) => {
      if (err instanceof DeviceError && err.code !== 'ERR_DEVICE_CLOSED') this.emitError(err);
    });
  }

  private emitError(err: DeviceError): void {
    // An 'error' event without listener would crash the process; background errors are optional.
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private loadTls(): Promise<{ ca?: Buffer; cert?: Buffer; key?: Buffer }> {
    const { ca, x509 } = this.options;
    this.tls ??= Promise.all([
      ca === undefined ? undefined : loadPem(ca),
      x509 === undefined ? undefined : loadPem(x509.cert),
      x509 === undefined ? undefined : loadPem(x509.key),
    ]).then(([c, cert, key]) => ({
      ...(c === undefined ? {} : { ca: c }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
    }));
    // A missing file should fail this open(), not every later one.
    this.tls.catch(() => (this.tls = undefined));
    return this.tls;
  }

  private async twinRequest(topicFor: (rid: string) => string, body: string): Promise<TwinAnswer> {
    const deadline = this.deadline();
    await this.session.subscribe(TWIN_RESPONSE_FILTER, 0, deadline);
    const rids: string[] = [];
    try {
      const answer = await this.session.run(
        deadline,
        (conn) =>
          new Promise<TwinAnswer>((resolve, reject) => {
            // A fresh $rid per attempt: an answer to a request on a dead link is ignored.
            const rid = randomUUID();
            rids.push(rid);
            this.twinWaiters.set(rid, resolve);
            conn.client.publish(topicFor(rid), body, { qos: 0 }, (err) => (err ? reject(err) : undefined));
          }),
      );
      const errorCode = (answer.body as { errorCode?: unknown } | undefined)?.errorCode;
      // §3.5: the SDK only looks at errorCode in the body; we also refuse any status ≥ 300.
      if (answer.status >= 300 || errorCode !== undefined) {
        const message = (answer.body as { message?: unknown } | undefined)?.message;
        throw new DeviceError(
          'ERR_DEVICE_TWIN_FAILED',
          `the hub answered the twin request with ${answer.status}: ${typeof message === 'string' ? message : 'no message'}`,
          {
            status: answer.status,
            result: answer.body,
            ...(typeof errorCode === 'number' ? { errorCode } : {}),
          },
        );
      }
      return answer;
    } finally {
      for (const rid of rids) this.twinWaiters.delete(rid);
    }
  }

  private dispatch(topic: string, payload: Buffer): void {
    const parsed = parseHubCloudTopic(this.options.deviceId, topic);
    if (!parsed) return;
    switch (parsed.kind) {
      case 'c2d': {
        let message: CloudToDeviceMessage;
        try {
          message = decodeCloudToDeviceMessage(parsed.bag, payload);
        } catch (cause) {
          this.emitError(
            new DeviceError('ERR_DEVICE_PROTOCOL', 'a C2D message with a malformed property bag', { cause }),
          );
          return;
        }
        this.emit('message', message);
        return;
      }
      case 'twinResponse': {
        const resolve = this.twinWaiters.get(parsed.rid);
        if (!resolve) return;
        let body: unknown;
        try {
          body =
            payload.length === 0 || payload.toString('utf8').trim() === ''
              ? undefined
              : JSON.parse(payload.toString('utf8'));
        } catch {
          body = { errorCode: -1, message: 'the twin answer is not JSON' };
        }
        resolve({ status: parsed.status, version: parsed.version, body });
        return;
      }
      case 'desiredPatch': {
        let patch: unknown;
        try {
          patch = JSON.parse(payload.toString('utf8'));
        } catch (cause) {
          this.emitError(
            new DeviceError('ERR_DEVICE_PROTOCOL', 'a desired-properties patch that is not JSON', { cause }),
          );
          return;
        }
        if (!isObject(patch)) return;
        const { $version, ...rest } = patch as TwinProperties;
        this.emit('desired', rest, typeof $version === 'number' ? $version : parsed.version);
        return;
      }
      case 'methodRequest':
        void this.answerMethod(parsed.name, parsed.rid, payload);
        return;
    }
  }

  private async answerMethod(methodName: string, requestId: string, payload: Buffer): Promise<void> {
    const result = await runMethod(this.methods, methodName, requestId, payload);
    const body = JSON.stringify(result.payload === undefined ? null : result.payload) ?? 'null';
    try {
      // §3.6: the response goes QoS 0; a reply on a later connection is still useful to the hub.
      await this.session.run(this.deadline(), async (conn) => {
        await conn.client.publishAsync(methodResponseTopic(result.status, requestId), body, { qos: 0 });
      });
    } catch (err) {
      if (err instanceof DeviceError && err.code !== 'ERR_DEVICE_CLOSED') this.emitError(err);
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
