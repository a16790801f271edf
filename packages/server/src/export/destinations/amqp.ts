/**
 * `amqp@v1` (ours, in IoT Central's style): publishes each exported message to a RabbitMQ
 * exchange (AMQP 0-9-1, amqplib) with a routing key made from a template with `{deviceId}` and
 * `{messageSource}`. Messages are persistent JSON (`content-type: application/json`) with the
 * `iotcentral-device-id` and `iotcentral-message-source` headers Event Hubs exports carry (D-EH).
 * A batch goes over a confirm channel and resolves once the broker confirmed every message. The
 * connection and channel are opened on the first send, and again on the send after they were
 * lost; the exchange is checked (passively) each time, so a missing one is named.
 */
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';

import {
  DeliveryError,
  type DeliveryContext,
  type DestinationAdapter,
  type FieldProblem,
} from '../contracts.js';
import { connectionError, endpoint } from './connection-errors.js';
import type { BrokerDestinationOptions } from './mqtt.js';
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
export type AmqpDestinationConfig = {
  type: 'amqp@v1';
  displayName: string;
  /** `amqp://host[:5672][/vhost]` or `amqps://host[:5671][/vhost]`. */
  url: string;
  /** The exchange; `""` is the default exchange (the routing key names a queue). */
  exchange: string;
  /** Routing key template, e.g. `{messageSource}.{deviceId}`. */
  routingKey: string;
  /** PEM CA certificates for the broker's TLS certificate (amqps), beside the system's. */
  caCertificate?: string;
  /** `none` logs in as RabbitMQ's default user (guest, loopback only). */
  authorization: BrokerAuthorization;
};

/** AMQP 0-9-1 shortstr: exchange names and routing keys are at most 255 bytes. */
const SHORTSTR = 255;
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Checks an `amqp@v1` body.
 *
 * @example
 * ```ts
 * const r = validateAmqpDestination({ type: 'amqp@v1', displayName: 'Plant bus',
 *   url: 'amqp://rabbit.example', exchange: 'telemetry', routingKey: '{messageSource}.{deviceId}' });
 * ```
 */
export function validateAmqpDestination(
  body: unknown,
): { config: AmqpDestinationConfig } | { problems: FieldProblem[] } {
  const b = objectBody(body);
  if (Array.isArray(b)) return { problems: b };
  const r = new FieldReader(b);
  if (b['type'] !== 'amqp@v1') r.problem('type', 'type must be amqp@v1.');
  const displayName = r.string('displayName', b['displayName'], 200);
  const url = brokerUrl(r, b['url'], ['amqp:', 'amqps:'], true);
  const exchange = b['exchange'];
  if (typeof exchange !== 'string')
    r.problem('exchange', 'exchange is required: the name of an existing exchange ("" for the default one).');
  else if (Buffer.byteLength(exchange) > SHORTSTR)
    r.problem('exchange', `exchange is longer than ${SHORTSTR} bytes.`);
  else if (!/^[A-Za-z0-9_.:-]*$/.test(exchange))
    r.problem('exchange', 'exchange may hold only letters, digits, "-", "_", "." and ":".');
  const routingKey = template(r, 'routingKey', b['routingKey'], SHORTSTR);
  const ca = caCertificate(r, b['caCertificate']);
  if (ca !== undefined && url?.protocol === 'amqp:')
    r.problem('caCertificate', 'caCertificate needs an amqps:// url.');
  const auth = authorization(r, b['authorization']);
  if (auth?.type === 'clientCertificate' && url?.protocol === 'amqp:')
    r.problem('authorization', 'A client certificate needs an amqps:// url.');
  if (r.problems.length > 0 || !displayName || !url || typeof exchange !== 'string' || !routingKey || !auth)
    return { problems: r.problems };
  return {
    config: {
      type: 'amqp@v1',
      displayName,
      url: url.toString().replace(/\/$/, ''),
      exchange,
      routingKey,
      ...(ca !== undefined ? { caCertificate: ca } : {}),
      authorization: auth,
    },
  };
}

/** The destination as GET answers it: the password and private key are `*****`. */
export function maskAmqpDestination(config: AmqpDestinationConfig): Record<string, unknown> {
  return { ...config, authorization: maskAuthorization(config.authorization) };
}

/** The reply text of a server-side close (`… 404 (NOT-FOUND) with message "NOT_FOUND - …"`). */
function replyText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return /with message "([^"]*)"/.exec(message)?.[1] ?? message;
}

class AmqpDestination implements DestinationAdapter {
  private model: ChannelModel | undefined;
  private channel: ConfirmChannel | undefined;
  private opening: Promise<ConfirmChannel> | undefined;
  private readonly url: URL;
  private readonly where: string;
  private closed = false;

  constructor(
    private readonly config: AmqpDestinationConfig,
    private readonly ackTimeoutMs: number,
  ) {
    this.url = new URL(config.url);
    this.where = endpoint(this.url, this.url.protocol === 'amqps:' ? 5671 : 5672);
  }

