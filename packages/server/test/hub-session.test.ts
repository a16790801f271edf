/**
 * Persistent sessions (PROTOCOL.md §3.9): the SDK reconnects with clean=false and subscribes
 * nothing again, so methods, twin answers, desired patches and C2D must keep working from the
 * stored subscription set — across reconnects and across a server restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Issued } from '@gatehouse/pki';
import type { MqttClient } from 'mqtt';

import { answerMethods, subscribeAll, twinGet } from './helpers/hub-device.js';
import {
  connectDevice,
  createHubPki,
  eventually,
  insertDevice,
  nextMessage,
  selfSigned,
  sessionPresent,
  startHub,
  type HubHarness,
  type HubPki,
} from './helpers/hub-harness.js';

describe('hub: persistent sessions', () => {
  let pki: HubPki;
  let h: HubHarness;
  let cert: Issued;
  const ID = 'persist-dev';

  before(async () => {
    pki = await createHubPki();
    h = await startHub(pki);
    cert = await selfSigned(ID);
    await insertDevice(h, ID, { primary: cert });
  });

  after(async () => {
    await h.destroy();
  });

  function connect(clean = false): Promise<MqttClient> {
    return connectDevice(h, pki, ID, { identity: cert, clean });
  }

  /** Every cloud-to-device feature, with no SUBSCRIBE on this connection. */
  async function everythingWorks(client: MqttClient, round: string): Promise<void> {
    answerMethods(client, (name, payload) => [200, { name, payload, round }]);
    const command = await h.hub.runCommand(ID, 'echo', { request: { round } });
    assert.equal(command.status, 'completed');
    assert.deepEqual(command.response, { name: 'echo', payload: { round }, round });

    const twin = await twinGet(client);
    assert.equal(twin.status, 200);
    assert.ok(JSON.parse(twin.body).desired);

    const desired = nextMessage(client, '$iothub/twin/PATCH/properties/desired/');
    const version = await h.hub.sendDesired(ID, { round });
    const patch = await desired;
    assert.deepEqual(JSON.parse(patch.payload.toString()), { round, $version: version });

    const c2d = nextMessage(client, `devices/${ID}/messages/devicebound/`);
    await h.hub.sendMessage(ID, { body: `hello ${round}` });
    assert.equal((await c2d).payload.toString(), `hello ${round}`);
  }

  it('restores the subscriptions of a clean=false session on reconnect (sessionPresent)', async () => {
    const first = await connect();
    assert.equal(sessionPresent(first), false);
    await subscribeAll(first, ID);
    await first.endAsync();
    await eventually(() => !h.hub.isConnected(ID));

    const second = await connect();
    assert.equal(sessionPresent(second), true);
    await eventually(() => h.hub.isConnected(ID));
    await everythingWorks(second, 'reconnect');
    await second.endAsync();
  });

  it('keeps the session across a server restart', async () => {
    await h.stop();
    h = await startHub(pki, { dir: h.dir });
    const client = await connect();
    await everythingWorks(client, 'restart');
    await client.endAsync();
  });

  it('drops the session on clean=true', async () => {
    const client = await connect(true);
    assert.equal(sessionPresent(client), false);
    await client.endAsync();
    const rows = await h.store.db
      .selectFrom('hub_sessions')
      .selectAll()
      .where('device_id', '=', ID)
      .execute();
    assert.equal(rows.length, 0);
    const again = await connect();
    assert.equal(sessionPresent(again), false);
    await assert.rejects(h.hub.runCommand(ID, 'echo', {}), { code: 'ERR_DEVICE_OFFLINE' });
    await again.endAsync();
  });
});
