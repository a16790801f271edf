/**
 * What the gateway sends to a device, bounded (HARDENING.md §8 C4), over the real TLS
 * listener and a raw TLS client: at most 32 QoS 1 publishes wait for PUBACK (the rest wait
 * their turn, in order); a device that stops reading holds at most the write-buffer budget
 * unsent plus as much again waiting (further publishes refused with ERR_MQTT_SEND_QUEUE_FULL)
 * and is closed after the send timeout with the reason logged; a device that reads gets
 * everything, however much is sent.
 */
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';

import { createRootCa, createServerCertificate } from '@gatehouse/pki';
import WebSocket from 'ws';
import { generate, parser as createParser, type IPublishPacket, type Packet } from 'mqtt-packet';

import {
  startMqttTlsListener,
  type MqttConnection,
  type MqttListener,
  type OutboundLimits,
} from '../src/gateway/index.js';
import { startDeviceHttpsListener, type DeviceHttpsListener } from '../src/device-http/index.js';
import { Metrics } from '../src/metrics.js';
import { captureLogger, FakeDpsHandler } from './helpers/gateway-harness.js';

interface Device {
  socket: TLSSocket;
  packets: Packet[];
  /** Resolves when `n` packets have arrived (or rejects after `timeoutMs`). */
  received(n: number, timeoutMs?: number): Promise<void>;
}

