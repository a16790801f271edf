/**
 * The Redis bus when Redis is not there (CLUSTER.md §6.6 T9): refused at start with the fix,
 * publish fails fast while Redis is down, and after a restart (SIGKILL, then a new
 * redis-server on the same port, empty) every channel and pattern is subscribed again.
 * This test owns its redis-server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { GatehouseError } from '../src/errors.js';
import { RedisBus } from '../src/events/redis-bus.js';
import { captureLogger, type CapturedLogger } from './helpers/gateway-harness.js';
import { eventually } from './helpers/hub-harness.js';
import { freePort, skipWithoutRedisServer, startOwnRedis, type OwnRedis } from './helpers/redis.js';

describe('redis bus: outages', { skip: skipWithoutRedisServer() }, () => {
  let redis: OwnRedis;
  let log: CapturedLogger;
  let a: RedisBus;
  let b: RedisBus;

  before(async () => {
    redis = await startOwnRedis();
    log = captureLogger();
    a = await RedisBus.connect({ url: redis.url, logger: log.logger, nodeId: 'a' });
    b = await RedisBus.connect({ url: redis.url, logger: log.logger, nodeId: 'b' });
  });

  after(async () => {
    await a?.close();
    await b?.close();
    await redis?.stop();
  });

  it('refuses to start when Redis is unreachable, naming the fix (ERR_BUS_UNREACHABLE)', async () => {
    const port = await freePort();
    const started = Date.now();
    await assert.rejects(
      RedisBus.connect({ url: `redis://127.0.0.1:${port}`, logger: log.logger }),
      (err: GatehouseError) => {
        assert.equal(err.code, 'ERR_BUS_UNREACHABLE');
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}.*ECONNREFUSED.*--redis-url`));
        return true;
      },
    );
    assert.ok(Date.now() - started < 3000, 'answered without retrying forever');
  });

  it('refuses a URL that is not redis:// (ERR_BUS_URL_INVALID), hiding the password', async () => {
    for (const url of ['localhost:6379', 'http://localhost:6379', 'redis://']) {
      await assert.rejects(RedisBus.connect({ url, logger: log.logger }), { code: 'ERR_BUS_URL_INVALID' });
    }
    await assert.rejects(
      RedisBus.connect({ url: 'mysql://u:secret@h', logger: log.logger }),
      (err: Error) => {
        assert.doesNotMatch(err.message, /secret/);
        return true;
      },
    );
  });

  it('fails publish fast while Redis is down and resubscribes everything after a restart', async () => {
    const received: string[] = [];
    await b.subscribe('gh:dev:{before}', (m, c) => received.push(`${c}=${m.toString()}`));
    await b.psubscribe('gh:ev:{*}', (m, c) => received.push(`${c}=${m.toString()}`));
    const states: string[] = [];
    a.onStateChange((s) => states.push(s));
    assert.equal(await a.publish('gh:dev:{before}', 'x'), 1);
    await eventually(() => received.length === 1);

    await redis.kill();
    await eventually(() => !a.isHealthy() && !b.isHealthy(), 5000);
    const t0 = performance.now();
    await assert.rejects(a.publish('gh:dev:{before}', 'y'), (err: GatehouseError) => {
      assert.equal(err.code, 'ERR_BUS_UNAVAILABLE');
      assert.equal(err.status, 503);
      return true;
    });
    const failMs = performance.now() - t0;
    assert.ok(failMs < 50, `publish failed in ${failMs.toFixed(1)} ms`);
    const health = await a.check();
    assert.equal(health.ok, false);
    assert.equal(health.state, 'down');
    // Asked for while down: resolves at once, subscribed when Redis is back.
    const during = b.subscribe('gh:dev:{during}', (m, c) => received.push(`${c}=${m.toString()}`));
    await during;

    await redis.start();
    await eventually(() => a.isHealthy() && b.isHealthy(), 10_000);
    // Subscriptions are restored in the background right after the reconnect.
    await eventually(async () => (await a.publish('gh:dev:{during}', 'probe')) === 1, 5000);
    assert.equal(await a.publish('gh:dev:{before}', 'z'), 1);
    assert.equal(await a.publish('gh:ev:{d1}', 'e'), 1);
    await eventually(() => received.includes('gh:dev:{before}=z') && received.includes('gh:ev:{d1}=e'));
    assert.ok(received.includes('gh:dev:{during}=probe'));
    assert.deepEqual(states.slice(0, 2), ['down', 'up']);
    assert.ok(a.reconnects >= 1);
    const messages = log.messages();
    assert.ok(messages.includes('bus state: down (Redis unreachable)'));
    assert.ok(messages.includes('bus state: up (Redis connected)'));
  });
});
