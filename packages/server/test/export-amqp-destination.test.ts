/**
 * amqp@v1 against a real RabbitMQ (destinations/amqp.ts, the broker of
 * scripts/test-services.mjs): a batch is confirmed by the broker and consumed from a bound queue
 * as persistent JSON with its routing key and headers; the default exchange reaches a queue by
 * name; amqps works with the broker's CA given as caCertificate and is a permanent TLS error
 * without it; a missing exchange and a wrong password are permanent errors in words; a broker that is
 * down (its port refusing, through a relay the test stops) fails the send, and the send after it
 * came back reconnects and delivers; a broker whose confirms stop coming (a stalled relay) fails
 * the batch after the acknowledgement timeout and the next send opens a new connection.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';

import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';

import { DeliveryError, type DestinationAdapter } from '../src/export/contracts.js';
import {
  createAmqpDestination,
  validateAmqpDestination,
  type AmqpDestinationConfig,
} from '../src/export/destinations/amqp.js';
import { CuttableProxy } from './helpers/cuttable-proxy.js';
import { eventually } from './helpers/hub-harness.js';
import { requireAmqpsBroker, requireAmqpUrl, skipWithoutRabbitmq } from './helpers/rabbitmq.js';
import { freePort } from './helpers/redis.js';

const skip = skipWithoutRabbitmq();

/** A relay to the broker that can stop passing the broker's bytes back (a stalled link). */
async function stallableRelay(target: number) {
  let stalled = false;
  let connections = 0;
  const pairs: Socket[] = [];
  const server = createServer((client) => {
    connections++;
    const upstream = netConnect(target, '127.0.0.1');
    pairs.push(client, upstream);
    for (const s of [client, upstream]) {
      s.on('error', () => undefined);
      s.on('close', () => (client.destroy(), upstream.destroy()));
    }
    client.pipe(upstream);
    upstream.on('data', (d: Buffer) => {
      if (!stalled) client.write(d);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    connections: () => connections,
    stall: (on: boolean) => (stalled = on),
    close: async () => {
      pairs.forEach((s) => s.destroy());
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
const GUEST = { type: 'userNamePassword', userName: 'guest', password: 'guest' };

describe('amqp@v1 destination against RabbitMQ', { skip }, () => {
  const suffix = randomBytes(4).toString('hex');
  const exchange = `gh-export-${suffix}`;
  const queue = `gh-export-q-${suffix}`;
  let broker: URL;
  let consumer: ChannelModel;
  let channel: Channel;
  const received: ConsumeMessage[] = [];
  const open: DestinationAdapter[] = [];
  const destination = (body: Record<string, unknown>, ackTimeoutMs?: number) => {
    const r = validateAmqpDestination({
      type: 'amqp@v1',
      displayName: 'Bus',
      url: `amqp://${broker.host}`,
      exchange,
      routingKey: '{messageSource}.{deviceId}',
      authorization: GUEST,
      ...body,
    });
    if ('problems' in r) throw new Error(JSON.stringify(r.problems));
    const d = createAmqpDestination(
      r.config satisfies AmqpDestinationConfig,
      ackTimeoutMs === undefined ? {} : { ackTimeoutMs },
    );
    open.push(d);
    return d;
  };
  const take = async (n: number) => {
    await eventually(() => received.length >= n, 5_000);
    return received.splice(0, n).map((m) => ({
      routingKey: m.fields.routingKey,
      exchange: m.fields.exchange,
      body: JSON.parse(m.content.toString()) as unknown,
      contentType: m.properties.contentType as unknown,
      deliveryMode: m.properties.deliveryMode as unknown,
      headers: m.properties.headers,
    }));
  };

  before(async () => {
    broker = new URL(requireAmqpUrl());
    consumer = await amqp.connect(broker.toString());
    channel = await consumer.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
    await channel.assertQueue(queue, { durable: false, exclusive: true });
    await channel.bindQueue(queue, exchange, '#');
    await channel.consume(queue, (m) => m && received.push(m), { noAck: true });
  });
  after(async () => {
    await Promise.all(open.map((d) => d.close()));
    await channel?.deleteExchange(exchange).catch(() => undefined);
    await consumer?.close();
  });

  it('a batch is confirmed, then consumed in order as persistent JSON with key and headers', async () => {
    const d = destination({});
    const batch = [{ n: 1, telemetry: { t: 21.5 } }, { n: 2 }, { n: 3 }];
    await d.send(batch, {
      items: [
        { deviceId: 'dev-1', messageSource: 'telemetry' },
        { deviceId: 'dev-2', messageSource: 'properties' },
        { messageSource: 'audit' },
      ],
    });
    const got = await take(3);
    const common = { exchange, contentType: 'application/json', deliveryMode: 2 };
    assert.deepEqual(got, [
      {
        ...common,
        routingKey: 'telemetry.dev-1',
        body: batch[0],
        headers: { 'iotcentral-message-source': 'telemetry', 'iotcentral-device-id': 'dev-1' },
      },
      {
        ...common,
        routingKey: 'properties.dev-2',
        body: batch[1],
        headers: { 'iotcentral-message-source': 'properties', 'iotcentral-device-id': 'dev-2' },
      },
      { ...common, routingKey: 'audit.-', body: batch[2], headers: { 'iotcentral-message-source': 'audit' } },
    ]);
  });

  it('the default exchange "" delivers to the queue the routing key names', async () => {
    const d = destination({ exchange: '', routingKey: queue });
    await d.send([{ direct: true }], { items: [{ deviceId: 'q', messageSource: 'telemetry' }] });
    const [m] = await take(1);
    assert.equal(m?.exchange, '');
    assert.deepEqual(m?.body, { direct: true });
  });

  it('amqps: confirmed over TLS with the broker CA as caCertificate; without it, a permanent TLS error', async () => {
    const tls = requireAmqpsBroker();
    const host = new URL(tls.url).host;
    const d = destination({ url: `amqps://${host}`, caCertificate: tls.caPem });
    await d.send([{ over: 'tls' }], { items: [{ deviceId: 's', messageSource: 'telemetry' }] });
    assert.deepEqual(
      (await take(1)).map((m) => [m.routingKey, m.body]),
      [['telemetry.s', { over: 'tls' }]],
    );
    const untrusted = destination({ url: `amqps://${host}` });
    await assert.rejects(
      untrusted.send([{}], { items: [{ deviceId: 's', messageSource: 'telemetry' }] }),
      (err) => {
        assert.ok(err instanceof DeliveryError);
        assert.match(
          err.message,
          /^TLS: the RabbitMQ broker's certificate at 127\.0\.0\.1:\d+ is not trusted \(/,
        );
        assert.equal(err.permanent, true);
        return true;
      },
    );
  });

  it('an exchange that does not exist is a permanent error naming it', async () => {
    const d = destination({ exchange: `missing-${suffix}` });
    await assert.rejects(d.send([{}], { items: [{ deviceId: 'x', messageSource: 'telemetry' }] }), (err) => {
      assert.ok(err instanceof DeliveryError);
      assert.match(
        err.message,
        new RegExp(
          `^The exchange "missing-${suffix}" does not exist on the RabbitMQ broker at 127\\.0\\.0\\.1:\\d+ \\(virtual host "/"\\)`,
        ),
      );
      assert.equal(err.permanent, true);
      return true;
    });
  });

  it('a wrong password is a permanent 403 in words', async () => {
    const d = destination({
      authorization: { type: 'userNamePassword', userName: 'guest', password: 'nope' },
    });
    await assert.rejects(d.send([{}], { items: [{ deviceId: 'x', messageSource: 'telemetry' }] }), (err) => {
      assert.ok(err instanceof DeliveryError);
      assert.match(err.message, /refused the credentials \(403 ACCESS_REFUSED\)/);
      assert.equal(err.permanent, true);
      return true;
    });
  });

  it('confirms that stop coming fail the batch after the timeout; the next send reconnects', async () => {
    const relay = await stallableRelay(Number(broker.port));
    try {
      const d = destination({ url: `amqp://127.0.0.1:${relay.port}` }, 500);
      const items = [{ deviceId: 's', messageSource: 'telemetry' }];
      await d.send([{ n: 1 }], { items });
      relay.stall(true);
      await assert.rejects(d.send([{ n: 2 }], { items }), (err) => {
        assert.ok(err instanceof DeliveryError);
        assert.match(err.message, /did not confirm the messages within 500 ms\.$/);
        return true;
      });
      relay.stall(false);
      await d.send([{ n: 3 }], { items });
      assert.equal(relay.connections(), 2);
      // The stalled message reached the broker (only its confirm was held back): at least once.
      assert.deepEqual(
        (await take(3)).map((m) => m.body),
        [{ n: 1 }, { n: 2 }, { n: 3 }],
      );
    } finally {
      await relay.close();
    }
  });

  it('broker down: the send fails in words; broker back: the next send reconnects and delivers', async () => {
    const relay = new CuttableProxy(await freePort(), { host: '127.0.0.1', port: Number(broker.port) });
    await relay.start();
    const d = destination({ url: `amqp://127.0.0.1:${relay.port}` });
    const items = [{ deviceId: 'r', messageSource: 'telemetry' }];
    await d.send([{ phase: 'before' }], { items });
    assert.deepEqual(
      (await take(1)).map((m) => m.body),
      [{ phase: 'before' }],
    );

    await relay.stop();
    await assert.rejects(d.send([{ phase: 'down' }], { items }), (err) => {
      assert.ok(err instanceof DeliveryError);
      assert.match(
        err.message,
        /Connection refused by 127\.0\.0\.1:\d+|connection to the RabbitMQ broker .* was lost|closed the connection/,
      );
      assert.equal(err.permanent, false);
      return true;
    });
    await assert.rejects(
      d.send([{ phase: 'still down' }], { items }),
      /Connection refused by 127\.0\.0\.1:\d+: is the RabbitMQ broker running/,
    );

    const back = new CuttableProxy(relay.port, { host: '127.0.0.1', port: Number(broker.port) });
    await back.start();
    try {
      await d.send([{ phase: 'after' }], { items });
      assert.deepEqual(
        (await take(1)).map((m) => m.body),
        [{ phase: 'after' }],
      );
    } finally {
      await d.close();
      await back.stop();
    }
  });
});
