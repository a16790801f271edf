/**
 * One MQTT 3.1.1 connection over any byte stream (a TLS socket, later a WebSocket stream).
 *
 * Why a lean gateway on mqtt-packet rather than the aedes broker: the gateway is
 * request/response dispatch to services (DPS, hub) with per-device ACLs, ack-after-durable-
 * commit (PUBACK only once the service has stored the message) and persistent sessions kept
 * in our own store, not pub/sub routing between clients. A broker would route every packet
 * through its own topic tree, persistence and hooks only to be overridden by ours. The
 * telemetry benchmark (later issue) measures this gateway against mosquitto.
 *
 * This class owns the connection-level rules: CONNECT first and only once, protocol level,
 * keep-alive, PINGREQ/DISCONNECT, packet size, parse errors, outgoing packet identifiers and
 * write backpressure. Everything a service decides (CONNACK code, what a PUBLISH means) lives
 * in a session attached after CONNECT (dispatcher.ts → dps-session.ts or the hub).
 */
import type { Duplex } from 'node:stream';

import { KEEPALIVE_GRACE_FACTOR, MAX_MESSAGE_BYTES } from '@gatehouse/protocol';
import { generate, parser as createParser } from 'mqtt-packet';
import type {
  IConnectPacket,
  IPublishPacket,
  ISubscribePacket,
  IUnsubscribePacket,
  Packet,
  Parser,
} from 'mqtt-packet';
import type { Logger } from 'pino';

import { CLOSE_LOG_LEVEL, NORMAL_CLOSE, type CloseReason } from './close-reason.js';
import { CONNACK, type ConnackCode } from './connack-codes.js';
import { gatewayError } from './errors.js';
import type { ConnectionKind, GatewayMetrics } from './gateway-metrics.js';
import { gatewayMetrics } from './gateway-metrics.js';
import { keepAliveWheel, type KeepAliveMember } from './keep-alive-wheel.js';
import { DEFAULT_SEND_TIMEOUT_MS, Outbound, type OutboundLimits } from './outbound.js';
import { packetViolation } from './packet-rules.js';
import { PacketSizeGuard } from './packet-size-guard.js';

export type { CloseReason } from './close-reason.js';

/** [MQTT-3.1.0-1] the client has this long to send CONNECT after the transport opens. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** The largest message body the SDK sends (256 KiB) plus 1 KiB for topic and headers. */
export const DEFAULT_MAX_PACKET_BYTES = MAX_MESSAGE_BYTES + 1024;
/** How long a quiet connection keeps its packet parser. */
const PARSER_IDLE_RELEASE_MS = 2_000;
/** How long an ended stream may linger (peer not closing its side) before it is destroyed. */
const CLOSE_GRACE_MS = 2_000;

/** What a service implements to receive a connection's packets once CONNECT is accepted. */
export interface MqttSession {
  onPublish(packet: IPublishPacket): void;
  onSubscribe(packet: ISubscribePacket): void;
  onUnsubscribe(packet: IUnsubscribePacket): void;
  /** Called once when the connection closes, for whatever reason. */
  onClose?(reason: CloseReason): void;
}

export interface MqttConnectionOptions {
  logger: Logger;
  /** Bindings of the connection's log lines (before `remoteAddress` and `clientId`). */
  logBindings?: Record<string, unknown>;
  /** Called once with the first CONNECT (protocol level already checked); must answer with
   * `accept()` or `refuse()`, now or later. Packets that follow are held until then. */
  onConnect: (conn: MqttConnection, packet: IConnectPacket) => void;
  remoteAddress?: string;
  metrics?: GatewayMetrics;
  connectTimeoutMs?: number;
  /** Largest accepted incoming packet, fixed header included. */
  maxPacketBytes?: number;
  /** Inflight window, write-buffer budget and send timeout (outbound.ts). */
  outbound?: OutboundLimits;
}
type PauseReason = 'session' | 'drain' | 'service';

export class MqttConnection implements KeepAliveMember {
  /** The CONNECT client identifier, once received. */
  clientId: string | undefined;
  readonly remoteAddress: string | undefined;
  readonly closed: Promise<CloseReason>;

