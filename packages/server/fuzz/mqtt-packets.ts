/**
 * Valid MQTT 3.1.1 conversations with the gateway, as seeds for the MQTT fuzzers: a CONNECT
 * (DPS or hub username, a valid or a wrong SAS password, random client IDs) followed by the
 * packets a device sends (DPS register and status requests, telemetry with property bags,
 * twin and method topics, subscriptions), and now and then packets a client must never send.
 * The generator knows the server's ID scope, host name and one provisioned SAS device, so the
 * seeds reach past authentication into the DPS and hub sessions.
 */
import fc from 'fast-check';
import { generate, type Packet } from 'mqtt-packet';

import { concat } from './mutate.js';

export interface MqttFuzzContext {
  idScope: string;
  hostName: string;
  /** A device of the SAS group that exists and may connect. */
  deviceId: string;
  /** Valid passwords: the device's hub SAS token and its DPS registration SAS token. */
  hubSas: string;
  dpsSas: string;
}

const rid = fc.oneof(fc.nat({ max: 1000 }).map(String), fc.string({ maxLength: 12 }));
const text = fc.string({ maxLength: 40 });
const unicode = fc.string({ unit: 'binary', maxLength: 24 });
const json = fc.oneof(
  fc.constant('{"registrationId":"d1"}'),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  text,
);

type Mode = 'dps' | 'hub' | 'any';

function dpsTopics(): fc.Arbitrary<string> {
  return fc.oneof(
    rid.map((r) => `$dps/registrations/PUT/iotdps-register/?$rid=${r}`),
    fc
      .tuple(rid, text)
      .map(([r, op]) => `$dps/registrations/GET/iotdps-get-operationstatus/?$rid=${r}&operationId=${op}`),
  );
}

function topics(c: MqttFuzzContext, mode: Mode): fc.Arbitrary<string> {
  const d = c.deviceId;
  if (mode === 'dps') return dpsTopics();
  const hub = fc.oneof(
    fc.constant(`devices/${d}/messages/events/`),
    fc
      .tuple(text, text)
      .map(
        ([k, v]) =>
          `devices/${d}/messages/events/${encodeURIComponent(k)}=${encodeURIComponent(v)}&$.ct=application%2Fjson`,
      ),
    text.map((bag) => `devices/${d}/messages/events/${bag}`),
    rid.map((r) => `$iothub/twin/GET/?$rid=${r}`),
    rid.map((r) => `$iothub/twin/PATCH/properties/reported/?$rid=${r}`),
    fc.tuple(fc.integer({ min: 100, max: 599 }), rid).map(([s, r]) => `$iothub/methods/res/${s}/?$rid=${r}`),
  );
  if (mode === 'hub') return hub;
  return fc.oneof(
    hub,
    dpsTopics(),
    fc.constant(`devices/other/messages/events/`),
    fc.constantFrom('#', '+', 'a/#', '$SYS/x', '', '/', 'devices/+/messages/events/'),
    unicode,
  );
}

function filters(c: MqttFuzzContext, mode: Mode): fc.Arbitrary<string> {
  if (mode === 'dps') return fc.constant('$dps/registrations/res/#');
  if (mode === 'hub')
    return fc.constantFrom(
      `devices/${c.deviceId}/messages/devicebound/#`,
      '$iothub/twin/res/#',
      '$iothub/twin/PATCH/properties/desired/#',
      '$iothub/methods/POST/#',
    );
  return fc.oneof(
    fc.constantFrom(
      '$dps/registrations/res/#',
      `devices/${c.deviceId}/messages/devicebound/#`,
      '$iothub/twin/res/#',
      '$iothub/twin/PATCH/properties/desired/#',
      '$iothub/methods/POST/#',
      '#',
      '+/+',
      'a/#/b',
      '',
    ),
    unicode,
  );
}

