/**
 * Device provisioning over MQTT/TLS: the exchange of PROTOCOL.md §1, packet for packet what
 * `azure-iot-provisioning-device-mqtt` sends, so a Gatehouse server (or Azure DPS) cannot tell
 * the two apart.
 */
import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { readCertificate } from '@gatehouse/pki';
import {
  DPS_CLIENT_TIMEOUT_MS,
  DPS_RESPONSE_FILTER,
  DPS_SAS_KEY_NAME,
  DEFAULT_SAS_TTL_SECONDS,
  SDK_KEEPALIVE_SECONDS,
  dpsOperationStatusTopic,
  dpsRegisterTopic,
  dpsSasResource,
  parseDpsResponseTopic,
  signSharedAccessSignature,
  type RegistrationOperationStatus,
} from '@gatehouse/protocol';

import { DeviceError } from './errors.js';
import { openMqttConnection, splitHostPort } from './mqtt-connection.js';
import { loadPem, type PemInput } from './pem-input.js';
import type { RegistrationResult } from './registration-result.js';
import { DEVICE_SDK_VERSION } from './version.js';

/** The DPS API version the Node SDK announces (§1.2). */
const DPS_API_VERSION = '2019-03-31';
/** Poll delay when an answer carries no `retry-after` (the SDK's default polling interval, §1.5). */
const DEFAULT_RETRY_AFTER_MS = 2000;

/**
 * Options of {@link ProvisioningClient.create}. Give exactly one credential: `x509` (client
 * certificate, leaf first — use the `_fullchain.pem` for groups on an intermediate, §7.4) or
 * `symmetricKey` (for an enrollment group, the key derived with `deriveDeviceKey`, §6.2).
 *
 * @example
 * ```ts
 * import type { ProvisioningClientOptions } from '@gatehouse/device';
 * const options: ProvisioningClientOptions = {
 *   host: 'gatehouse.example.com',
 *   idScope: '0ne0012345',
 *   registrationId: 'thermostat-17',
 *   ca: './server-ca.pem',
 *   x509: { cert: './thermostat-17_fullchain.pem', key: './thermostat-17_key.pem' },
 * };
 * ```
 */
export interface ProvisioningClientOptions {
  /** Provisioning host name; `host:port` is honoured like the SDK does. */
  host: string;
  /** MQTT/TLS port; default 8883 (or the port inside `host`). */
  port?: number;
  /** ID scope of the provisioning service. */
  idScope: string;
  /** Registration ID; with `x509` it defaults to the leaf certificate's CN (§7.1). */
  registrationId?: string;
  /** CA certificate(s) to trust for the server (PEM, Buffer or file path); default Node's store. */
  ca?: PemInput;
  /** Client certificate (chain) and private key. */
  x509?: { cert: PemInput; key: PemInput; passphrase?: string };
  /** Base64 symmetric key (individual enrollment key or group-derived key). */
  symmetricKey?: string;
  /** Custom JSON sent as `payload` with the register request (`setProvisioningPayload`). */
  payload?: unknown;
  /** Time allowed for each DPS answer; default 30 000 ms, the SDK's `defaultTimeoutInterval`. */
  requestTimeoutMs?: number;
  /** Time allowed for TCP + TLS + CONNACK; default 30 000 ms. */
  connectTimeoutMs?: number;
}

interface DpsAnswer {
  status: number;
  retryAfterMs: number;
  body: unknown;
}

type NextRequest = { kind: 'register' } | { kind: 'poll'; operationId: string };