  private readonly stream: Duplex;
  /** Made on demand; an idle connection with no partial packet drops it (`idle()`). */
  private parser: Parser | undefined;
  /** Bytes of an incomplete packet the parser holds. */
  private parserPending = 0;
  private readonly sizeGuard: PacketSizeGuard;
  private readonly metrics: GatewayMetrics;
  /** Dropped once called, with what it holds (the peer's certificates among them). */
  private onConnectCallback: ((conn: MqttConnection, packet: IConnectPacket) => void) | undefined;
  private readonly logger: Logger;
  private readonly logBindings: Record<string, unknown>;
  private cachedLog: Logger | undefined;
  private kind: ConnectionKind = 'pending';
  private session: MqttSession | undefined;
  private held: Packet[] = [];
  private connectReceived = false;
  private isClosed = false;
  private closeReason: CloseReason | undefined;
  private resolveClosed!: (reason: CloseReason) => void;
  private connectTimer: NodeJS.Timeout | undefined;
  keepAliveMs = 0;
  lastPacketAt = Date.now();
  private readonly paused = new Set<PauseReason>();
  private readonly outbound: Outbound;
  private readonly sendTimeoutMs: number;
  private sendTimer: NodeJS.Timeout | undefined;

  constructor(stream: Duplex, options: MqttConnectionOptions) {
    this.stream = stream;
    this.remoteAddress = options.remoteAddress;
    this.metrics = options.metrics ?? gatewayMetrics();
    this.onConnectCallback = options.onConnect;
    this.logger = options.logger;
    this.logBindings = { ...options.logBindings, remoteAddress: options.remoteAddress };
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.sizeGuard = new PacketSizeGuard(options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES);
    this.outbound = new Outbound({ stream, write: (packet) => this.send(packet) }, options.outbound);
    this.sendTimeoutMs = options.outbound?.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;

    this.metrics.connectionOpened(this.kind);
    // [MQTT-3.1.0-1] a server that does not receive CONNECT in a reasonable time closes.
    this.connectTimer = setTimeout(
      () => this.close('connect-timeout', 'no CONNECT received'),
      options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    );
    this.connectTimer.unref();

    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('end', () => this.close('peer-closed', 'peer ended the stream'));
    stream.on('error', (err: Error) => this.close('peer-closed', err.message));
    stream.on('close', () => this.close('peer-closed', 'stream closed'));
    this.debug({}, 'mqtt connection opened');
  }

  /** A debug line; no connection logger is made when debug lines are not written. */
  debug(bindings: Record<string, unknown>, message: string): void {
    if (this.logger.isLevelEnabled('debug')) this.log.debug(bindings, message);
  }

  /**
   * The connection's logger, with `remoteAddress` and, after CONNECT, `clientId`. Made when
   * something logs and kept only until the current turn of the event loop ends, so an idle
   * connection holds no logger of its own.
   */
  get log(): Logger {
    if (!this.cachedLog) {
      this.cachedLog = this.logger.child(this.logBindings);
      queueMicrotask(() => (this.cachedLog = undefined));
    }
    return this.cachedLog;
  }

  /** True once the connection is closing or closed; further writes are dropped. */
  get isClosing(): boolean {
    return this.isClosed;
  }

  /** Number of QoS 1 publishes waiting for their PUBACK. */
  get outstandingCount(): number {
    return this.outbound.inflight;
  }

  /** Publishes waiting to be written: the inflight window is full or the write buffer at its cap. */
  get queuedCount(): number {
    return this.outbound.queued;
  }

  /** Sends CONNACK 0 and hands every following packet to `session`; `kind` labels the metrics. */
  accept(session: MqttSession, kind: Exclude<ConnectionKind, 'pending'>, sessionPresent = false): void {
    if (this.isClosed) return;
    this.send({ cmd: 'connack', returnCode: CONNACK.ACCEPTED, sessionPresent });
    this.metrics.connectionClosed(this.kind);
    this.kind = kind;
    this.metrics.connectionOpened(kind);
    this.session = session;
    const held = this.held;
    this.held = [];
    for (const packet of held) {
      if (this.isClosed) break;
      this.dispatch(packet);
    }
    this.resume('session');
  }

