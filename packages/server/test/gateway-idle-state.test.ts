/**
 * What an idle connection lets go of (docs/performance.md) without changing what the device
 * sees: the packet parser (dropped only when it holds no partial packet), the connect
 * handler and its peer data, the per-connection logger, and the keep-alive timer (one wheel
 * for all connections). In memory over a duplex pair.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';

import { generate, type IConnackPacket, type IPublishPacket } from 'mqtt-packet';

import { handleMqttStream } from '../src/gateway/index.js';
import { KeepAliveWheel, type KeepAliveMember } from '../src/gateway/keep-alive-wheel.js';
import { Metrics } from '../src/metrics.js';
import { captureLogger, duplexPair, FakeDpsHandler, PacketClient } from './helpers/gateway-harness.js';

const SCOPE = '0ne0001';
const REG = 'idle-dev';

async function connected() {
  const [serverEnd, clientEnd] = duplexPair();
  const handler = new FakeDpsHandler();
  const log = captureLogger();
  const conn = handleMqttStream(
    serverEnd,
    { peerCertificates: [], remoteAddress: '10.0.0.9', transport: 'mqtt' },
    { dps: handler, logger: log.logger, metrics: new Metrics() },
  );
  const client = new PacketClient(clientEnd);
  client.send({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clientId: REG,
    clean: true,
    keepalive: 180,
    username: `${SCOPE}/registrations/${REG}/api-version=2019-03-31`,
  });
  const connack = (await client.next()) as IConnackPacket;
  assert.equal(connack.returnCode, 0);
  return { conn, client, handler, log };
}

function register(rid: number): Buffer {
  return generate({
    cmd: 'publish',
    topic: `$dps/registrations/PUT/iotdps-register/?$rid=${rid}`,
    payload: Buffer.from(JSON.stringify({ registrationId: REG })),
    qos: 0,
    dup: false,
    retain: false,
  });
}

async function reply(client: PacketClient): Promise<IPublishPacket> {
  const p = await client.next();
  assert.equal(p.cmd, 'publish');
  return p as IPublishPacket;
}

describe('gateway: idle connection state', () => {
  it('a parser let go while idle is made again for the next packet', async () => {
    const { conn, client, handler } = await connected();
    client.sendRaw(register(1));
    assert.match((await reply(client)).topic, /res\/202\/\?\$rid=1/);
    conn.idle(60_000);
    client.sendRaw(register(2));
    assert.match((await reply(client)).topic, /res\/202\/\?\$rid=2/);
    assert.equal(handler.calls.length, 2);
  });

  it('a parser holding half a packet is kept: the rest completes it', async () => {
    const { conn, client, handler } = await connected();
    const bytes = register(3);
    client.sendRaw(bytes.subarray(0, 10));
    await sleep(20);
    conn.idle(60_000);
    client.sendRaw(bytes.subarray(10));
    assert.match((await reply(client)).topic, /res\/202\/\?\$rid=3/);
    assert.equal(handler.calls.length, 1);
  });

  it('a short quiet spell keeps the parser (no release before 2 s)', async () => {
    const { conn, client } = await connected();
    conn.idle(1_500);
    client.sendRaw(register(4));
    assert.match((await reply(client)).topic, /res\/202\/\?\$rid=4/);
  });

  it('log lines keep remoteAddress, clientId and transport although no logger is kept per connection', async () => {
    const { conn, log } = await connected();
    await sleep(0);
    conn.log.info('first');
    await sleep(0);
    conn.log.info('second');
    for (const msg of ['first', 'second']) {
      const line = log.lines.find((l) => l['msg'] === msg);
      assert.equal(line?.['clientId'], REG);
      assert.equal(line?.['remoteAddress'], '10.0.0.9');
      assert.equal(line?.['transport'], 'mqtt');
    }
  });
});

describe('gateway: keep-alive wheel', () => {
  function member(keepAliveMs: number, lastPacketAt: number) {
    const m = {
      keepAliveMs,
      lastPacketAt,
      expired: [] as number[],
      quiet: [] as number[],
      keepAliveExpired(idleMs: number) {
        m.expired.push(idleMs);
      },
      idle(idleMs: number) {
        m.quiet.push(idleMs);
      },
    } satisfies KeepAliveMember & Record<string, unknown>;
    return m;
  }

  it('[MQTT-3.1.2-24] expires a member once quiet for its keep-alive, never before, and only once', async () => {
    const wheel = new KeepAliveWheel(20);
    const now = Date.now();
    const due = member(100, now - 100);
    const fresh = member(10_000, now);
    wheel.add(due);
    wheel.add(fresh);
    await sleep(80);
    assert.equal(due.expired.length, 1);
    assert.ok(due.expired[0]! >= 100);
    assert.equal(fresh.expired.length, 0);
    assert.ok(fresh.quiet.length > 0, 'members still within keep-alive are told how long they were quiet');
    assert.equal(wheel.size, 1);
    wheel.delete(fresh);
    assert.equal(wheel.size, 0);
  });

  it('a packet (a newer lastPacketAt) postpones expiry', async () => {
    const wheel = new KeepAliveWheel(20);
    const m = member(150, Date.now());
    wheel.add(m);
    await sleep(100);
    m.lastPacketAt = Date.now();
    await sleep(100);
    assert.equal(m.expired.length, 0);
    await sleep(150);
    assert.equal(m.expired.length, 1);
    assert.equal(wheel.size, 0);
  });
});
