/**
 * The dispatcher and the DPS session (PROTOCOL.md §1), in memory over a duplex pair with a
 * fake DpsHandler: username classification, CONNACK codes, SUBACK grants, request topics,
 * reply topics and bodies, and the failures that close the connection.
 */
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, it } from 'node:test';

import type {
  IConnackPacket,
  IConnectPacket,
  IPublishPacket,
  ISubackPacket,
  IUnsubackPacket,
  Packet,
} from 'mqtt-packet';

import {
  CONNACK,
  handleMqttStream,
  type GatewayOptions,
  type HubConnectIdentity,
  type MqttSession,
} from '../src/gateway/index.js';
import type { DpsReply } from '../src/provisioning/dps-handler.js';
import { captureLogger, duplexPair, FakeDpsHandler, PacketClient } from './helpers/gateway-harness.js';

const SCOPE = '0ne0001';
const REG = 'dev-1';
const USERNAME = `${SCOPE}/registrations/${REG}/api-version=2019-03-31&ClientVersion=azure-iot-provisioning-device%2F1.9.1`;
const REGISTER = (rid: string) => `$dps/registrations/PUT/iotdps-register/?$rid=${rid}`;
const STATUS = (rid: string, op: string) =>
  `$dps/registrations/GET/iotdps-get-operationstatus/?$rid=${rid}&operationId=${op}`;

function connectPacket(overrides: Partial<IConnectPacket> = {}): IConnectPacket {
  return {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clientId: REG,
    clean: true,
    keepalive: 180,
    username: USERNAME,
    ...overrides,
  };
}

function publish(topic: string, payload: string, qos: 0 | 1 | 2 = 1, messageId = 1): IPublishPacket {
  return { cmd: 'publish', topic, payload: Buffer.from(payload), qos, messageId, dup: false, retain: false };
}

function open(options: Partial<GatewayOptions> = {}) {
  const [serverEnd, clientEnd] = duplexPair();
  const handler = new FakeDpsHandler();
  const log = captureLogger();
  const conn = handleMqttStream(
    serverEnd,
    { peerCertificates: [], remoteAddress: '192.0.2.1', transport: 'mqtt' },
    { dps: handler, logger: log.logger, ...options },
  );
  return { conn, client: new PacketClient(clientEnd), handler, log };
}

async function connack(client: PacketClient): Promise<number | undefined> {
  const p = (await client.next()) as IConnackPacket;
  assert.equal(p.cmd, 'connack');
  return p.returnCode;
}

async function dps(options: Partial<GatewayOptions> = {}, connect: Partial<IConnectPacket> = {}) {
  const t = open(options);
  t.client.send(connectPacket(connect));
  assert.equal(await connack(t.client), 0);
  return t;
}

function json(p: Packet): unknown {
  assert.equal(p.cmd, 'publish');
  return JSON.parse((p as IPublishPacket).payload.toString());
}

