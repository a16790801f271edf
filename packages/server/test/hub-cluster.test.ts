/**
 * Two hub nodes on one store and one bus (CLUSTER.md §6.3, §6.4; T3): a device connected to
 * node B over MQTT/TLS is reached from node A — commands (answered, offline, silent, waiting
 * for the device to connect), cloud-to-device messages, desired properties, disabling — and
 * node A's live listeners see what happens on B. Over the in-memory bus and a real Redis.
 * Timeouts run at 1 "second" = 50 ms (commandSecondMs).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import type { MqttClient } from 'mqtt';
import { pino } from 'pino';

import type { Bus } from '../src/events/bus.js';
import { MemoryBus } from '../src/events/memory-bus.js';
import { RedisBus } from '../src/events/redis-bus.js';
import type { GatehouseError } from '../src/errors.js';
import type { HubEvent } from '../src/hub/hub-api.js';
import { answerMethods } from './helpers/hub-device.js';
import {
  closed,
  connectDevice,
  createHubPki,
  eventually,
  insertDevice,
  nextMessage,
  selfSigned,
  startHub,
  type HubHarness,
  type HubPki,
} from './helpers/hub-harness.js';
import { requireRedisUrl, skipWithoutRedis } from './helpers/redis.js';

const logger = pino({ level: 'silent' });

function suite(name: string, open: () => Promise<[Bus, Bus]>, skip: string | false = false): void {
  describe(`hub cluster (two nodes): ${name}`, { skip }, () => {
    let pki: HubPki;
    let buses: [Bus, Bus];
    let a: HubHarness;
    let b: HubHarness;
    const clients: MqttClient[] = [];

    before(async () => {
      pki = await createHubPki();
      buses = await open();
      a = await startHub(pki, {
        hub: { commandSecondMs: 50, c2dSweepMs: 200, bus: buses[0], nodeId: `a-${randomUUID()}` },
      });
      b = await startHub(pki, {
        dir: a.dir,
        hub: { commandSecondMs: 50, c2dSweepMs: 200, bus: buses[1], nodeId: `b-${randomUUID()}` },
      });
    });

    after(async () => {
      for (const client of clients) client.end(true);
      await b?.stop();
      await a?.destroy();
      await Promise.all(buses?.map((bus) => bus.close()) ?? []);
    });

    /** A device row (unique per run: the shared Redis may serve other files) connected to `node`. */
    async function deviceOn(node: HubHarness, base: string, methods = true) {
      const id = `${base}-${randomUUID().slice(0, 6)}`;
      const cert = await selfSigned(id);
      await insertDevice(a, id, { primary: cert });
      const client = await connectDevice(node, pki, id, { identity: cert });
      clients.push(client);
      if (methods) await client.subscribeAsync('$iothub/methods/POST/#', { qos: 0 });
      return { id, cert, client };
    }

    it('runs a command on A for a device connected to B, and A keeps the history', async () => {
      const { id, client } = await deviceOn(b, 'm-remote');
      answerMethods(client, (n, payload) => [200, { method: n, got: payload }]);
      assert.equal(a.hub.isConnected(id), false);
      const command = await a.hub.runCommand(id, 'blink', { request: { times: 3 }, responseTimeout: 10 });
      assert.equal(command.status, 'completed');
      assert.equal(command.responseCode, 200);
      assert.deepEqual(command.response, { method: 'blink', got: { times: 3 } });
      const history = await a.hub.listCommands(id, 'blink');
      assert.deepEqual(
        history.map((c) => c.id),
        [command.id],
      );
    });

    it('answers ERR_DEVICE_OFFLINE at once for a device connected nowhere', async () => {
      const id = `m-nowhere-${randomUUID().slice(0, 6)}`;
      await insertDevice(a, id, { primary: await selfSigned(id) });
      // The fastest of five (a loaded machine adds noise): a wait on a timeout would slow all.
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        await assert.rejects(a.hub.runCommand(id, 'blink', {}), (err: GatehouseError) => {
          assert.equal(err.code, 'ERR_DEVICE_OFFLINE');
          return true;
        });
        times.push(performance.now() - t0);
      }
      assert.ok(Math.min(...times) < 100, `offline after ${times.map((t) => t.toFixed(1)).join(', ')} ms`);
    });

    it('says "not connected to direct methods" for a device on B without the subscription', async () => {
      const { id } = await deviceOn(b, 'm-nosub', false);
      await assert.rejects(a.hub.runCommand(id, 'blink', {}), (err: GatehouseError) => {
        assert.equal(err.code, 'ERR_DEVICE_OFFLINE');
        assert.match(err.message, /not connected to direct methods/);
        return true;
      });
    });

    it('times out (ERR_COMMAND_TIMEOUT) when the device on B stays silent', async () => {
      const { id } = await deviceOn(b, 'm-silent');
      const t0 = performance.now();
      await assert.rejects(a.hub.runCommand(id, 'blink', { responseTimeout: 5 }), {
        code: 'ERR_COMMAND_TIMEOUT',
      });
      const took = performance.now() - t0;
      assert.ok(took >= 240 && took < 2000, `timed out after ${took.toFixed(0)} ms`);
      assert.deepEqual(
        (await a.hub.listCommands(id, 'blink')).map((c) => c.status),
        ['timeout'],
      );
    });

    it('waits up to connectionTimeout for the device to connect to the other node', async () => {
      const id = `m-late-${randomUUID().slice(0, 6)}`;
      const cert = await selfSigned(id);
      await insertDevice(a, id, { primary: cert });
      const run = a.hub.runCommand(id, 'blink', { connectionTimeout: 20, responseTimeout: 10 });
      await sleep(150);
      const client = await connectDevice(b, pki, id, { identity: cert });
      clients.push(client);
      answerMethods(client, () => [201, 'late']);
      await client.subscribeAsync('$iothub/methods/POST/#', { qos: 0 });
      const command = await run;
      assert.equal(command.responseCode, 201);
    });

    it('delivers a cloud-to-device message sent on A to the device on B', async () => {
      const { id, client } = await deviceOn(b, 'c2d-remote', false);
      await client.subscribeAsync(`devices/${id}/messages/devicebound/#`, { qos: 1 });
      const received = nextMessage(client, `devices/${id}/messages/devicebound/`);
      await a.hub.sendMessage(id, { body: { hello: 'from A' } });
      assert.deepEqual(JSON.parse((await received).payload.toString()), { hello: 'from A' });
      await eventually(async () => (await a.hub.listMessages(id))[0]?.state === 'delivered');
    });

    it('delivers a cloud-to-device message whose wake-up the bus lost, within one sweep of B', async () => {
      // Regression (T9, a Redis restart): the message was committed on A but its wake-up never
      // reached B; B's sweep of its devices' queued messages delivers it.
      const { id, client } = await deviceOn(b, 'c2d-lost-wake', false);
      await client.subscribeAsync(`devices/${id}/messages/devicebound/#`, { qos: 1 });
      const received = nextMessage(client, `devices/${id}/messages/devicebound/`);
      const router = a.hub.router!;
      const notify = router.notify.bind(router);
      router.notify = () => Promise.resolve(false);
      try {
        await a.hub.sendMessage(id, { body: 'lost wake-up' });
      } finally {
        router.notify = notify;
      }
      assert.equal((await received).payload.toString(), 'lost wake-up');
      await eventually(async () => (await a.hub.listMessages(id))[0]?.state === 'delivered');
    });

    it('pushes a desired property written on A to the device on B', async () => {
      const { id, client } = await deviceOn(b, 'twin-remote', false);
      await client.subscribeAsync('$iothub/twin/PATCH/properties/desired/#', { qos: 0 });
      const notified = nextMessage(client, '$iothub/twin/PATCH/properties/desired/');
      await a.hub.patchProperties(id, { targetTemperature: 21 });
      const message = await notified;
      assert.match(message.topic, /\?\$version=\d+$/);
      assert.equal(
        (JSON.parse(message.payload.toString()) as Record<string, unknown>)['targetTemperature'],
        21,
      );
    });

    it('closes the device connection on B when A disables the device', async () => {
      const { id, client } = await deviceOn(b, 'kick-remote', false);
      const gone = closed(client, 3000);
      await a.hub.patchDevice(id, { enabled: false });
      await gone;
      await eventually(() => !b.hub.isConnected(id));
    });

    it("A's live listeners see B's device connect and send telemetry, once", async () => {
      const id = `ev-remote-${randomUUID().slice(0, 6)}`;
      const cert = await selfSigned(id);
      await insertDevice(a, id, { primary: cert });
      const perDevice: HubEvent[] = [];
      const all: HubEvent[] = [];
      const off1 = a.hub.subscribe((e) => perDevice.push(e), id);
      const off2 = a.hub.subscribe((e) => {
        if (e.deviceId === id) all.push(e);
      });
      await a.hub.events.settled();
      const client = await connectDevice(b, pki, id, { identity: cert });
      clients.push(client);
      await client.publishAsync(`devices/${id}/messages/events/`, JSON.stringify({ temperature: 22.5 }), {
        qos: 1,
      });
      await eventually(() => perDevice.some((e) => e.type === 'telemetry'));
      const telemetry = perDevice.find((e) => e.type === 'telemetry');
      assert.ok(telemetry?.type === 'telemetry');
      assert.deepEqual(telemetry.body, { temperature: 22.5 });
      await eventually(() => all.some((e) => e.type === 'telemetry'));
      await sleep(50);
      const types = (events: HubEvent[]) => events.map((e) => e.type).filter((t) => t !== 'deviceChanged');
      assert.deepEqual(types(perDevice), ['connected', 'telemetry']);
      assert.deepEqual(types(all), ['connected', 'telemetry']);
      off1();
      off2();
    });
  });
}

suite('memory', async () => {
  const one = new MemoryBus({ logger });
  return [one, new MemoryBus({ logger, broker: one.broker })];
});

suite(
  'redis',
  async () => {
    const url = requireRedisUrl();
    return Promise.all([
      RedisBus.connect({ url, logger, nodeId: 'hub-a' }),
      RedisBus.connect({ url, logger, nodeId: 'hub-b' }),
    ]);
  },
  skipWithoutRedis(),
);
