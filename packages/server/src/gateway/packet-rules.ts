/**
 * The MQTT 3.1.1 rules a packet must follow that mqtt-packet does not check (HARDENING.md §1,
 * §8 F3: the parser alone lets 114 of mosquitto's 233 "must disconnect" cases through). The
 * parser already refuses reserved fixed-header flags, QoS 3 in PUBLISH and SUBSCRIBE, reserved
 * CONNECT flag bit 0 and reserved packet types; what it lets through is checked here, and a
 * violation closes the connection without an answer to the offending packet.
 *
 * Strings: mqtt-packet decodes UTF-8 leniently, replacing each ill-formed sequence (an invalid
 * byte, an encoded surrogate, an overlong form) with U+FFFD, so the raw bytes are gone. A
 * U+FFFD in a client identifier, user name, topic name or filter is therefore taken as
 * ill-formed input [MQTT-1.5.3-1]; a device that sends a literal U+FFFD is refused too (no
 * device SDK does, and IoT Hub topics carry properties URL-encoded).
 */
import type { IConnectPacket, Packet } from 'mqtt-packet';

/** Why a string field is not an MQTT UTF-8 encoded string, or undefined when it is one. */
function badString(value: string, field: string): string | undefined {
  // [MQTT-1.5.3-2] U+0000 must not appear.
  if (value.includes('\u0000')) return `${field} contains U+0000 [MQTT-1.5.3-2]`;
  // [MQTT-1.5.3-1] ill-formed UTF-8 (decoded as U+FFFD), surrogates included.
  if (value.includes('\uFFFD')) return `${field} is not well-formed UTF-8 [MQTT-1.5.3-1]`;
  return undefined;
}

/** The first of U+0001–U+001F and U+007F–U+009F in `value` (MQTT 3.1.1 §1.5.3), or -1. */
function controlCharacter(value: string): number {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c >= 0x01 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f)) return c;
  }
  return -1;
}

/**
 * A topic name or filter: as `badString`, and without control characters (§1.5.3 lets a
 * receiver close the connection for them; mosquitto does, no device SDK sends them, and IoT
 * Hub property bags in topics are URL-encoded).
 */
function badTopicString(value: string, field: string): string | undefined {
  const bad = badString(value, field);
  if (bad) return bad;
  const control = controlCharacter(value);
  if (control >= 0)
    return `${field} contains the control character U+${control.toString(16).toUpperCase().padStart(4, '0')} [MQTT 3.1.1 §1.5.3]`;
  return undefined;
}

/** [MQTT-4.7.1-2], [MQTT-4.7.1-3]: `#` only last and alone in its level, `+` alone in its level. */
function badFilter(filter: string): string | undefined {
  if (filter.length === 0) return 'an empty topic filter [MQTT-4.7.3-1]';
  const levels = filter.split('/');
  for (const [i, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1))
      return `topic filter '${filter}' misuses '#' [MQTT-4.7.1-2]`;
    if (level.includes('+') && level !== '+') return `topic filter '${filter}' misuses '+' [MQTT-4.7.1-3]`;
  }
  return badTopicString(filter, 'a topic filter');
}

function badTopicName(topic: string, field: string): string | undefined {
  if (topic.length === 0) return `${field} is empty [MQTT-4.7.3-1]`;
  // [MQTT-3.3.2-2] the topic name in a PUBLISH must not contain wildcard characters.
  if (topic.includes('+') || topic.includes('#'))
    return `${field} '${topic}' contains a wildcard [MQTT-3.3.2-2]`;
  return badTopicString(topic, field);
}

function connectViolation(packet: IConnectPacket): string | undefined {
  const client = badString(packet.clientId, 'the client identifier');
  if (client) return client;
  if (packet.username !== undefined) {
    const user = badString(packet.username, 'the user name');
    if (user) return user;
  } else if (packet.password !== undefined) {
    // [MQTT-3.1.2-22] a password needs a user name.
    return 'a password without a user name [MQTT-3.1.2-22]';
  }
  const will = packet.will;
  if (will) {
    // [MQTT-3.1.2-14] will QoS 3 is not allowed.
    if ((will.qos as number) > 2) return 'will QoS 3 [MQTT-3.1.2-14]';
    return badTopicName(will.topic, 'the will topic');
  }
  return undefined;
}

/**
 * The first rule `packet` breaks, as a sentence citing the normative statement, or undefined
 * when it breaks none.
 *
 * @example
 * packetViolation({ cmd: 'subscribe', messageId: 1, subscriptions: [] } as Packet);
 * // 'SUBSCRIBE without a topic filter [MQTT-3.8.3-3]'
 */
export function packetViolation(packet: Packet): string | undefined {
  switch (packet.cmd) {
    case 'connect':
      return connectViolation(packet);
    case 'publish':
      // [MQTT-3.3.1-2] DUP must be 0 for QoS 0.
      if (packet.qos === 0 && packet.dup) return 'DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2]';
      // [MQTT-2.3.1-1] a QoS > 0 packet carries a non-zero packet identifier.
      if (packet.qos > 0 && !packet.messageId) return 'QoS 1 PUBLISH with packet identifier 0 [MQTT-2.3.1-1]';
      return badTopicName(packet.topic, 'the topic name');
    case 'subscribe': {
      if (!packet.messageId) return 'SUBSCRIBE with packet identifier 0 [MQTT-2.3.1-1]';
      if (packet.subscriptions.length === 0) return 'SUBSCRIBE without a topic filter [MQTT-3.8.3-3]';
      for (const s of packet.subscriptions) {
        const bad = badFilter(s.topic);
        if (bad) return bad;
      }
      return undefined;
    }
    case 'unsubscribe': {
      if (!packet.messageId) return 'UNSUBSCRIBE with packet identifier 0 [MQTT-2.3.1-1]';
      if (packet.unsubscriptions.length === 0) return 'UNSUBSCRIBE without a topic filter [MQTT-3.10.3-2]';
      for (const filter of packet.unsubscriptions) {
        const bad = badFilter(filter);
        if (bad) return bad;
      }
      return undefined;
    }
    case 'puback':
      // §3.4.1: the remaining length of a PUBACK is 2 (its packet identifier), which is not 0.
      if (packet.length !== undefined && packet.length !== 2)
        return `PUBACK with a remaining length of ${packet.length}, not 2 [MQTT 3.1.1 §3.4.1]`;
      if (!packet.messageId) return 'PUBACK with packet identifier 0 [MQTT-2.3.1-1]';
      return undefined;
    case 'pingreq':
    case 'disconnect':
      // §3.12.1, §3.14.1: no variable header and no payload, so a remaining length of 0.
      if (packet.length !== undefined && packet.length !== 0)
        return `${packet.cmd.toUpperCase()} with a remaining length of ${packet.length}, not 0 [MQTT 3.1.1 §${packet.cmd === 'pingreq' ? '3.12.1' : '3.14.1'}]`;
      return undefined;
    default:
      return undefined;
  }
}
