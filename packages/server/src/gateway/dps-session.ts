/**
 * The DPS exchange over MQTT (PROTOCOL.md §1): one SUBSCRIBE to `$dps/registrations/res/#`,
 * register and operation-status requests as PUBLISH, each answered by one PUBLISH on the
 * response topic. Credentials are not checked here: the connection is accepted even without
 * any, and the service answers 401 on the response topic like real DPS (§1.2, §1.10).
 */
import { randomUUID } from 'node:crypto';

import { DPS_RESPONSE_FILTER, parseDpsRequestTopic, type DpsRequestTopic } from '@gatehouse/protocol';
import type { IPublishPacket, ISubscribePacket, IUnsubscribePacket } from 'mqtt-packet';

import type { DpsHandler, DpsReply, DpsRequestContext } from '../provisioning/dps-handler.js';
import { encodeDpsReply, internalErrorReply, type EncodedDpsReply } from './dps-reply.js';
import type { CloseReason, MqttConnection, MqttSession } from './mqtt-connection.js';

/** SUBACK return code for a refused filter [MQTT-3.9.3-2]. */
const SUBACK_FAILURE = 0x80;
const DEFAULT_MAX_INFLIGHT = 8;
/**
 * A request's PUBACK waits this long for the answer to go out with it (one TLS record instead
 * of two); an answer that takes longer finds the PUBACK already sent. mosquitto and IoT Hub
 * acknowledge at once; the Node SDK gives a PUBACK 30 s (azure-iot-mqtt-base's timeout for a
 * message on the wire), so 100 ms more is far inside it.
 */
export const PUBACK_WAIT_MS = 100;

/** A request's PUBACK, not yet sent: with the answer, or alone once `PUBACK_WAIT_MS` have passed. */
class PendingPuback {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly conn: MqttConnection,
    private readonly messageId: number,
  ) {
    this.timer = setTimeout(() => this.send(), PUBACK_WAIT_MS);
    this.timer.unref();
  }

  /** Sends the PUBACK now, unless it went already. */
  send(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.conn.puback(this.messageId);
  }
}

export interface DpsSessionOptions {
  conn: MqttConnection;
  handler: DpsHandler;
  context: DpsRequestContext;
  /** Requests handled at once; when reached, the connection stops reading until one finishes. */
  maxInflight?: number;
}

export class DpsSession implements MqttSession {
  private readonly conn: MqttConnection;
  private readonly handler: DpsHandler;
  private readonly context: DpsRequestContext;
  private readonly maxInflight: number;
  private inflight = 0;

  constructor(options: DpsSessionOptions) {
    this.conn = options.conn;
    this.handler = options.handler;
    this.context = options.context;
    this.maxInflight = Math.max(1, options.maxInflight ?? DEFAULT_MAX_INFLIGHT);
  }

  /** §1.3: the response filter is granted at most QoS 1 (DPS's maximum); anything else fails. */
  onSubscribe(packet: ISubscribePacket): void {
    let refused = 0;
    let firstRefused: string | undefined;
    const granted = packet.subscriptions.map((s) => {
      if (s.topic === DPS_RESPONSE_FILTER) return Math.min(s.qos, 1);
      refused++;
      firstRefused ??= s.topic;
      return SUBACK_FAILURE;
    });
    // One line per SUBSCRIBE, however many filters it refuses: a packet of 65,000 filters
    // once wrote 65,000 lines.
    if (refused > 0)
      this.conn.log.warn(
        { filter: firstRefused?.slice(0, 256), refused },
        'dps subscription refused: only $dps/registrations/res/# is allowed',
      );
    this.conn.suback(packet.messageId ?? 0, granted);
  }

  onUnsubscribe(packet: IUnsubscribePacket): void {
    // §1.6: the SDK unsubscribes before DISCONNECT; there is no state to drop.
    this.conn.unsuback(packet.messageId ?? 0);
  }

  onPublish(packet: IPublishPacket): void {
    if (packet.qos === 2) {
      // Neither DPS nor the hub supports QoS 2 (PROTOCOL.md §3.7): close, as Azure does.
      this.violation(
        'ERR_MQTT_QOS2_NOT_SUPPORTED',
        `The device published with QoS 2 to '${packet.topic}'; DPS supports QoS 0 and 1, so the connection was closed.`,
      );
      this.conn.close('forbidden', `QoS 2 publish to ${packet.topic}`);
      return;
    }
    const request = parseDpsRequestTopic(packet.topic);
    if (!request) {
      // A device may only publish its own DPS requests (DESIGN.md security rules).
      this.violation(
        'ERR_MQTT_TOPIC_FORBIDDEN',
        `The device published to '${packet.topic}', outside $dps/registrations/; the connection was closed.`,
      );
      this.conn.close('forbidden', `publish to a topic outside the DPS requests: ${packet.topic}`);
      return;
    }
    // [MQTT-4.3.2-2] PUBACK the request, with its answer when that comes soon (PendingPuback);
    // the answer comes on the response topic.
    const puback =
      packet.qos === 1 && packet.messageId !== undefined
        ? new PendingPuback(this.conn, packet.messageId)
        : undefined;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    void this.handle(request, payload, puback);
  }

  onClose(reason: CloseReason): void {
    if (this.inflight > 0) this.conn.debug({ reason, inflight: this.inflight }, 'dps requests still running');
  }

  /** Keep a record of a protocol violation in the refusal diagnostics (if the handler keeps them). */
  private violation(code: string, message: string): void {
    this.handler.recordViolation?.(this.context, code, message).catch((err: unknown) => {
      this.conn.log.error({ err }, 'could not record the protocol violation');
    });
  }

  private async handle(
    request: DpsRequestTopic,
    payload: Buffer,
    puback: PendingPuback | undefined,
  ): Promise<void> {
    this.inflight++;
    if (this.inflight === this.maxInflight) this.conn.pauseInput();
    let reply: DpsReply;
    try {
      reply =
        request.kind === 'register'
          ? await this.handler.register(this.context, payload)
          : await this.handler.operationStatus(this.context, request.operationId);
    } catch (cause) {
      const trackingId = randomUUID();
      this.conn.log.error(
        { err: cause, rid: request.rid, kind: request.kind, trackingId },
        'dps handler failed',
      );
      reply = internalErrorReply(trackingId);
    } finally {
      this.inflight--;
      if (this.inflight === this.maxInflight - 1) this.conn.resumeInput();
    }
    this.conn.together(() => {
      puback?.send();
      this.reply(request, reply);
    });
  }

  private reply(request: DpsRequestTopic, reply: DpsReply): void {
    let encoded: EncodedDpsReply;
    let status = reply.status;
    try {
      encoded = encodeDpsReply(request.rid, reply);
    } catch (cause) {
      const trackingId = randomUUID();
      this.conn.log.error(
        { err: cause, rid: request.rid, status, trackingId },
        'dps reply cannot be encoded; answering 500',
      );
      const fallback = internalErrorReply(trackingId);
      status = fallback.status;
      encoded = encodeDpsReply(request.rid, fallback);
    }
    this.conn.debug({ rid: request.rid, kind: request.kind, status }, 'dps reply');
    this.conn.publish(encoded.topic, encoded.payload, 0).catch(() => {
      this.conn.debug({ rid: request.rid }, 'dps reply dropped: connection closed');
    });
  }
}