  /** Sends a CONNACK refusal and closes [MQTT-3.2.2-5]; nothing sent after CONNECT is processed [MQTT-3.1.4-5]. */
  refuse(returnCode: Exclude<ConnackCode, 0>, detail: string): void {
    if (this.isClosed) return;
    this.send({ cmd: 'connack', returnCode, sessionPresent: false });
    this.close('connect-refused', `CONNACK ${returnCode}: ${detail}`);
  }

  /**
   * Publishes to the client. QoS 0 resolves once written; QoS 1 gets a free packet
   * identifier [MQTT-2.3.1-2] and resolves on the client's PUBACK [MQTT-4.3.2-1]. Past the
   * inflight window or the write-buffer budget it waits its turn (outbound.ts). Rejects with
   * `ERR_MQTT_CONNECTION_CLOSED` if the connection closes first, `ERR_MQTT_SEND_QUEUE_FULL`
   * when the waiting publishes already hold the budget.
   */
  publish(topic: string, payload: Buffer | string, qos: 0 | 1 = 0): Promise<void> {
    if (this.isClosed) return Promise.reject(gatewayError('ERR_MQTT_CONNECTION_CLOSED', 'connection closed'));
    return this.outbound.publish(topic, typeof payload === 'string' ? Buffer.from(payload) : payload, qos);
  }

  /** [MQTT-4.3.2-2] acknowledges a QoS 1 PUBLISH. */
  puback(messageId: number): void {
    this.send({ cmd: 'puback', messageId });
  }

  /**
   * Runs `write` with the stream corked, so that the packets it sends synchronously (a PUBACK
   * and the answer that follows it) leave as one write and, on TLS, one record: each record
   * is an encryption and a system call on both sides.
   */
  together(write: () => void): void {
    this.stream.cork();
    try {
      write();
    } finally {
      this.stream.uncork();
    }
  }

  /** [MQTT-3.8.4-1] one return code per filter, in order [MQTT-3.9.3-1]; 0x80 = failure. */
  suback(messageId: number, granted: number[]): void {
    this.send({ cmd: 'suback', messageId, granted });
  }

  /** [MQTT-3.10.4-4] */
  unsuback(messageId: number): void {
    this.send({ cmd: 'unsuback', messageId, granted: [] });
  }

  /**
   * Stops reading from the client while a service catches up (e.g. too many requests in
   * flight); TCP flow control then slows the client down instead of queueing in memory.
   */
  pauseInput(): void {
    this.pause('service');
  }

  resumeInput(): void {
    this.resume('service');
  }

  /** The reason given to `close()`, once closed. */
  get reason(): CloseReason | undefined {
    return this.closeReason;
  }

  /**
   * Closes the connection once: stops processing input, fails outstanding publishes, ends the
   * stream (flushing what was written, e.g. a CONNACK refusal) and destroys it if the peer
   * does not close its side within a short grace period.
   */
  close(reason: CloseReason, detail?: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeReason = reason;
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    clearTimeout(this.sendTimer);
    keepAliveWheel.delete(this);
    this.onConnectCallback = undefined;
    this.held = [];
    this.outbound.fail(gatewayError('ERR_MQTT_CONNECTION_CLOSED', `connection closed (${reason})`));

    const level = CLOSE_LOG_LEVEL[reason];
    if (this.logger.isLevelEnabled(level)) this.log[level]({ reason, detail }, 'mqtt connection closed');
    this.metrics.connectionClosed(this.kind);
    if (!NORMAL_CLOSE.has(reason)) this.metrics.refused(reason);
    try {
      this.session?.onClose?.(reason);
    } catch (cause) {
      this.log.error({ err: cause }, 'session close handler failed');
    }

    // Keep draining (and ignoring) input so the peer's FIN is seen and 'close' follows.
    this.paused.clear();
    this.stream.resume();
    if (!this.stream.destroyed) {
      this.stream.end();
      const timer = setTimeout(() => this.stream.destroy(), CLOSE_GRACE_MS);
      timer.unref();
      this.stream.once('close', () => clearTimeout(timer));
    }
    this.resolveClosed(reason);
  }