describe('gateway: dispatcher', () => {
  it('accepts a DPS username without credentials (CONNACK 0; 401 comes per request, §1.2)', async () => {
    const { client } = open();
    client.send(connectPacket());
    assert.equal(await connack(client), CONNACK.ACCEPTED);
  });

  it('accepts the documented short DPS username (…/api-version=2019-03-31)', async () => {
    const { client } = open();
    client.send(connectPacket({ username: `${SCOPE}/registrations/${REG}/api-version=2019-03-31` }));
    assert.equal(await connack(client), 0);
  });

  it('refuses an unknown username shape with CONNACK 4', async () => {
    const { client, conn } = open();
    client.send(connectPacket({ username: 'admin' }));
    assert.equal(await connack(client), CONNACK.BAD_USERNAME_OR_PASSWORD);
    await client.expectClosed();
    assert.equal(await conn.closed, 'connect-refused');
  });

  it('refuses a CONNECT without username with CONNACK 4', async () => {
    const { client } = open();
    client.send(connectPacket({ username: undefined }));
    assert.equal(await connack(client), 4);
    await client.expectClosed();
  });

  it('refuses a hub username with CONNACK 5 while no hub is wired, and says why', async () => {
    const { client, log } = open();
    client.send(connectPacket({ clientId: 'dev-1', username: 'localhost/dev-1/?api-version=2021-04-12' }));
    assert.equal(await connack(client), CONNACK.NOT_AUTHORIZED);
    await client.expectClosed();
    assert.ok(log.messages().includes('hub connections are not available yet'));
  });

  it('refuses a DPS client id that is not the registration ID with CONNACK 2 (§1.2)', async () => {
    const { client, handler } = open();
    client.send(connectPacket({ clientId: 'someone-else' }));
    assert.equal(await connack(client), CONNACK.IDENTIFIER_REJECTED);
    await client.expectClosed();
    assert.equal(handler.calls.length, 0);
  });

  it('hands a hub CONNECT to the hub hook, holding later packets until it accepts [MQTT-3.1.4-5]', async () => {
    const received: Packet[] = [];
    let identity: HubConnectIdentity | undefined;
    const session: MqttSession = {
      onPublish: (p) => void received.push(p),
      onSubscribe: (p) => void received.push(p),
      onUnsubscribe: (p) => void received.push(p),
    };
    const { client } = open({
      hub: async (conn, connect, id) => {
        identity = id;
        assert.equal(connect.clientId, 'dev-9');
        await new Promise((r) => setTimeout(r, 30));
        assert.equal(received.length, 0, 'nothing dispatched before accept');
        conn.accept(session, 'hub');
      },
    });
    client.send(
      connectPacket({
        clientId: 'dev-9',
        clean: false,
        username: 'gatehouse.local/dev-9/?api-version=2021-04-12&DeviceClientType=x',
        password: Buffer.from('SharedAccessSignature sr=a&sig=b&se=1'),
      }),
    );
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$iothub/twin/res/#', qos: 0 }] });
    client.send(publish('devices/dev-9/messages/events/', 'hello', 1, 2));
    assert.equal(await connack(client), 0);
    await tick();
    assert.deepEqual(
      received.map((p) => p.cmd),
      ['subscribe', 'publish'],
    );
    assert.equal(identity?.username.deviceId, 'dev-9');
    assert.equal(identity?.username.hostName, 'gatehouse.local');
    assert.equal(identity?.password, 'SharedAccessSignature sr=a&sig=b&se=1');
    assert.deepEqual(identity?.peerCertificates, []);
    assert.equal(identity?.remoteAddress, '192.0.2.1');
  });

  it('answers CONNACK 3 when the hub hook fails', async () => {
    const { client } = open({
      hub: async () => {
        throw new Error('store down');
      },
    });
    client.send(connectPacket({ clientId: 'dev-9', username: 'h/dev-9/?api-version=2021-04-12' }));
    assert.equal(await connack(client), CONNACK.SERVER_UNAVAILABLE);
    await client.expectClosed();
  });
});

