/**
 * Redis restarted under a two-node hub (CLUSTER.md §6.6 T9): while Redis is down a command
 * for a device on the other node fails fast with ERR_BUS_UNAVAILABLE (503) and the owning node
 * still serves its own devices; once a new redis-server runs on the same port (empty, like
 * after a crash), every subscription is back: commands route again, a device that connected
 * during the outage is reachable, live events flow. This test owns its redis-server.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import type { MqttClient } from 'mqtt';

import { RedisBus } from '../src/events/redis-bus.js';
import type { GatehouseError } from '../src/errors.js';
import type { HubEvent } from '../src/hub/hub-api.js';
import { captureLogger } from './helpers/gateway-harness.js';
import { answerMethods } from './helpers/hub-device.js';
import {
  connectDevice,
  createHubPki,
  eventually,
  insertDevice,
  selfSigned,
  startHub,
  type HubHarness,
  type HubPki,
} from './helpers/hub-harness.js';
import { skipWithoutRedisServer, startOwnRedis, type OwnRedis } from './helpers/redis.js';

describe('hub cluster: Redis restarted mid-run', { skip: skipWithoutRedisServer() }, () => {
  let redis: OwnRedis;
  let pki: HubPki;
  let busA: RedisBus;
  let busB: RedisBus;
  let a: HubHarness;
  let b: HubHarness;
  const clients: MqttClient[] = [];
  const log = captureLogger();

  before(async () => {
    redis = await startOwnRedis();
    pki = await createHubPki();
    busA = await RedisBus.connect({ url: redis.url, logger: log.logger, nodeId: 'a' });
    busB = await RedisBus.connect({ url: redis.url, logger: log.logger, nodeId: 'b' });
    a = await startHub(pki, { hub: { commandSecondMs: 50, bus: busA, nodeId: 'a' } });
    b = await startHub(pki, { dir: a.dir, hub: { commandSecondMs: 50, bus: busB, nodeId: 'b' } });
  });

  after(async () => {
    for (const client of clients) client.end(true);
    await b?.stop();
    await a?.destroy();
    await busA?.close();
    await busB?.close();
    await redis?.stop();
  });

  async function answeringDevice(id: string): Promise<void> {
    const cert = await selfSigned(id);
    await insertDevice(a, id, { primary: cert });
    const client = await connectDevice(b, pki, id, { identity: cert });
    clients.push(client);
    answerMethods(client, () => [200, id]);
    await client.subscribeAsync('$iothub/methods/POST/#', { qos: 0 });
  }

  it('routes again after Redis comes back, with every subscription restored', async () => {
    const before = `before-${randomUUID().slice(0, 6)}`;
    await answeringDevice(before);
    const events: HubEvent[] = [];
    a.hub.subscribe((e) => events.push(e), before);
    await a.hub.events.settled();
    assert.equal((await a.hub.runCommand(before, 'ping', {})).response, before);

    await redis.kill();
    await eventually(() => !busA.isHealthy() && !busB.isHealthy(), 5000);
    const t0 = performance.now();
    await assert.rejects(a.hub.runCommand(before, 'ping', {}), (err: GatehouseError) => {
      assert.equal(err.code, 'ERR_BUS_UNAVAILABLE');
      assert.equal(err.status, 503);
      return true;
    });
    assert.ok(performance.now() - t0 < 100, 'failed fast');
    // The owning node serves its own devices without Redis.
    assert.equal((await b.hub.runCommand(before, 'ping', {})).response, before);
    // A device connecting during the outage is accepted (its channel is subscribed later).
    const during = `during-${randomUUID().slice(0, 6)}`;
    await answeringDevice(during);

    await redis.start();
    await eventually(() => busA.isHealthy() && busB.isHealthy(), 10_000);
    await eventually(async () => {
      try {
        return (await a.hub.runCommand(before, 'ping', {})).response === before;
      } catch {
        return false;
      }
    }, 5000);
    assert.equal((await a.hub.runCommand(during, 'ping', {})).response, during);
    // Live events: A's device subscription came back too.
    const client = clients[0]!;
    await client.publishAsync(`devices/${before}/messages/events/`, '{"after":true}', { qos: 1 });
    await eventually(() => events.some((e) => e.type === 'telemetry'));
    assert.ok(busA.reconnects >= 1 && busB.reconnects >= 1);
  });
});