  private onData(chunk: Buffer): void {
    if (this.isClosed) return;
    const oversize = this.sizeGuard.check(chunk);
    if (oversize === 'malformed') {
      this.close('malformed-packet', 'remaining length longer than 4 bytes');
      return;
    }
    if (oversize !== undefined) {
      this.close('packet-too-large', `packet of ${oversize} bytes exceeds ${this.sizeGuard.maxBytes}`);
      return;
    }
    this.parserPending = this.getParser().parse(chunk);
  }

  private onParseError(err: Error): void {
    if (this.isClosed) return;
    // [MQTT-3.1.2-2] an unknown protocol level in the first packet still gets CONNACK 1.
    if (!this.connectReceived && err.message === 'Invalid protocol version') {
      this.send({ cmd: 'connack', returnCode: CONNACK.UNACCEPTABLE_PROTOCOL_VERSION, sessionPresent: false });
      this.close('connect-refused', 'unsupported protocol level');
      return;
    }
    // [MQTT-4.8.0-1] a malformed packet closes the network connection.
    this.close('malformed-packet', err.message);
  }

  private onPacket(packet: Packet): void {
    if (this.isClosed) return;
    this.metrics.packetReceived(packet.cmd);
    this.lastPacketAt = Date.now();
    const violation = packetViolation(packet);
    if (violation !== undefined) {
      // [MQTT-3.1.4-1] a non-conforming CONNECT gets no CONNACK; any other packet no answer.
      this.close('protocol-violation', `${packet.cmd}: ${violation}`);
      return;
    }
    if (!this.connectReceived) {
      if (packet.cmd !== 'connect') {
        // [MQTT-3.1.0-1] the first packet from the client must be CONNECT.
        this.close('protocol-violation', `first packet was ${packet.cmd}, not CONNECT`);
        return;
      }
      this.onConnect(packet);
      return;
    }
    switch (packet.cmd) {
      case 'connect':
        // [MQTT-3.1.0-2] a second CONNECT is a protocol violation.
        this.close('protocol-violation', 'second CONNECT');
        return;
      case 'pingreq':
        // [MQTT-3.12.4-1]
        this.send({ cmd: 'pingresp' });
        return;
      case 'disconnect':
        // [MQTT-3.14.4-1] the client is done; the will (none supported) is discarded.
        this.close('client-disconnect');
        return;
      case 'puback':
        this.onPuback(packet.messageId);
        return;
      case 'publish':
      case 'subscribe':
      case 'unsubscribe':
        if (this.session) this.dispatch(packet);
        else this.held.push(packet);
        return;
      default:
        // Server-to-client packets, QoS 2 flow (never granted) and AUTH (MQTT 5).
        this.close('protocol-violation', `unexpected ${packet.cmd} from client`);
    }
  }

  private onConnect(packet: IConnectPacket): void {
    this.connectReceived = true;
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.clientId = packet.clientId;
    this.logBindings['clientId'] = packet.clientId;
    this.cachedLog = undefined;
    if (packet.protocolId !== 'MQTT' || packet.protocolVersion !== 4) {
      // [MQTT-3.1.2-2] only level 4 (3.1.1) is supported: CONNACK 1, then close.
      this.refuse(
        CONNACK.UNACCEPTABLE_PROTOCOL_VERSION,
        `unsupported protocol ${String(packet.protocolId)} level ${String(packet.protocolVersion)}`,
      );
      return;
    }
    this.startKeepAlive(packet.keepalive ?? 0);
    // Hold what follows CONNECT until a service accepts it [MQTT-3.1.4-5].
    this.pause('session');
    const onConnect = this.onConnectCallback;
    this.onConnectCallback = undefined;
    try {
      onConnect?.(this, packet);
    } catch (cause) {
      this.log.error({ err: cause }, 'connect handler failed');
      this.refuse(CONNACK.SERVER_UNAVAILABLE, 'internal error');
    }
  }