describe('gateway: DPS session', () => {
  it('grants QoS min(requested, 1) for $dps/registrations/res/# and 0x80 for anything else (§1.3)', async () => {
    const { client } = await dps();
    client.send({
      cmd: 'subscribe',
      messageId: 5,
      subscriptions: [
        { topic: '$dps/registrations/res/#', qos: 2 },
        { topic: 'devices/dev-1/messages/devicebound/#', qos: 1 },
        { topic: '#', qos: 0 },
      ],
    });
    const suback = (await client.next()) as ISubackPacket;
    assert.equal(suback.cmd, 'suback');
    assert.equal(suback.messageId, 5);
    assert.deepEqual(suback.granted, [1, 0x80, 0x80]);
    client.send({
      cmd: 'subscribe',
      messageId: 6,
      subscriptions: [{ topic: '$dps/registrations/res/#', qos: 0 }],
    });
    assert.deepEqual(((await client.next()) as ISubackPacket).granted, [0]);
  });

  it('register: PUBACK, then the handler, then the reply on the exact response topic (§1.4–§1.6)', async () => {
    const { client, handler } = await dps(
      {},
      { password: Buffer.from('SharedAccessSignature sr=x&sig=y&skn=registration&se=2') },
    );
    client.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: '$dps/registrations/res/#', qos: 1 }],
    });
    await client.next();
    const rid = '6f1c0f56-3f0e-4b53-9a57-2d1b3e0f7a10';
    const body = '{"registrationId":"dev-1","payload":{"modelId":"dtmi:x;1"}}';
    client.send(publish(REGISTER(rid), body, 1, 42));
    const puback = await client.next();
    assert.deepEqual([puback.cmd, puback.messageId], ['puback', 42]);
    const reply = (await client.next()) as IPublishPacket;
    assert.equal(reply.topic, `$dps/registrations/res/202/?$rid=${rid}&retry-after=3`);
    assert.equal(reply.qos, 0);
    assert.deepEqual(json(reply), { operationId: '5.fake.1', status: 'assigning' });

    assert.equal(handler.calls.length, 1);
    const call = handler.calls[0]!;
    assert.equal(call.method, 'register');
    assert.equal(call.method === 'register' && call.payload.toString(), body);
    assert.deepEqual(call.ctx, {
      idScope: SCOPE,
      registrationId: REG,
      transport: 'mqtt',
      clientCertificates: [],
      sasToken: 'SharedAccessSignature sr=x&sig=y&skn=registration&se=2',
      remoteAddress: '192.0.2.1',
    });
  });

  it('operation status: the handler gets the operationId; 200 without retry-after', async () => {
    const { client, handler } = await dps();
    client.send(publish(STATUS('r2', '5.fake.1'), ' ', 1, 3));
    assert.equal((await client.next()).cmd, 'puback');
    const reply = (await client.next()) as IPublishPacket;
    assert.equal(reply.topic, '$dps/registrations/res/200/?$rid=r2');
    assert.deepEqual(json(reply), {
      operationId: '5.fake.1',
      status: 'assigned',
      registrationState: { registrationId: REG, assignedHub: 'localhost', deviceId: REG, status: 'assigned' },
    });
    const call = handler.calls[0]!;
    assert.equal(call.method === 'operationStatus' && call.operationId, '5.fake.1');
    assert.equal(call.ctx.sasToken, undefined);
  });

  it('a QoS 0 request gets no PUBACK but still a reply', async () => {
    const { client } = await dps();
    client.send(publish(REGISTER('q0'), '{"registrationId":"dev-1"}', 0));
    const reply = (await client.next()) as IPublishPacket;
    assert.equal(reply.cmd, 'publish');
    assert.match(reply.topic, /^\$dps\/registrations\/res\/202\/\?\$rid=q0&/);
  });

  it('passes error replies through with a JSON body (§1.9)', async () => {
    const { client, handler } = await dps();
    handler.registerReply = () => ({
      status: 401,
      body: { errorCode: 401002, trackingId: 't', message: 'Invalid certificate.', timestampUtc: 'now' },
    });
    client.send(publish(REGISTER('e1'), '{"registrationId":"dev-1"}'));
    await client.next();
    const reply = (await client.next()) as IPublishPacket;
    assert.equal(reply.topic, '$dps/registrations/res/401/?$rid=e1');
    assert.equal((json(reply) as { errorCode: number }).errorCode, 401002);
  });

  it('answers 500 with a JSON DPS error body and retry-after when the handler throws', async () => {
    const { client, handler, log } = await dps();
    handler.registerReply = () => {
      throw new Error('database is on fire');
    };
    client.send(publish(REGISTER('boom'), '{"registrationId":"dev-1"}'));
    await client.next();
    const reply = (await client.next()) as IPublishPacket;
    assert.equal(reply.topic, '$dps/registrations/res/500/?$rid=boom&retry-after=3');
    const body = json(reply) as Record<string, unknown>;
    assert.equal(body['errorCode'], 500000);
    assert.equal(typeof body['trackingId'], 'string');
    assert.equal(typeof body['message'], 'string');
    assert.ok(!String(body['message']).includes('fire'), 'the internal cause is not sent');
    assert.ok(!Number.isNaN(Date.parse(String(body['timestampUtc']))));
    const line = log.lines.find((l) => l['msg'] === 'dps handler failed');
    assert.equal(line?.['level'], 50);
    assert.equal(line?.['trackingId'], body['trackingId']);
  });

  it('answers 500 when the handler returns a reply that cannot go on the wire', async () => {
    const { client, handler } = await dps();
    handler.statusReply = () => ({ status: 42, body: {} });
    client.send(publish(STATUS('bad', 'op'), ' '));
    await client.next();
    const reply = (await client.next()) as IPublishPacket;
    assert.match(reply.topic, /^\$dps\/registrations\/res\/500\/\?\$rid=bad&retry-after=/);
    assert.equal((json(reply) as { errorCode: number }).errorCode, 500000);
  });

  it('handles requests concurrently and sends every reply to its own $rid', async () => {
    const { client, handler } = await dps();
    const release: Array<(r: DpsReply) => void> = [];
    handler.registerReply = () => new Promise<DpsReply>((resolve) => release.push(resolve));
    client.send(publish(REGISTER('a'), '{}', 1, 1));
    client.send(publish(REGISTER('b'), '{}', 1, 2));
    assert.equal((await client.next()).cmd, 'puback');
    assert.equal((await client.next()).cmd, 'puback');
    await tick();
    assert.equal(release.length, 2);
    release[1]!({ status: 429, body: { errorCode: 429001 }, retryAfterSeconds: 1.5 });
    release[0]!({ status: 202, body: { operationId: 'o', status: 'assigning' }, retryAfterSeconds: 2 });
    const first = (await client.next()) as IPublishPacket;
    const second = (await client.next()) as IPublishPacket;
    assert.equal(first.topic, '$dps/registrations/res/429/?$rid=b&retry-after=1.5');
    assert.equal(second.topic, '$dps/registrations/res/202/?$rid=a&retry-after=2');
  });

  it('stops reading when too many requests are in flight, and resumes', async () => {
    const { client, handler } = await dps({ maxInflightDpsRequests: 1 });
    const release: Array<(r: DpsReply) => void> = [];
    handler.registerReply = () => new Promise<DpsReply>((resolve) => release.push(resolve));
    client.send(publish(REGISTER('a'), '{}', 1, 1));
    assert.equal((await client.next()).cmd, 'puback');
    client.send(publish(REGISTER('b'), '{}', 1, 2));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(handler.calls.length, 1, 'second request waits');
    release[0]!({ status: 202, body: {} });
    assert.equal(((await client.next()) as IPublishPacket).topic, '$dps/registrations/res/202/?$rid=a');
    assert.equal((await client.next()).cmd, 'puback');
    assert.equal(handler.calls.length, 2);
  });

  it('closes on a QoS 2 publish without calling the handler', async () => {
    const { client, conn, handler } = await dps();
    client.send(publish(REGISTER('q2'), '{}', 2));
    await client.expectClosed();
    assert.equal(await conn.closed, 'forbidden');
    assert.equal(handler.calls.length, 0);
  });

  it('closes on a publish outside $dps/registrations/ requests', async () => {
    const { client, conn, handler, log } = await dps();
    client.send(publish('devices/dev-1/messages/events/', 'x'));
    await client.expectClosed();
    assert.equal(await conn.closed, 'forbidden');
    assert.equal(handler.calls.length, 0);
    const line = log.lines.find((l) => l['msg'] === 'mqtt connection closed');
    assert.match(String(line?.['detail']), /devices\/dev-1\/messages\/events/);
    assert.equal(line?.['level'], 40);
  });

  it('closes on a publish to the response topic or a request without $rid', async () => {
    for (const topic of ['$dps/registrations/res/200/?$rid=1', '$dps/registrations/PUT/iotdps-register/']) {
      const { client, conn } = await dps();
      client.send(publish(topic, '{}'));
      await client.expectClosed();
      assert.equal(await conn.closed, 'forbidden', topic);
    }
  });

  it('answers UNSUBSCRIBE with UNSUBACK', async () => {
    const { client } = await dps();
    client.send({ cmd: 'unsubscribe', messageId: 9, unsubscriptions: ['$dps/registrations/res/#'] });
    const unsuback = (await client.next()) as IUnsubackPacket;
    assert.deepEqual([unsuback.cmd, unsuback.messageId], ['unsuback', 9]);
  });

  it('drops a reply whose connection closed meanwhile', async () => {
    const { client, conn, handler } = await dps();
    let release!: (r: DpsReply) => void;
    handler.registerReply = () => new Promise<DpsReply>((resolve) => (release = resolve));
    client.send(publish(REGISTER('late'), '{}'));
    await client.next();
    client.send({ cmd: 'disconnect' });
    await conn.closed;
    release({ status: 202, body: {} });
    await tick();
  });
});
