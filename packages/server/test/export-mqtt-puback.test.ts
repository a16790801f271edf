/**
 * mqtt@v1 keeps its promise about acknowledgements (destinations/mqtt.ts), against a broker of
 * the test's own on a real socket (mqtt-packet, which the gateway speaks too) that holds its
 * PUBACKs until told: at QoS 1 a batch resolves only once the broker acknowledged every message,
 * and a broker that drops the connection before acknowledging fails the batch in words (the
 * export then sends it again whole: at least once), and so does one that never acknowledges,
 * after the acknowledgement timeout, the next send using a new connection. QoS 0 resolves
 * without any PUBACK.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { generate, parser as createParser, type IPublishPacket, type Packet } from 'mqtt-packet';

import { DeliveryError } from '../src/export/contracts.js';
import { createMqttDestination, validateMqttDestination } from '../src/export/destinations/mqtt.js';
import { eventually } from './helpers/hub-harness.js';

/** A broker that answers CONNECT and keeps each QoS 1 PUBLISH's PUBACK for the test to send. */
class HoldingBroker {
  readonly published: IPublishPacket[] = [];
  private readonly held: { socket: Socket; messageId: number }[] = [];
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  port = 0;
  connections = 0;

  async start(): Promise<void> {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      const parser = createParser({ protocolVersion: 4 });
      parser.on('packet', (packet: Packet) => {
        if (packet.cmd === 'connect') {
          this.connections++;
          socket.write(generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }));
        } else if (packet.cmd === 'publish') {
          this.published.push(packet);
          if (packet.qos === 1) this.held.push({ socket, messageId: packet.messageId ?? 0 });
        } else if (packet.cmd === 'pingreq') socket.write(generate({ cmd: 'pingresp' }));
      });
      socket.on('data', (d: Buffer) => parser.parse(d));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server!.address() as { port: number }).port;
  }

  heldCount(): number {
    return this.held.length;
  }

  /** Sends the PUBACKs of the `n` oldest held messages. */
  ack(n: number): void {
    for (const { socket, messageId } of this.held.splice(0, n))
      socket.write(generate({ cmd: 'puback', messageId }));
  }

  dropConnections(): void {
    this.held.length = 0;
    for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

function destination(port: number, qos: 0 | 1, ackTimeoutMs?: number) {
  const r = validateMqttDestination({
    type: 'mqtt@v1',
    displayName: 'Holding broker',
    url: `mqtt://127.0.0.1:${port}`,
    topic: 'held/{deviceId}',
    qos,
  });
  if ('problems' in r) throw new Error(JSON.stringify(r.problems));
  return createMqttDestination(r.config, ackTimeoutMs === undefined ? {} : { ackTimeoutMs });
}

const items = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ deviceId: `d${i}`, messageSource: 'telemetry' }));

describe('mqtt@v1 acknowledgements', () => {
  const broker = new HoldingBroker();
  before(() => broker.start());
  after(() => broker.stop());

  it('QoS 1: the batch resolves only after the last of its PUBACKs', async () => {
    const d = destination(broker.port, 1);
    let resolved = false;
    const sending = d.send([{ n: 0 }, { n: 1 }, { n: 2 }], { items: items(3) }).then(() => (resolved = true));
    await eventually(() => broker.heldCount() === 3, 5_000);
    assert.deepEqual(
      broker.published.map((p) => [p.topic, p.qos, JSON.parse(p.payload.toString()) as unknown]),
      [
        ['held/d0', 1, { n: 0 }],
        ['held/d1', 1, { n: 1 }],
        ['held/d2', 1, { n: 2 }],
      ],
    );
    broker.ack(2);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(resolved, false, 'resolved with one PUBACK missing');
    broker.ack(1);
    await sending;
    assert.equal(resolved, true);
    await d.close();
    broker.published.length = 0;
  });

  it('QoS 1: the connection dropped before the PUBACKs fails the batch in words; the next send reconnects', async () => {
    const d = destination(broker.port, 1);
    const sending = d.send([{ n: 'a' }, { n: 'b' }], { items: items(2) });
    await eventually(() => broker.heldCount() === 2, 5_000);
    broker.ack(1);
    broker.dropConnections();
    await assert.rejects(sending, (err) => {
      assert.ok(err instanceof DeliveryError);
      assert.match(err.message, /^The connection to the MQTT broker at 127\.0\.0\.1:\d+ was lost\.$/);
      assert.equal(err.permanent, false);
      return true;
    });
    const again = d.send([{ n: 'a' }, { n: 'b' }], { items: items(2) });
    await eventually(() => broker.heldCount() === 2, 5_000);
    broker.ack(2);
    await again;
    await d.close();
    broker.published.length = 0;
  });

  it('QoS 1: no PUBACK within the timeout fails the batch; the next send opens a new connection', async () => {
    const d = destination(broker.port, 1, 300);
    const before = broker.connections;
    await assert.rejects(d.send([{ n: 'x' }], { items: items(1) }), (err) => {
      assert.ok(err instanceof DeliveryError);
      assert.match(
        err.message,
        /^The MQTT broker at 127\.0\.0\.1:\d+ did not acknowledge the messages within 300 ms\.$/,
      );
      return true;
    });
    broker.dropConnections();
    const again = d.send([{ n: 'x' }], { items: items(1) });
    await eventually(() => broker.heldCount() === 1, 5_000);
    broker.ack(1);
    await again;
    assert.equal(broker.connections, before + 2);
    await d.close();
    broker.published.length = 0;
  });

  it('QoS 0: the batch resolves with no PUBACK at all', async () => {
    const d = destination(broker.port, 0);
    await d.send([{ q: 0 }, { q: 0 }], { items: items(2) });
    await eventually(() => broker.published.length === 2, 5_000);
    assert.deepEqual(
      broker.published.map((p) => p.qos),
      [0, 0],
    );
    assert.equal(broker.heldCount(), 0);
    await d.close();
  });
});