/**
 * Registers a device with a Gatehouse (or Azure) Device Provisioning Service and learns its
 * hub and device ID. The counterpart of the Azure SDK's
 * `ProvisioningDeviceClient.create(host, idScope, new Mqtt(), security).register()`.
 *
 * Each `register()` opens one MQTT/TLS connection (clean session, client ID = registration
 * ID), subscribes to `$dps/registrations/res/#`, sends the register request, polls the
 * operation while the service answers `assigning`, and unsubscribes and disconnects at the
 * end — whatever the outcome.
 *
 * @example
 * ```ts
 * import { ProvisioningClient } from '@gatehouse/device';
 * const provisioning = ProvisioningClient.create({
 *   host: 'gatehouse.example.com',
 *   idScope: '0ne0012345',
 *   registrationId: 'sensor-1',
 *   symmetricKey: derivedKey,
 *   ca: './server-ca.pem',
 * });
 * const { assignedHub, deviceId } = await provisioning.register();
 * ```
 */
export class ProvisioningClient {
  private busy = false;

  private constructor(private readonly options: ProvisioningClientOptions) {}

  /**
   * Check the options and make a client; nothing is sent until {@link register}.
   * Throws `ERR_DEVICE_INVALID_ARGUMENT` for missing or contradictory options.
   *
   * @example
   * ```ts
   * const provisioning = ProvisioningClient.create({
   *   host: 'localhost', port: 8883, idScope, ca,
   *   x509: { cert: 'mydevice_cert.pem', key: 'mydevice_key.pem' },
   * });
   * ```
   */
  static create(options: ProvisioningClientOptions): ProvisioningClient {
    const invalid = (message: string): DeviceError => new DeviceError('ERR_DEVICE_INVALID_ARGUMENT', message);
    if (!options.host) throw invalid('host is required');
    if (!options.idScope) throw invalid('idScope is required');
    if ((options.x509 === undefined) === (options.symmetricKey === undefined)) {
      throw invalid('give exactly one credential: x509 or symmetricKey');
    }
    if (options.symmetricKey !== undefined && !options.registrationId) {
      throw invalid('registrationId is required with a symmetric key');
    }
    if (options.port !== undefined && !(Number.isInteger(options.port) && options.port > 0)) {
      throw invalid('port must be a positive integer');
    }
    return new ProvisioningClient({ ...options });
  }

  /**
   * Run the registration and resolve with the device's `registrationState`. Rejects with a
   * {@link DeviceError}: `ERR_DEVICE_REGISTRATION_REFUSED` (status 300–428; the DPS error body
   * is in `result`, its number in `errorCode`), `ERR_DEVICE_REGISTRATION_FAILED` (status
   * `failed`/`disabled`/…), `ERR_DEVICE_TIMEOUT` (no answer within `requestTimeoutMs`),
   * or a connection error. Throttling and server errors (≥ 429) are retried after
   * `retry-after`, without limit, as the SDK does (§1.8).
   *
   * @example
   * ```ts
   * const result = await provisioning.register();
   * const cs = `HostName=${result.assignedHub};DeviceId=${result.deviceId};SharedAccessKey=${key}`;
   * ```
   */
  async register(): Promise<RegistrationResult> {
    if (this.busy) {
      throw new DeviceError('ERR_DEVICE_INVALID_ARGUMENT', 'a registration is already in progress');
    }
    this.busy = true;
    try {
      return await this.run();
    } finally {
      this.busy = false;
    }
  }