  private dispatch(packet: Packet): void {
    const session = this.session;
    if (!session) return;
    try {
      if (packet.cmd === 'publish') session.onPublish(packet);
      else if (packet.cmd === 'subscribe') session.onSubscribe(packet);
      else if (packet.cmd === 'unsubscribe') session.onUnsubscribe(packet);
    } catch (cause) {
      this.log.error({ err: cause, cmd: packet.cmd }, 'session handler failed');
      this.close('internal-error', `${packet.cmd} handler threw`);
    }
  }

  private onPuback(messageId: number | undefined): void {
    // An unknown identifier is ignored, as mosquitto does: a late PUBACK after a redelivery.
    if (messageId === undefined || !this.outbound.acknowledge(messageId))
      this.debug({ messageId }, 'PUBACK for an unknown packet identifier ignored');
  }

  private startKeepAlive(keepAliveSeconds: number): void {
    // [MQTT-3.1.2-24] no packet within 1.5 × keep-alive → disconnect; 0 turns it off.
    if (keepAliveSeconds <= 0) return;
    this.keepAliveMs = keepAliveSeconds * 1000 * KEEPALIVE_GRACE_FACTOR;
    this.lastPacketAt = Date.now();
    // One shared timer for all connections (keep-alive-wheel.ts); packets only stamp `lastPacketAt`.
    keepAliveWheel.add(this);
  }

  private getParser(): Parser {
    if (this.parser) return this.parser;
    const parser = createParser({ protocolVersion: 4 });
    parser.on('packet', (packet: Packet) => this.onPacket(packet));
    parser.on('error', (err: Error) => this.onParseError(err));
    this.parser = parser;
    return parser;
  }

  /**
   * @internal Called by the keep-alive wheel for a connection quiet for `idleMs`: after a
   * while, a parser that holds no partial packet is let go (with its buffer list stream); the
   * next packet makes a new one. Only after CONNECT, so the settings it learnt from CONNECT
   * (protocol level 4, the only one accepted) are the ones a new parser starts with.
   */
  idle(idleMs: number): void {
    if (idleMs >= PARSER_IDLE_RELEASE_MS && this.parserPending === 0 && this.connectReceived)
      this.parser = undefined;
  }

  /** @internal Called by the keep-alive wheel. */
  keepAliveExpired(idleMs: number): void {
    this.close('keepalive-timeout', `nothing received for ${idleMs} ms`);
  }

  private send(packet: Packet): void {
    if (this.isClosed) {
      this.log.debug({ cmd: packet.cmd }, 'not sent: connection closed');
      return;
    }
    let bytes: Buffer;
    try {
      bytes = generate(packet, { protocolVersion: 4 });
    } catch (cause) {
      this.log.error({ err: cause, cmd: packet.cmd }, 'cannot encode packet');
      this.close('internal-error', `cannot encode ${packet.cmd}`);
      return;
    }
    this.metrics.packetSent(packet.cmd);
    // Backpressure: when the client does not read, stop reading its requests until it does,
    // and give it the send timeout to take what is buffered.
    if (!this.stream.write(bytes) && !this.paused.has('drain')) {
      this.pause('drain');
      this.sendTimer = setTimeout(() => this.sendTimedOut(), this.sendTimeoutMs);
      this.sendTimer.unref();
      this.stream.once('drain', () => {
        clearTimeout(this.sendTimer);
        this.resume('drain');
        this.outbound.flush();
      });
    }
  }

  private sendTimedOut(): void {
    const buffered = this.stream.writableLength;
    this.close(
      'send-timeout',
      `${buffered} bytes of output not taken by the peer in ${this.sendTimeoutMs} ms`,
    );
    // The peer reads nothing: ending the stream would wait for the buffer, so drop it now.
    this.stream.destroy();
  }

  private resume(reason: PauseReason): void {
    if (!this.paused.delete(reason)) return;
    if (this.paused.size === 0 && !this.isClosed) this.stream.resume();
  }

  private pause(reason: PauseReason): void {
    if (this.paused.size === 0) this.stream.pause();
    this.paused.add(reason);
  }
}
