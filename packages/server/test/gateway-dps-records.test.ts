/**
 * A DPS request's PUBACK and its answer on the wire, over real TLS: an answer ready within
 * PUBACK_WAIT_MS leaves with the PUBACK in one TLS record (one encryption and one system call
 * on each side, instead of two); a slower answer finds the PUBACK already sent, alone, after
 * the wait; a QoS 0 request gets its answer and no PUBACK. The records are counted by a TCP
 * relay between the device and the server, which reads the TLS record headers.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect, createServer as netServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as tls from 'node:tls';

import { createRootCa, createServerCertificate } from '@gatehouse/pki';
import type { IPublishPacket, Packet } from 'mqtt-packet';

import { handleMqttStream } from '../src/gateway/index.js';
import { PUBACK_WAIT_MS } from '../src/gateway/dps-session.js';
import type { DpsReply } from '../src/provisioning/dps-handler.js';
import { captureLogger, FakeDpsHandler, PacketClient } from './helpers/gateway-harness.js';

const USERNAME = '0ne0001/registrations/dev-1/api-version=2019-03-31';
const REGISTER = (rid: string) => `$dps/registrations/PUT/iotdps-register/?$rid=${rid}`;

const root = await createRootCa({ commonName: 'records-root' });
const serverCert = await createServerCertificate({
  commonName: 'localhost',
  dnsNames: ['localhost'],
  issuer: root,
});

const handler = new FakeDpsHandler();
let tlsServer: tls.Server;
let relay: Server;
/** TLS records the server sent to the device, with the time each arrived (ms). */
const records: Array<{ type: number; at: number }> = [];

before(async () => {
  tlsServer = tls.createServer(
    { key: serverCert.privateKey.toPem(), cert: serverCert.certificate.pem, minVersion: 'TLSv1.3' },
    (socket) => {
      handleMqttStream(
        socket,
        { peerCertificates: [], remoteAddress: '127.0.0.1', transport: 'mqtt' },
        { dps: handler, logger: captureLogger().logger },
      );
    },
  );
  tlsServer.listen(0, '127.0.0.1');
  await once(tlsServer, 'listening');
  // The relay passes bytes both ways and splits what the server sends into TLS records
  // (RFC 8446 §5.1: type, version, 16-bit length).
  relay = netServer((device) => {
    const upstream = netConnect((tlsServer.address() as AddressInfo).port, '127.0.0.1');
    device.pipe(upstream);
    let pending = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      device.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5 && pending.length >= 5 + pending.readUInt16BE(3)) {
        records.push({ type: pending[0]!, at: performance.now() });
        pending = pending.subarray(5 + pending.readUInt16BE(3));
      }
    });
    device.on('close', () => upstream.destroy());
    upstream.on('close', () => device.destroy());
    device.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
});

after(() => {
  relay.close();
  tlsServer.close();
});

/** A device connected through the relay, its CONNACK read. */
async function device(): Promise<PacketClient> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port: (relay.address() as AddressInfo).port,
    servername: 'localhost',
    ca: root.certificate.pem,
  });
  await once(socket, 'secureConnect');
  const client = new PacketClient(socket);
  client.send({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clientId: 'dev-1',
    clean: true,
    keepalive: 60,
    username: USERNAME,
  });
  assert.equal((await client.next()).cmd, 'connack');
  return client;
}

/** Waits until no record has come for `quietMs`, then returns the records since `from`. */
async function recordsSince(from: number, quietMs = 50): Promise<Array<{ type: number; at: number }>> {
  for (;;) {
    const seen = records.length;
    await new Promise((r) => setTimeout(r, quietMs));
    if (records.length === seen) return records.slice(from);
  }
}

function publish(topic: string, qos: 0 | 1, messageId: number): Packet {
  const payload = Buffer.from('{"registrationId":"dev-1"}');
  return { cmd: 'publish', topic, payload, qos, messageId, dup: false, retain: false };
}

describe('gateway: a DPS request PUBACK and its answer, in TLS records', () => {
  it('an answer ready at once leaves with the PUBACK in one record, PUBACK first', async () => {
    handler.registerReply = () => ({ status: 202, body: { operationId: 'o1', status: 'assigning' } });
    const client = await device();
    await recordsSince(0);
    const from = records.length;
    client.send(publish(REGISTER('fast'), 1, 7));
    const puback = await client.next();
    assert.deepEqual([puback.cmd, puback.messageId], ['puback', 7]);
    const reply = (await client.next()) as IPublishPacket;
    assert.equal(reply.topic, '$dps/registrations/res/202/?$rid=fast');
    const sent = await recordsSince(from);
    assert.deepEqual(
      sent.map((r) => r.type),
      [23],
      'one application-data record for the PUBACK and the answer',
    );
    client.stream.destroy();
  });

  it(`an answer slower than ${PUBACK_WAIT_MS} ms: the PUBACK goes alone after the wait, the answer after`, async () => {
    let release!: (r: DpsReply) => void;
    handler.registerReply = () => new Promise<DpsReply>((resolve) => (release = resolve));
    const client = await device();
    await recordsSince(0);
    const from = records.length;
    const t0 = performance.now();
    client.send(publish(REGISTER('slow'), 1, 8));
    const puback = await client.next();
    const waited = performance.now() - t0;
    assert.deepEqual([puback.cmd, puback.messageId], ['puback', 8]);
    assert.ok(waited >= PUBACK_WAIT_MS - 5, `PUBACK after ${waited.toFixed(0)} ms, not before the wait`);
    assert.ok(waited < PUBACK_WAIT_MS + 1_000, `PUBACK after ${waited.toFixed(0)} ms`);
    release({ status: 202, body: { operationId: 'o2', status: 'assigning' } });
    const reply = (await client.next()) as IPublishPacket;
    assert.equal(reply.topic, '$dps/registrations/res/202/?$rid=slow');
    assert.equal((await recordsSince(from)).length, 2, 'the PUBACK and the answer in a record each');
    client.stream.destroy();
  });

  it('a QoS 0 request: the answer alone, no PUBACK', async () => {
    handler.registerReply = () => ({ status: 202, body: { operationId: 'o3', status: 'assigning' } });
    const client = await device();
    await recordsSince(0);
    const from = records.length;
    client.send(publish(REGISTER('q0'), 0, 0));
    const reply = (await client.next()) as IPublishPacket;
    assert.equal(reply.cmd, 'publish');
    assert.equal(reply.topic, '$dps/registrations/res/202/?$rid=q0');
    assert.equal((await recordsSince(from, PUBACK_WAIT_MS + 100)).length, 1);
    assert.equal(
      await Promise.race([client.next(), new Promise((r) => setTimeout(() => r('none'), 50))]),
      'none',
    );
    client.stream.destroy();
  });
});