  private async run(): Promise<RegistrationResult> {
    const o = this.options;
    const { host, port } = splitHostPort(o.host, o.port ?? 8883);
    const ca = o.ca === undefined ? undefined : await loadPem(o.ca);
    const cert = o.x509 === undefined ? undefined : await loadPem(o.x509.cert);
    const key = o.x509 === undefined ? undefined : await loadPem(o.x509.key);
    const registrationId = o.registrationId ?? (cert === undefined ? undefined : commonNameOf(cert));
    if (!registrationId) {
      throw new DeviceError(
        'ERR_DEVICE_INVALID_ARGUMENT',
        'registrationId is required (no CN in the certificate)',
      );
    }
    // §1.2: raw (unencoded) sr, skn=registration, se = ceil(now + 3600).
    const password =
      o.symmetricKey === undefined
        ? undefined
        : signSharedAccessSignature({
            resource: dpsSasResource(o.idScope, registrationId),
            key: o.symmetricKey,
            keyName: DPS_SAS_KEY_NAME,
            expiry: Math.ceil(Date.now() / 1000 + DEFAULT_SAS_TTL_SECONDS),
          });
    const client = await openMqttConnection({
      host,
      port,
      clientId: registrationId,
      username:
        `${o.idScope}/registrations/${registrationId}/api-version=${DPS_API_VERSION}` +
        `&ClientVersion=${encodeURIComponent(DEVICE_SDK_VERSION)}`,
      ...(password === undefined ? {} : { password }),
      clean: true,
      keepaliveSeconds: SDK_KEEPALIVE_SECONDS,
      connectTimeoutMs: o.connectTimeoutMs ?? 30_000,
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
      ...(o.x509?.passphrase === undefined ? {} : { passphrase: o.x509.passphrase }),
    });
    const exchange = new DpsExchange(client, o.requestTimeoutMs ?? DPS_CLIENT_TIMEOUT_MS);
    try {
      const granted = await client.subscribeAsync(DPS_RESPONSE_FILTER, { qos: 1 });
      if (granted.some((g) => g.qos === 128)) {
        throw new DeviceError('ERR_DEVICE_SUBSCRIBE_FAILED', `the server refused ${DPS_RESPONSE_FILTER}`);
      }
      const body: Record<string, unknown> = { registrationId };
      if (o.payload !== undefined) body['payload'] = o.payload;
      return await this.loop(exchange, JSON.stringify(body));
    } finally {
      exchange.dispose();
      // §1.6: UNSUBSCRIBE then DISCONNECT, after success and after failure.
      await client
        .unsubscribeAsync(DPS_RESPONSE_FILTER)
        .catch(() => undefined)
        .then(() => client.endAsync())
        .catch(() => client.end(true));
    }
  }

  private async loop(exchange: DpsExchange, registerBody: string): Promise<RegistrationResult> {
    let next: NextRequest = { kind: 'register' };
    for (;;) {
      // Every request, retries included, gets a fresh $rid (§1.4).
      const rid = randomUUID();
      const answer =
        next.kind === 'register'
          ? await exchange.request(rid, dpsRegisterTopic(rid), registerBody)
          : await exchange.request(rid, dpsOperationStatusTopic(rid, next.operationId), ' ');
      if (answer.status >= 429) {
        // §1.8: throttling and server errors mean "try the same step again".
        await sleep(answer.retryAfterMs);
        continue;
      }
      if (answer.status >= 300) throw refusal(answer);
      const body = answer.body as Partial<RegistrationOperationStatus> | null;
      const status = typeof body?.status === 'string' ? body.status.toLowerCase() : '';
      // §1.6: below 300 the JSON status decides, not the number.
      if (status === 'assigned') return assignedResult(answer);
      if (status === 'registering' || status === 'assigning') {
        next =
          status === 'assigning' && typeof body?.operationId === 'string' && body.operationId !== ''
            ? { kind: 'poll', operationId: body.operationId }
            : { kind: 'register' };
        await sleep(answer.retryAfterMs);
        continue;
      }
      const state = body?.registrationState;
      throw new DeviceError(
        'ERR_DEVICE_REGISTRATION_FAILED',
        status === 'failed'
          ? `registration failed: ${state?.errorMessage ?? 'no reason given'}`
          : `registration ended with status "${status || '(none)'}"`,
        {
          status: answer.status,
          result: answer.body,
          ...(state?.errorCode === undefined ? {} : { errorCode: state.errorCode }),
        },
      );
    }
  }
}

/** One outstanding request at a time, matched to its answer by `$rid` (§1.5). */
class DpsExchange {
  private waiting:
    | {
        rid: string;
        resolve: (a: DpsAnswer) => void;
        reject: (e: DeviceError) => void;
        timer: NodeJS.Timeout;
      }
    | undefined;

