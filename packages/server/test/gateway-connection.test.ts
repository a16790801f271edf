/**
 * Connection-level rules of the MQTT gateway, in memory over a duplex pair: CONNECT first and
 * once, protocol level, timeouts, keep-alive, PINGREQ/DISCONNECT, packet size, malformed
 * input, outgoing QoS 1 and the connection metrics.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';

import { generate, type IConnackPacket, type IConnectPacket, type IPublishPacket } from 'mqtt-packet';

import { handleMqttStream, type GatewayOptions } from '../src/gateway/index.js';
import { PacketSizeGuard } from '../src/gateway/packet-size-guard.js';
import { Metrics } from '../src/metrics.js';
import { captureLogger, duplexPair, FakeDpsHandler, PacketClient } from './helpers/gateway-harness.js';

const SCOPE = '0ne0001';
const REG = 'dev-1';

function dpsConnect(overrides: Partial<IConnectPacket> = {}): IConnectPacket {
  return {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clientId: REG,
    clean: true,
    keepalive: 180,
    username: `${SCOPE}/registrations/${REG}/api-version=2019-03-31&ClientVersion=azure-iot-provisioning-device%2F1.9.1`,
    ...overrides,
  };
}

function open(options: Partial<GatewayOptions> = {}) {
  const [serverEnd, clientEnd] = duplexPair();
  const handler = new FakeDpsHandler();
  const log = captureLogger();
  const metrics = new Metrics();
  const conn = handleMqttStream(
    serverEnd,
    { peerCertificates: [], remoteAddress: '10.0.0.7', transport: 'mqtt' },
    { dps: handler, logger: log.logger, metrics, ...options },
  );
  const client = new PacketClient(clientEnd);
  return { conn, client, handler, log, metrics };
}

async function connected(options: Partial<GatewayOptions> = {}, connect: Partial<IConnectPacket> = {}) {
  const t = open(options);
  t.client.send(dpsConnect(connect));
  const connack = (await t.client.next()) as IConnackPacket;
  assert.equal(connack.cmd, 'connack');
  assert.equal(connack.returnCode, 0);
  return t;
}

function closeLine(log: ReturnType<typeof captureLogger>) {
  return log.lines.find((l) => l['msg'] === 'mqtt connection closed');
}

describe('gateway: MQTT connection', () => {
  it('accepts a DPS CONNECT with CONNACK 0 and no session present', async () => {
    const { client, conn } = await connected();
    assert.equal(conn.clientId, REG);
    assert.equal(client.isClosed, false);
  });

  it('[MQTT-3.1.2-2] refuses an MQTT 5 CONNECT with CONNACK 1 and closes', async () => {
    const { client, conn, handler } = open();
    client.send(dpsConnect({ protocolVersion: 5 }), 5);
    const connack = (await client.next()) as IConnackPacket;
    assert.equal(connack.cmd, 'connack');
    assert.equal(connack.returnCode, 1);
    await client.expectClosed();
    assert.equal(await conn.closed, 'connect-refused');
    assert.equal(handler.calls.length, 0);
  });

  it('[MQTT-3.1.2-2] refuses an unknown protocol level (6) with CONNACK 1', async () => {
    const { client } = open();
    const bytes = generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: 'x',
      clean: true,
      keepalive: 0,
    });
    assert.equal(bytes[8], 4); // fixed header (2) + protocol name (6) → level
    bytes[8] = 6;
    client.sendRaw(bytes);
    const connack = (await client.next()) as IConnackPacket;
    assert.equal(connack.returnCode, 1);
    await client.expectClosed();
  });

  it('refuses MQTT 3.1 (MQIsdp, level 3) with CONNACK 1', async () => {
    const { client } = open();
    client.send(dpsConnect({ protocolId: 'MQIsdp', protocolVersion: 3 }));
    assert.equal(((await client.next()) as IConnackPacket).returnCode, 1);
    await client.expectClosed();
  });

  it('[MQTT-3.1.0-1] closes when the first packet is not CONNECT', async () => {
    const { client, conn, log } = open();
    client.send({ cmd: 'pingreq' });
    await client.expectClosed();
    assert.equal(await conn.closed, 'protocol-violation');
    assert.match(String(closeLine(log)?.['detail']), /first packet was pingreq/);
  });

  it('[MQTT-3.1.0-2] closes on a second CONNECT', async () => {
    const { client, conn } = await connected();
    client.send(dpsConnect());
    await client.expectClosed();
    assert.equal(await conn.closed, 'protocol-violation');
  });

  it('[MQTT-3.1.0-1] closes when no CONNECT arrives before the connect timeout', async () => {
    const { client, conn, log } = open({ connectTimeoutMs: 50 });
    await client.expectClosed(1000);
    assert.equal(await conn.closed, 'connect-timeout');
    assert.equal(closeLine(log)?.['level'], 30); // info
  });

  it('[MQTT-3.12.4-1] answers PINGREQ with PINGRESP', async () => {
    const { client } = await connected();
    client.send({ cmd: 'pingreq' });
    assert.equal((await client.next()).cmd, 'pingresp');
  });

  it('[MQTT-3.14.4-1] closes on DISCONNECT', async () => {
    const { client, conn, log } = await connected();
    client.send({ cmd: 'disconnect' });
    await client.expectClosed();
    assert.equal(await conn.closed, 'client-disconnect');
    assert.equal(closeLine(log)?.['level'], 20); // debug
    assert.equal(closeLine(log)?.['clientId'], REG);
    assert.equal(closeLine(log)?.['remoteAddress'], '10.0.0.7');
  });

  it('[MQTT-3.1.2-24] closes after 1.5 × keep-alive without packets; PINGREQ keeps it open', async () => {
    const { client, conn } = await connected({}, { keepalive: 1 });
    const started = Date.now();
    for (let i = 0; i < 3; i++) {
      client.send({ cmd: 'pingreq' });
      assert.equal((await client.next()).cmd, 'pingresp');
      await sleep(700);
    }
    assert.equal(client.isClosed, false, 'still open after 2.1 s thanks to the pings');
    const quiet = Date.now();
    await client.expectClosed(2500);
    assert.ok(Date.now() - quiet >= 700, 'not closed before the grace period');
    assert.ok(Date.now() - started >= 1500);
    assert.equal(await conn.closed, 'keepalive-timeout');
  });

  it('closes a packet over 256 KiB + 1 KiB and logs it at warn', async () => {
    const { client, conn, log, handler } = await connected();
    client.send({
      cmd: 'publish',
      topic: '$dps/registrations/PUT/iotdps-register/?$rid=1',
      payload: Buffer.alloc(300 * 1024, 0x20),
      qos: 1,
      messageId: 1,
      dup: false,
      retain: false,
    });
    await client.expectClosed();
    assert.equal(await conn.closed, 'packet-too-large');
    assert.equal(closeLine(log)?.['level'], 40);
    assert.equal(handler.calls.length, 0);
  });

  it('closes as soon as an oversized header arrives, without waiting for the body', async () => {
    const { client, conn } = await connected({ maxPacketBytes: 1024 });
    client.sendRaw(Buffer.from([0x30, 0x80, 0x10])); // PUBLISH, Remaining Length 2048
    await client.expectClosed();
    assert.equal(await conn.closed, 'packet-too-large');
  });

  it('accepts a packet of exactly 256 KiB of payload', async () => {
    const { client, handler } = await connected();
    const payload = Buffer.alloc(256 * 1024, 0x20);
    client.send({
      cmd: 'publish',
      topic: '$dps/registrations/PUT/iotdps-register/?$rid=big',
      payload,
      qos: 0,
      dup: false,
      retain: false,
    });
    const reply = (await client.next()) as IPublishPacket;
    assert.equal(reply.cmd, 'publish');
    assert.equal(handler.calls.length, 1);
  });

  it('[MQTT-4.8.0-1] closes on malformed packet bytes', async () => {
    const { client, conn, log } = await connected();
    client.sendRaw(Buffer.from([0x00, 0x00])); // packet type 0 is reserved
    await client.expectClosed();
    assert.equal(await conn.closed, 'malformed-packet');
    assert.equal(closeLine(log)?.['level'], 40);
  });

  it('closes on non-MQTT bytes before CONNECT (an HTTP request)', async () => {
    const { client, conn } = open();
    client.sendRaw(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await client.expectClosed();
    assert.equal(await conn.closed, 'malformed-packet');
  });

  it('closes on a Remaining Length of more than four bytes', async () => {
    const { client, conn } = await connected();
    client.sendRaw(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
    await client.expectClosed();
    assert.equal(await conn.closed, 'malformed-packet');
  });

  it('closes on a QoS 2 flow packet (PUBREL) it never started', async () => {
    const { client, conn } = await connected();
    client.send({ cmd: 'pubrel', messageId: 7 });
    await client.expectClosed();
    assert.equal(await conn.closed, 'protocol-violation');
  });

  it('publishes QoS 1 with distinct packet ids and resolves on PUBACK', async () => {
    const { client, conn } = await connected();
    const first = conn.publish('t/1', 'a', 1);
    const second = conn.publish('t/2', Buffer.from('b'), 1);
    const p1 = (await client.next()) as IPublishPacket;
    const p2 = (await client.next()) as IPublishPacket;
    assert.equal(p1.qos, 1);
    assert.equal(p2.topic, 't/2');
    assert.notEqual(p1.messageId, p2.messageId);
    assert.equal(conn.outstandingCount, 2);
    let secondDone = false;
    void second.then(() => (secondDone = true));
    client.send({ cmd: 'puback', messageId: p1.messageId! });
    await first;
    assert.equal(secondDone, false);
    assert.equal(conn.outstandingCount, 1);
    client.send({ cmd: 'puback', messageId: p2.messageId! });
    await second;
    assert.equal(conn.outstandingCount, 0);
  });

  it('publishes QoS 0 without a packet id', async () => {
    const { client, conn } = await connected();
    await conn.publish('t/0', 'x');
    const p = (await client.next()) as IPublishPacket;
    assert.equal(p.qos, 0);
    assert.equal(p.messageId, undefined);
  });

  it('rejects outstanding QoS 1 publishes when the connection closes', async () => {
    const { client, conn } = await connected();
    const pending = conn.publish('t/1', 'a', 1);
    await client.next();
    client.send({ cmd: 'disconnect' });
    await assert.rejects(pending, { code: 'ERR_MQTT_CONNECTION_CLOSED' });
    await assert.rejects(conn.publish('t/2', 'b'), { code: 'ERR_MQTT_CONNECTION_CLOSED' });
  });

  it('ignores a PUBACK for an unknown packet id', async () => {
    const { client } = await connected();
    client.send({ cmd: 'puback', messageId: 999 });
    client.send({ cmd: 'pingreq' });
    assert.equal((await client.next()).cmd, 'pingresp');
  });

  it('counts connections by kind, packets and refusals', async () => {
    const { client, metrics, conn } = await connected();
    assert.match(metrics.render(), /gatehouse_mqtt_connections\{kind="dps"\} 1/);
    assert.match(metrics.render(), /gatehouse_mqtt_connections\{kind="pending"\} 0/);
    assert.match(metrics.render(), /gatehouse_mqtt_packets_received_total\{type="connect"\} 1/);
    assert.match(metrics.render(), /gatehouse_mqtt_packets_sent_total\{type="connack"\} 1/);
    client.send({ cmd: 'pingreq' });
    client.sendRaw(Buffer.from([0x00, 0x00]));
    await conn.closed;
    assert.match(metrics.render(), /gatehouse_mqtt_connections\{kind="dps"\} 0/);
    assert.match(metrics.render(), /gatehouse_mqtt_refusals_total\{reason="malformed-packet"\} 1/);
  });
});

describe('gateway: packet size guard', () => {
  it('follows fixed headers across chunk boundaries', () => {
    const guard = new PacketSizeGuard(10);
    // PINGREQ, then a PUBLISH of 8 bytes body split over three chunks, then a PINGREQ.
    assert.equal(guard.check(Buffer.from([0xc0, 0x00, 0x30])), undefined);
    assert.equal(guard.check(Buffer.from([0x08, 1, 2, 3])), undefined);
    assert.equal(guard.check(Buffer.from([4, 5, 6, 7, 8, 0xc0, 0x00])), undefined);
    // Then a PUBLISH whose 2-byte Remaining Length arrives split: 0x80 0x01 = 128.
    assert.equal(guard.check(Buffer.from([0x30, 0x80])), undefined);
    assert.equal(guard.check(Buffer.from([0x01])), 1 + 2 + 128);
  });

  it('counts the fixed header in the limit', () => {
    assert.equal(new PacketSizeGuard(10).check(Buffer.from([0x30, 0x08])), undefined);
    assert.equal(new PacketSizeGuard(10).check(Buffer.from([0x30, 0x09])), 11);
  });

  it('reports a Remaining Length longer than four bytes as malformed', () => {
    assert.equal(
      new PacketSizeGuard(Infinity).check(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff])),
      'malformed',
    );
  });
});
