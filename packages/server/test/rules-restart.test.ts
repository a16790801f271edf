/**
 * What of the rules survives a restart of the server (docs/rules.md): the webhook's rate limit
 * (the last send is in the store, so the first alert after the restart is still suppressed
 * within 10 s) and a disconnection that already fired (read from the history, so the restarted
 * server does not fire it again). Real server on one data folder, a device over MQTT/TLS, an
 * HTTP receiver on loopback; the rules engine's clock is moved by the test.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { Firing } from '../src/rules/rule-store.js';
import { eventually } from './helpers/hub-harness.js';
import { TestClock, prepareRules, ruleDevice, send, webhookReceiver } from './helpers/rules-fixtures.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { RULE_TEMPLATE } from './helpers/rules-fixtures.js';

describe('rules across a restart', () => {
  let dataDir: string;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;
  const clock = new TestClock();
  const start = () =>
    startTestServer({ dataDir, webRoot: '', rulesClock: clock.now, rulesTickMs: 3_600_000 });
  const history = async (server: TestServer, id: string) =>
    (await server.api<{ value: Firing[] }>('GET', `/api/rules/${id}/history`)).body.value;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-rules-restart-'));
    hook = await webhookReceiver();
  });
  after(async () => {
    await hook.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps the rate limit and does not fire a disconnection twice', async () => {
    let server = await start();
    const fleet = await prepareRules(server);
    const filter = (id: string) => ({
      template: RULE_TEMPLATE,
      filter: `SELECT * FROM devices WHERE $id = "${id}"`,
    });
    const put = async (s: TestServer, id: string, body: Record<string, unknown>) =>
      assert.equal((await s.api('PUT', `/api/rules/${id}`, { displayName: id, ...body })).status, 200);
    await put(server, 'hot', {
      target: filter('restart-1'),
      conditions: { items: [{ capability: 'temperature', operator: '>', value: 30 }] },
      actions: [{ id: 'hook', type: 'webhook', url: hook.url }],
    });
    await put(server, 'offline', {
      target: filter('restart-1'),
      conditions: { items: [{ type: 'disconnected', minutes: 1 }] },
    });
    let device = await ruleDevice(server, fleet, 'restart-1');
    await send(device, 'restart-1', { temperature: 31 });
    await eventually(() => hook.received.length === 1, 10_000);
    await device.endAsync();
    await eventually(() => !server.hub.registry.isConnected('restart-1'));
    await server.rules.engine.idle();
    clock.advance(61_000);
    await server.rules.engine.tick();
    assert.equal((await history(server, 'offline')).length, 1);
    await server.stop();

    server = await start();
    // 61 s after the disconnection, the restarted server's check finds it fired already.
    await server.rules.engine.tick();
    assert.equal((await history(server, 'offline')).length, 1, 'the disconnection fired before the restart');
    // Back to 2 s after the webhook's send: within its 10 s, which only the store remembers.
    const sentAt = Date.parse((await history(server, 'hot'))[0]!.time);
    clock.advance(sentAt + 2_000 - clock.now());
    const again = await prepareRules(server);
    device = await again.connect('restart-1');
    await send(device, 'restart-1', { temperature: 32 });
    await eventually(async () => (await history(server, 'hot')).length === 2, 10_000);
    const [latest] = await history(server, 'hot');
    assert.deepEqual(latest!.actions, [{ id: 'hook', type: 'webhook', outcome: 'suppressed' }]);
    assert.equal(hook.received.length, 1);
    await device.endAsync();
    await server.stop();
  });
});