  constructor(
    private readonly client: MqttClient,
    private readonly timeoutMs: number,
  ) {
    client.on('message', this.onMessage);
    client.on('close', this.onClose);
  }

  request(rid: string, topic: string, payload: string): Promise<DpsAnswer> {
    const answer = new Promise<DpsAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(
          undefined,
          new DeviceError('ERR_DEVICE_TIMEOUT', `no DPS answer within ${this.timeoutMs} ms`),
        );
      }, this.timeoutMs);
      this.waiting = { rid, resolve, reject, timer };
    });
    this.client.publish(topic, payload, { qos: 1 }, (err) => {
      if (err) {
        this.settle(
          undefined,
          new DeviceError('ERR_DEVICE_CONNECT_FAILED', 'could not send the request', { cause: err }),
        );
      }
    });
    return answer;
  }

  dispose(): void {
    this.client.removeListener('message', this.onMessage);
    this.client.removeListener('close', this.onClose);
    if (this.waiting) clearTimeout(this.waiting.timer);
    this.waiting = undefined;
  }

  private settle(answer: DpsAnswer | undefined, error?: DeviceError): void {
    const w = this.waiting;
    if (!w) return;
    this.waiting = undefined;
    clearTimeout(w.timer);
    if (error) w.reject(error);
    else w.resolve(answer as DpsAnswer);
  }

  private readonly onMessage = (topic: string, payload: Buffer): void => {
    const parsed = parseDpsResponseTopic(topic);
    // Unknown or missing $rid: not ours, ignored like the SDK does (§1.5).
    if (!parsed || parsed.rid !== this.waiting?.rid) return;
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch (cause) {
      this.settle(
        undefined,
        new DeviceError('ERR_DEVICE_PROTOCOL', `DPS answered ${parsed.status} with a body that is not JSON`, {
          status: parsed.status,
          cause,
        }),
      );
      return;
    }
    const retryAfterMs =
      parsed.retryAfterSeconds === undefined ? DEFAULT_RETRY_AFTER_MS : parsed.retryAfterSeconds * 1000;
    this.settle({ status: parsed.status, retryAfterMs, body });
  };

  private readonly onClose = (): void => {
    this.settle(
      undefined,
      new DeviceError('ERR_DEVICE_CONNECT_FAILED', 'the connection closed during registration'),
    );
  };
}

function refusal(answer: DpsAnswer): DeviceError {
  const body = (answer.body ?? {}) as { errorCode?: unknown; message?: unknown; trackingId?: unknown };
  const errorCode = typeof body.errorCode === 'number' ? body.errorCode : undefined;
  const message = typeof body.message === 'string' ? body.message : 'no message';
  return new DeviceError(
    'ERR_DEVICE_REGISTRATION_REFUSED',
    `registration refused with status ${answer.status}${errorCode === undefined ? '' : ` (${errorCode})`}: ${message}`,
    {
      status: answer.status,
      result: answer.body,
      ...(errorCode === undefined ? {} : { errorCode }),
      ...(typeof body.trackingId === 'string' ? { trackingId: body.trackingId } : {}),
    },
  );
}

function assignedResult(answer: DpsAnswer): RegistrationResult {
  const state = (answer.body as Partial<RegistrationOperationStatus>).registrationState;
  if (!state || typeof state.assignedHub !== 'string' || typeof state.deviceId !== 'string') {
    throw new DeviceError('ERR_DEVICE_PROTOCOL', 'an "assigned" answer without assignedHub and deviceId', {
      status: answer.status,
      result: answer.body,
    });
  }
  return { ...state, status: 'assigned' } as RegistrationResult;
}

function commonNameOf(pem: Buffer): string | undefined {
  try {
    return readCertificate(pem).subjectCN;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