  async send(batch: readonly unknown[], context: DeliveryContext): Promise<void> {
    if (batch.length === 0) return;
    const channel = await this.ready();
    await new Promise<void>((resolve, reject) => {
      let left = batch.length;
      let done = false;
      const finish = (err?: DeliveryError) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        channel.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => {
        finish(
          new DeliveryError(
            `The RabbitMQ broker at ${this.where} did not confirm the messages within ${this.ackTimeoutMs} ms.`,
          ),
        );
        this.drop(channel);
      }, this.ackTimeoutMs);
      const onClose = () =>
        finish(new DeliveryError(`The connection to the RabbitMQ broker at ${this.where} was lost.`));
      channel.on('close', onClose);
      batch.forEach((message, i) => {
        const item = context.items[i] ?? { messageSource: 'unknown' };
        const key = fillTemplate(this.config.routingKey, item, /[\u0080-\uffff]/g).slice(0, SHORTSTR);
        const headers: Record<string, string> = { 'iotcentral-message-source': item.messageSource };
        if (item.deviceId !== undefined) headers['iotcentral-device-id'] = item.deviceId;
        channel.publish(
          this.config.exchange,
          key,
          Buffer.from(JSON.stringify(message)),
          { contentType: 'application/json', contentEncoding: 'utf-8', persistent: true, headers },
          (err: unknown) => {
            // amqplib: 'message nacked' for a basic.nack, 'channel closed' for what was in flight.
            if (err instanceof Error && err.message === 'message nacked')
              return finish(
                new DeliveryError(`The RabbitMQ broker at ${this.where} refused a message (nack).`),
              );
            if (err) return onClose();
            if (--left === 0) finish();
          },
        );
      });
    });
  }

  /** Forgets a stalled connection so the next send opens a new one. */
  private drop(channel: ConfirmChannel): void {
    if (this.channel !== channel) return;
    const model = this.model;
    this.model = undefined;
    this.channel = undefined;
    // A polite close would wait for the stalled broker's CloseOk: end the socket instead.
    (model?.connection as unknown as { stream?: { destroy(): void } } | undefined)?.stream?.destroy();
  }

  async close(): Promise<void> {
    this.closed = true;
    const model = this.model;
    this.model = undefined;
    this.channel = undefined;
    await model?.close().catch(() => undefined);
  }

  private ready(): Promise<ConfirmChannel> {
    if (this.closed) return Promise.reject(new DeliveryError('The destination was closed.'));
    if (this.channel) return Promise.resolve(this.channel);
    this.opening ??= this.open().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private connectOptions(): [amqp.Options.Connect, Record<string, unknown>] {
    const a = this.config.authorization;
    const u = this.url;
    const options: amqp.Options.Connect = {
      protocol: u.protocol.replace(':', ''),
      hostname: u.hostname.replace(/^\[|\]$/g, ''),
      port: Number(u.port) || (u.protocol === 'amqps:' ? 5671 : 5672),
      vhost: u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : '/',
      heartbeat: 30,
      ...(a.type === 'userNamePassword' ? { username: a.userName, password: a.password } : {}),
    };
    const socket: Record<string, unknown> = {
      timeout: CONNECT_TIMEOUT_MS,
      servername: u.hostname,
      ...(this.config.caCertificate ? { ca: [this.config.caCertificate] } : {}),
      ...(a.type === 'clientCertificate'
        ? { cert: a.certificate, key: a.privateKey, credentials: amqp.credentials.external() }
        : {}),
    };
    return [options, socket];
  }

  private async open(): Promise<ConfirmChannel> {
    const [options, socket] = this.connectOptions();
    let model: ChannelModel;
    try {
      model = await amqp.connect(options, socket);
    } catch (err) {
      throw this.handshakeError(err);
    }
    model.on('error', () => undefined); // followed by 'close'
    model.on('close', () => {
      if (this.model === model) {
        this.model = undefined;
        this.channel = undefined;
      }
    });
    try {
      const channel = await model.createConfirmChannel();
      channel.on('error', () => undefined); // followed by 'close'
      if (this.config.exchange !== '') {
        await channel.checkExchange(this.config.exchange).catch((err: unknown) => {
          throw this.exchangeError(err);
        });
      }
      channel.on('close', () => {
        if (this.channel === channel) this.channel = undefined;
      });
      if (this.closed) throw new DeliveryError('The destination was closed.');
      this.model = model;
      this.channel = channel;
      return channel;
    } catch (err) {
      await model.close().catch(() => undefined);
      throw err instanceof DeliveryError ? err : connectionError(err, this.where, 'RabbitMQ broker');
    }
  }

  private handshakeError(err: unknown): DeliveryError {
    const message = err instanceof Error ? err.message : String(err);
    if (/ACCESS.REFUSED/.test(message))
      return new DeliveryError(
        `The RabbitMQ broker at ${this.where} refused the credentials (403 ACCESS_REFUSED): ${replyText(err)}`,
        true,
      );
    if (/NOT.ALLOWED/.test(message))
      return new DeliveryError(
        `The RabbitMQ broker at ${this.where} refused the virtual host (530 NOT_ALLOWED): ${replyText(err)}`,
        true,
      );
    return connectionError(err, this.where, 'RabbitMQ broker');
  }

  private exchangeError(err: unknown): DeliveryError {
    const message = err instanceof Error ? err.message : String(err);
    if (/NOT.FOUND/.test(message)) {
      const vhost = decodeURIComponent(this.url.pathname.slice(1)) || '/';
      return new DeliveryError(
        `The exchange "${this.config.exchange}" does not exist on the RabbitMQ broker at ${this.where} ` +
          `(virtual host "${vhost}"): declare it or change exchange.`,
        true,
      );
    }
    if (/ACCESS.REFUSED/.test(message))
      return new DeliveryError(
        `The RabbitMQ user may not use the exchange "${this.config.exchange}" (403 ACCESS_REFUSED): ${replyText(err)}`,
        true,
      );
    return connectionError(err, this.where, 'RabbitMQ broker');
  }
}

/**
 * The adapter for a checked `amqp@v1` configuration.
 *
 * @example
 * ```ts
 * const destination = createAmqpDestination(config);
 * await destination.send([{ deviceId: 'd1' }], { items: [{ deviceId: 'd1', messageSource: 'telemetry' }] });
 * ```
 */
export function createAmqpDestination(
  config: AmqpDestinationConfig,
  options: BrokerDestinationOptions = {},
): DestinationAdapter {
  return new AmqpDestination(config, options.ackTimeoutMs ?? 30_000);
}