describe('gateway: outbound limits', () => {
  let key: string;
  let cert: string;
  before(async () => {
    const ca = await createRootCa({ commonName: 'outbound-test-ca' });
    const server = await createServerCertificate({
      commonName: 'localhost',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      issuer: ca,
    });
    key = server.privateKey.toPem();
    cert = server.certificate.pem;
  });

  const listeners: MqttListener[] = [];
  after(async () => {
    for (const l of listeners) await l.close();
  });

  /** A listener whose hub accepts every device and hands its connection to the test. */
  async function start(outbound: OutboundLimits) {
    const log = captureLogger();
    const metrics = new Metrics();
    const connections: MqttConnection[] = [];
    const listener = await startMqttTlsListener({
      host: '127.0.0.1',
      port: 0,
      key,
      cert,
      dps: new FakeDpsHandler(),
      logger: log.logger,
      metrics,
      outbound,
      hub: (conn) => {
        conn.accept(
          { onPublish: () => undefined, onSubscribe: () => undefined, onUnsubscribe: () => undefined },
          'hub',
        );
        connections.push(conn);
      },
    });
    listeners.push(listener);
    return { listener, log, metrics, connections };
  }

  async function device(
    port: number,
    connections: MqttConnection[],
  ): Promise<{ d: Device; conn: MqttConnection }> {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    socket.on('error', () => undefined);
    const packets: Packet[] = [];
    const parser = createParser({ protocolVersion: 4 });
    parser.on('packet', (p: Packet) => packets.push(p));
    socket.on('data', (chunk: Buffer) => parser.parse(chunk));
    const received = async (n: number, timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      while (packets.length < n) {
        if (Date.now() > deadline)
          throw new Error(`${packets.length} of ${n} packets within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
    const before = connections.length;
    socket.write(
      generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId: 'out-dev',
        clean: false,
        keepalive: 0,
        username: 'localhost/out-dev/?api-version=2021-04-12',
      }),
    );
    const d: Device = { socket, packets, received };
    await d.received(1);
    assert.equal(packets[0]?.cmd, 'connack');
    while (connections.length === before) await new Promise((r) => setTimeout(r, 5));
    return { d, conn: connections.at(-1)! };
  }

  it('keeps at most 32 QoS 1 publishes awaiting PUBACK; the rest follow in order as PUBACKs come', async () => {
    const { listener, connections } = await start({});
    const { d, conn } = await device(listener.address().port, connections);
    const done = Array.from({ length: 40 }, (_, i) =>
      conn.publish(`devices/out-dev/messages/devicebound/n=${i}`, `m${i}`, 1),
    );
    await d.received(1 + 32);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(d.packets.length, 1 + 32, 'no 33rd publish before a PUBACK');
    assert.equal(conn.outstandingCount, 32);
    assert.equal(conn.queuedCount, 8);
    const first = d.packets[1] as IPublishPacket;
    d.socket.write(generate({ cmd: 'puback', messageId: first.messageId! }));
    await d.received(1 + 33);
    assert.equal(String((d.packets[33] as IPublishPacket).payload), 'm32', 'the waiting ones go in order');
    // Acknowledge everything as it arrives.
    for (let acked = 1; acked < 40; acked++) {
      await d.received(1 + Math.min(40, acked + 32));
      d.socket.write(
        generate({ cmd: 'puback', messageId: (d.packets[1 + acked] as IPublishPacket).messageId! }),
      );
    }
    await Promise.all(done);
    assert.deepEqual(
      d.packets.slice(1).map((p) => String((p as IPublishPacket).payload)),
      Array.from({ length: 40 }, (_, i) => `m${i}`),
    );
    d.socket.destroy();
  });

  it('a device that stops reading: output capped, further publishes refused, closed after the send timeout', async () => {
    const budget = 256 * 1024;
    const { listener, connections, log, metrics } = await start({
      maxWriteBufferBytes: budget,
      sendTimeoutMs: 1500,
    });
    const { d, conn } = await device(listener.address().port, connections);
    d.socket.pause();
    const stream = (conn as unknown as { stream: Duplex }).stream;
    const chunk = Buffer.alloc(64 * 1024, 7);
    let accepted = 0;
    let refusal: Error | undefined;
    let maxBuffered = 0;
    const pending: Array<Promise<void>> = [];
    for (let i = 0; i < 4000 && !refusal; i++) {
      const p = conn.publish('devices/out-dev/messages/devicebound/', chunk, 0);
      p.catch((err: Error) => (refusal ??= err));
      pending.push(p.catch(() => undefined));
      await new Promise((r) => setImmediate(r));
      accepted++;
      maxBuffered = Math.max(maxBuffered, stream.writableLength);
    }
    assert.ok(refusal, `a publish was refused (after ${accepted})`);
    assert.equal((refusal as { code?: string }).code, 'ERR_MQTT_SEND_QUEUE_FULL');
    // The stream never held more than the budget plus the packet that crossed it.
    assert.ok(maxBuffered <= budget + chunk.length + 16, `buffered ${maxBuffered}`);
    assert.ok(conn.queuedCount * chunk.length <= budget, `${conn.queuedCount} waiting`);
    const started = Date.now();
    assert.equal(await conn.closed, 'send-timeout');
    const waited = Date.now() - started;
    assert.ok(waited <= 1500 + 1000, `closed ${waited} ms after the last write`);
    const line = log.lines.find(
      (l) => l['msg'] === 'mqtt connection closed' && l['reason'] === 'send-timeout',
    );
    assert.ok(line, 'the close is logged with its reason');
    assert.equal(line['level'], 40, 'at warn');
    assert.match(metrics.render(), /gatehouse_mqtt_refusals_total\{reason="send-timeout"\} 1/);
    await Promise.all(pending);
    d.socket.destroy();
  });

  it('a device that reads gets 8 MiB through a 256 KiB budget, the publishers waiting their turn', async () => {
    const { listener, connections } = await start({ maxWriteBufferBytes: 256 * 1024, sendTimeoutMs: 1500 });
    const { d, conn } = await device(listener.address().port, connections);
    const chunk = Buffer.alloc(64 * 1024, 1);
    for (let i = 0; i < 128; i++) await conn.publish('devices/out-dev/messages/devicebound/', chunk, 0);
    await d.received(1 + 128, 20_000);
    assert.equal(conn.isClosing, false);
    d.socket.destroy();
  });

  it('over MQTT/WSS the same: a WebSocket client that stops reading is closed after the send timeout', async () => {
    const log = captureLogger();
    const connections: MqttConnection[] = [];
    const dps = new FakeDpsHandler();
    const https: DeviceHttpsListener = await startDeviceHttpsListener({
      host: '127.0.0.1',
      port: 0,
      key,
      cert,
      dpsHandler: dps,
      logger: log.logger,
      gateway: {
        dps,
        logger: log.logger,
        outbound: { maxWriteBufferBytes: 128 * 1024, sendTimeoutMs: 1500 },
        hub: (conn) => {
          conn.accept(
            { onPublish: () => undefined, onSubscribe: () => undefined, onUnsubscribe: () => undefined },
            'hub',
          );
          connections.push(conn);
        },
      },
    });
    try {
      const ws = new WebSocket(`wss://127.0.0.1:${https.address().port}/$iothub/websocket`, 'mqtt', {
        rejectUnauthorized: false,
      });
      ws.on('error', () => undefined);
      await new Promise((resolve) => ws.once('open', resolve));
      ws.send(
        generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clientId: 'ws-dev',
          clean: false,
          keepalive: 0,
          username: 'localhost/ws-dev/?api-version=2021-04-12',
        }),
      );
      await new Promise((resolve) => ws.once('message', resolve));
      while (connections.length === 0) await new Promise((r) => setTimeout(r, 5));
      const conn = connections[0]!;
      ws.pause();
      const chunk = Buffer.alloc(64 * 1024, 3);
      let refused: Error | undefined;
      for (let i = 0; i < 4000 && !refused; i++) {
        conn
          .publish('devices/ws-dev/messages/devicebound/', chunk, 0)
          .catch((err: Error) => (refused ??= err));
        await new Promise((r) => setImmediate(r));
      }
      assert.equal((refused as { code?: string } | undefined)?.code, 'ERR_MQTT_SEND_QUEUE_FULL');
      assert.equal(await conn.closed, 'send-timeout');
      ws.terminate();
    } finally {
      await https.close();
    }
  });
});
