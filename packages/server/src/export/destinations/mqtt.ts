/**
 * `mqtt@v1` (ours, in IoT Central's style): publishes each exported message as JSON to any MQTT
 * broker, on a topic made from a template with `{deviceId}` and `{messageSource}`. Plain or TLS
 * (`mqtts://`, optional CA), with a user name and password or a client certificate. A batch
 * resolves once the broker acknowledged every message (PUBACK at QoS 1, the default; written to
 * the socket at QoS 0). The connection is opened on the first send and again on the send after
 * it was lost; MQTT.js never reconnects by itself here, so a failure is seen by the export and
 * retried with its backoff.
 */
import { randomBytes } from 'node:crypto';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';

import {
  DeliveryError,
  type DeliveryContext,
  type DestinationAdapter,
  type FieldProblem,
} from '../contracts.js';
import { connectionError, endpoint } from './connection-errors.js';
import {
  authorization,
  brokerUrl,
  caCertificate,
  FieldReader,
  fillTemplate,
  maskAuthorization,
  objectBody,
  template,
  type BrokerAuthorization,
} from './destination-fields.js';

/** A type alias (not an interface) so it is a `Record<string, unknown>` for the type registry. */
export type MqttDestinationConfig = {
  type: 'mqtt@v1';
  displayName: string;
  /** `mqtt://host[:1883]` or `mqtts://host[:8883]`. */
  url: string;
  /** Topic name template, e.g. `gatehouse/{messageSource}/{deviceId}`. */
  topic: string;
  qos: 0 | 1;
  /** MQTT client identifier; default `gatehouse-export-<random>`. */
  clientId?: string;
  /** PEM CA certificates for the broker's TLS certificate (mqtts), beside the system's. */
  caCertificate?: string;
  authorization: BrokerAuthorization;
};