function connect(c: MqttFuzzContext, mode: Mode): fc.Arbitrary<Packet> {
  const dps = fc.record({
    username: fc.constant(`${c.idScope}/registrations/${c.deviceId}/api-version=2019-03-31`),
    password: fc.oneof({ weight: 4, arbitrary: fc.constant(c.dpsSas) }, { weight: 1, arbitrary: text }),
    clientId: fc.constant(c.deviceId),
  });
  const hub = fc.record({
    username: fc.oneof(
      fc.constant(`${c.hostName}/${c.deviceId}/?api-version=2021-04-12`),
      fc.constant(`${c.hostName}/${c.deviceId}/api-version=2019-03-30&DeviceClientType=iothubclient`),
    ),
    password: fc.oneof({ weight: 4, arbitrary: fc.constant(c.hubSas) }, { weight: 1, arbitrary: text }),
    clientId: fc.constant(c.deviceId),
  });
  const random = fc.record({ username: text, password: text, clientId: text });
  return fc
    .tuple(
      mode === 'dps' ? dps : mode === 'hub' ? hub : fc.oneof(dps, hub, random),
      mode === 'any' ? fc.constantFrom(4, 4, 3, 5) : fc.constant(4),
      fc.nat({ max: 600 }),
      fc.boolean(),
      fc.option(
        fc.record({
          topic: text,
          payload: text,
          qos: fc.constantFrom(0, 1) as fc.Arbitrary<0 | 1>,
          retain: fc.boolean(),
        }),
      ),
    )
    .map(([who, protocolVersion, keepalive, clean, will]) => ({
      cmd: 'connect',
      protocolId: protocolVersion === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: protocolVersion as 3 | 4 | 5,
      clientId: who.clientId,
      username: who.username,
      password: Buffer.from(who.password),
      keepalive,
      clean,
      ...(will ? { will: { ...will, payload: Buffer.from(will.payload) } } : {}),
    })) as fc.Arbitrary<Packet>;
}

/** Packets a client in `mode` sends; with 'any', also ones it must never send. */
function after(c: MqttFuzzContext, mode: Mode): fc.Arbitrary<Packet> {
  const id = fc.integer({ min: 1, max: 65535 });
  const legal = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.tuple(topics(c, mode), json, fc.constantFrom(0, 1, 1, 2), id, fc.boolean()).map(
        ([topic, payload, qos, messageId, retain]) =>
          ({
            cmd: 'publish',
            topic,
            payload: Buffer.from(payload),
            qos,
            messageId,
            retain,
            dup: false,
          }) as Packet,
      ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.array(fc.tuple(filters(c, mode), fc.constantFrom(0, 1, 2)), { minLength: 1, maxLength: 4 }),
          id,
        )
        .map(
          ([subs, messageId]) =>
            ({
              cmd: 'subscribe',
              messageId,
              subscriptions: subs.map(([topic, qos]) => ({ topic, qos })),
            }) as Packet,
        ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.array(filters(c, mode), { minLength: 1, maxLength: 3 }), id)
        .map(
          ([unsubscriptions, messageId]) => ({ cmd: 'unsubscribe', messageId, unsubscriptions }) as Packet,
        ),
    },
    { weight: 1, arbitrary: id.map((messageId) => ({ cmd: 'puback', messageId }) as Packet) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Packet>({ cmd: 'pingreq' }, { cmd: 'pingreq' }, { cmd: 'disconnect' }),
    },
  );
  if (mode !== 'any') return legal;
  return fc.oneof(
    { weight: 8, arbitrary: legal },
    { weight: 1, arbitrary: fc.constant<Packet>({ cmd: 'pingresp' }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom('pubrec', 'pubrel', 'pubcomp', 'unsuback'), id)
        .map(([cmd, messageId]) => ({ cmd, messageId }) as Packet),
    },
    { weight: 1, arbitrary: fc.constant<Packet>({ cmd: 'connack', returnCode: 0, sessionPresent: false }) },
    { weight: 1, arbitrary: id.map((messageId) => ({ cmd: 'suback', messageId, granted: [0] }) as Packet) },
  );
}

/** The packet encoded, or an empty array for an object mqtt-packet refuses to encode. */
function encode(packet: Packet): Uint8Array {
  try {
    return generate(packet, { protocolVersion: 4 });
  } catch {
    return new Uint8Array(0);
  }
}

/**
 * A conversation: a device of one kind (DPS or hub: CONNECT, then what such a device sends) or,
 * one time in four, anything (no CONNECT, a second CONNECT, packets a client must not send).
 */
export function conversation(c: MqttFuzzContext): fc.Arbitrary<Uint8Array> {
  return fc
    .constantFrom<Mode>('dps', 'hub', 'hub', 'any')
    .chain((mode) =>
      fc
        .tuple(
          mode === 'any'
            ? fc.oneof(
                { weight: 9, arbitrary: connect(c, mode).map((p) => [p]) },
                { weight: 1, arbitrary: fc.constant([]) },
              )
            : connect(c, mode).map((p) => [p]),
          fc.array(
            mode === 'any'
              ? fc.oneof(
                  { weight: 12, arbitrary: after(c, mode) },
                  { weight: 1, arbitrary: connect(c, mode) },
                )
              : after(c, mode),
            { maxLength: 8 },
          ),
        )
        .map(([first, rest]) => concat([...first, ...rest].map(encode))),
    );
}
