/**
 * startServer's cluster options: with `redisUrl` the node joins the bus under its node ID
 * (default host name and process ID) and closes it on shutdown; with Redis unreachable it
 * refuses to start (ERR_BUS_UNREACHABLE) and leaves nothing open.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';

import type { GatehouseError } from '../src/errors.js';
import { freePort, requireRedisUrl, skipWithoutRedis } from './helpers/redis.js';
import { startTestServer } from './helpers/test-server.js';

describe('server: cluster options', () => {
  it('runs one process without a bus by default', async () => {
    const server = await startTestServer();
    try {
      assert.equal(server.bus, undefined);
      assert.equal(server.hub.router, undefined);
      assert.equal(server.nodeId, `${hostname()}-${process.pid}`);
    } finally {
      await server.stop();
    }
  });

  it(
    'joins the bus with redisUrl, answers a command for a device connected nowhere at once',
    { skip: skipWithoutRedis() },
    async () => {
      const server = await startTestServer({ redisUrl: requireRedisUrl(), nodeId: 'node-options-test' });
      try {
        assert.equal(server.nodeId, 'node-options-test');
        assert.equal(server.bus?.kind, 'redis');
        assert.deepEqual(await server.bus?.check(), { ok: true, state: 'up', detail: 'Redis answers' });
        assert.equal(server.hub.router?.nodeId, 'node-options-test');
        const put = await server.api('PUT', '/api/devices/opt-dev?api-version=2022-07-31', {
          displayName: 'x',
        });
        assert.ok(put.status < 300, JSON.stringify(put.body));
        const path = '/api/devices/opt-dev/commands/blink?api-version=2022-07-31';
        // The fastest of five (the first compiles the route; a loaded machine adds noise): a
        // wait on a reply timeout would make every one slow.
        const times: number[] = [];
        for (let i = 0; i < 5; i++) {
          const t0 = performance.now();
          const run = await server.api('POST', path, {});
          times.push(performance.now() - t0);
          assert.equal(run.status, 404);
          assert.equal((run.body as { error: { code: string } }).error.code, 'ERR_DEVICE_OFFLINE');
        }
        assert.ok(Math.min(...times) < 100, `404 after ${times.map((t) => t.toFixed(1)).join(', ')} ms`);
      } finally {
        await server.stop();
      }
      assert.equal(server.bus?.isHealthy(), false, 'closed with the server');
    },
  );

  it('refuses to start when Redis is unreachable (ERR_BUS_UNREACHABLE)', async () => {
    const port = await freePort();
    await assert.rejects(
      startTestServer({ redisUrl: `redis://127.0.0.1:${port}` }),
      (err: GatehouseError) => {
        assert.equal(err.code, 'ERR_BUS_UNREACHABLE');
        assert.match(err.message, /start it or fix --redis-url/);
        return true;
      },
    );
  });
});