/** [MQTT-4.7.3-1]: topic names hold no wildcard; [MQTT-4.7.3-2]: no NUL. */
const TOPIC_FORBIDDEN = ['+', '#', '\u0000'];
/** Characters of a device id or source that would change the topic's levels. */
// eslint-disable-next-line no-control-regex -- NUL is refused in topic names [MQTT-4.7.3-2]
const TOPIC_UNSAFE = /[/+#\u0000]/g;
const CONNECT_TIMEOUT_MS = 10_000;

export interface BrokerDestinationOptions {
  /**
   * How long a batch may wait for the broker's acknowledgements (PUBACKs, publisher confirms)
   * before it fails and the connection is dropped; default 30 s. A broker that stalls (out of
   * memory or disk, a half-open connection) would otherwise hold the export forever.
   */
  ackTimeoutMs?: number;
}

/**
 * Checks a `mqtt@v1` body.
 *
 * @example
 * ```ts
 * const r = validateMqttDestination({ type: 'mqtt@v1', displayName: 'Plant broker',
 *   url: 'mqtts://broker.example:8883', topic: 'plant/{deviceId}', authorization: { type: 'none' } });
 * if ('problems' in r) reply.code(400); else createMqttDestination(r.config);
 * ```
 */
export function validateMqttDestination(
  body: unknown,
): { config: MqttDestinationConfig } | { problems: FieldProblem[] } {
  const b = objectBody(body);
  if (Array.isArray(b)) return { problems: b };
  const r = new FieldReader(b);
  if (b['type'] !== 'mqtt@v1') r.problem('type', 'type must be mqtt@v1.');
  const displayName = r.string('displayName', b['displayName'], 200);
  const url = brokerUrl(r, b['url'], ['mqtt:', 'mqtts:'], false);
  const topic = template(r, 'topic', b['topic'], 1024, TOPIC_FORBIDDEN);
  let qos: 0 | 1 = 1;
  if (b['qos'] !== undefined && b['qos'] !== null) {
    if (b['qos'] === 0 || b['qos'] === 1) qos = b['qos'];
    else r.problem('qos', 'qos must be 0 or 1.');
  }
  const clientId = r.optionalString('clientId', b['clientId'], 128);
  const ca = caCertificate(r, b['caCertificate']);
  if (ca !== undefined && url?.protocol === 'mqtt:')
    r.problem('caCertificate', 'caCertificate needs an mqtts:// url.');
  const auth = authorization(r, b['authorization']);
  if (auth?.type === 'clientCertificate' && url?.protocol === 'mqtt:')
    r.problem('authorization', 'A client certificate needs an mqtts:// url.');
  if (r.problems.length > 0 || !displayName || !url || !topic || !auth) return { problems: r.problems };
  return {
    config: {
      type: 'mqtt@v1',
      displayName,
      url: url.toString().replace(/\/$/, ''),
      topic,
      qos,
      ...(clientId !== undefined ? { clientId } : {}),
      ...(ca !== undefined ? { caCertificate: ca } : {}),
      authorization: auth,
    },
  };
}

/** The destination as GET answers it: the password and private key are `*****`. */
export function maskMqttDestination(config: MqttDestinationConfig): Record<string, unknown> {
  return { ...config, authorization: maskAuthorization(config.authorization) };
}

/** Words for a CONNACK refusal ([MQTT-3.2.2.3], return codes 1–5). */
function refusal(code: number, where: string): DeliveryError {
  const words: Record<number, string> = {
    1: 'it does not accept MQTT 3.1.1',
    2: 'it rejected the client identifier',
    3: 'the MQTT service is unavailable',
    4: 'bad user name or password',
    5: 'not authorized',
  };
  const permanent = code !== 3;
  return new DeliveryError(
    `The MQTT broker at ${where} refused the connection: ${words[code] ?? `return code ${code}`} (CONNACK ${code}).`,
    permanent,
  );
}

class MqttDestination implements DestinationAdapter {
  private client: MqttClient | undefined;
  private connecting: Promise<MqttClient> | undefined;
  private readonly where: string;
  private readonly failOnClose = new Set<(err: DeliveryError) => void>();
  private closed = false;

  constructor(
    private readonly config: MqttDestinationConfig,
    private readonly ackTimeoutMs: number,
  ) {
    this.where = endpoint(new URL(config.url), config.url.startsWith('mqtts:') ? 8883 : 1883);
  }

  async send(batch: readonly unknown[], context: DeliveryContext): Promise<void> {
    if (batch.length === 0) return;
    const client = await this.connection();
    await new Promise<void>((resolve, reject) => {
      let left = batch.length;
      let done = false;
      const finish = (err?: DeliveryError) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.failOnClose.delete(finish);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => {
        finish(
          new DeliveryError(
            `The MQTT broker at ${this.where} did not acknowledge the messages within ${this.ackTimeoutMs} ms.`,
          ),
        );
        // A new connection for the next attempt: this one may be stalled.
        if (this.client === client) this.client = undefined;
        client.end(true);
      }, this.ackTimeoutMs);
      this.failOnClose.add(finish);
      batch.forEach((message, i) => {
        const item = context.items[i] ?? { messageSource: 'unknown' };
        const topic = fillTemplate(this.config.topic, item, TOPIC_UNSAFE);
        client.publish(topic, JSON.stringify(message), { qos: this.config.qos }, (err) => {
          if (err) return finish(connectionError(err, this.where, 'MQTT broker'));
          if (--left === 0) finish();
        });
      });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    this.rejectPending(new DeliveryError('The destination was closed.'));
    if (client) await client.endAsync(true).catch(() => undefined);
  }

  private rejectPending(err: DeliveryError): void {
    for (const fail of [...this.failOnClose]) fail(err);
  }

  private connection(): Promise<MqttClient> {
    if (this.closed) return Promise.reject(new DeliveryError('The destination was closed.'));
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private options(): IClientOptions {
    const c = this.config;
    const a = c.authorization;
    return {
      clientId: c.clientId ?? `gatehouse-export-${randomBytes(6).toString('hex')}`,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
      rejectUnauthorized: true,
      ...(c.caCertificate ? { ca: c.caCertificate } : {}),
      ...(a.type === 'userNamePassword' ? { username: a.userName, password: a.password } : {}),
      ...(a.type === 'clientCertificate' ? { cert: a.certificate, key: a.privateKey } : {}),
    };
  }

  private open(): Promise<MqttClient> {
    return new Promise((resolve, reject) => {
      const client = connect(this.config.url, this.options());
      let settled = false;
      const fail = (err: DeliveryError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.end(true);
        reject(err);
      };
      const timer = setTimeout(
        () =>
          fail(
            new DeliveryError(
              `No answer from ${this.where}: the MQTT broker did not accept the connection in time.`,
            ),
          ),
        CONNECT_TIMEOUT_MS + 1_000,
      );
      client.on('error', (err: Error & { code?: unknown }) => {
        if (typeof err.code === 'number') fail(refusal(err.code, this.where));
        else fail(connectionError(err, this.where, 'MQTT broker'));
      });
      client.on('close', () => {
        if (this.client === client) this.client = undefined;
        fail(
          new DeliveryError(`The MQTT broker at ${this.where} closed the connection before accepting it.`),
        );
        this.rejectPending(new DeliveryError(`The connection to the MQTT broker at ${this.where} was lost.`));
      });
      client.once('connect', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (this.closed) {
          client.end(true);
          return reject(new DeliveryError('The destination was closed.'));
        }
        this.client = client;
        resolve(client);
      });
    });
  }
}

/**
 * The adapter for a checked `mqtt@v1` configuration.
 *
 * @example
 * ```ts
 * const destination = createMqttDestination(config);
 * await destination.send([{ deviceId: 'd1', telemetry: { t: 1 } }], { items: [{ deviceId: 'd1', messageSource: 'telemetry' }] });
 * ```
 */
export function createMqttDestination(
  config: MqttDestinationConfig,
  options: BrokerDestinationOptions = {},
): DestinationAdapter {
  return new MqttDestination(config, options.ackTimeoutMs ?? 30_000);
}
