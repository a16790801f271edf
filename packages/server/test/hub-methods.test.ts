/**
 * Direct methods (PROTOCOL.md §3.6; CENTRAL_API.md §1.2 Commands): round trip, `null` body
 * without payload, unknown `$rid` ignored, offline and silent devices → typed errors, every
 * attempt in the history. Timeouts run at 1 "second" = 50 ms (commandSecondMs).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Issued } from '@gatehouse/pki';
import type { MqttClient } from 'mqtt';

import type { GatehouseError } from '../src/errors.js';
import { answerMethods } from './helpers/hub-device.js';
import {
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

describe('hub: direct methods', () => {
  let pki: HubPki;
  let h: HubHarness;

  before(async () => {
    pki = await createHubPki();
    h = await startHub(pki, { hub: { commandSecondMs: 50 } });
  });

  after(async () => {
    await h.destroy();
  });

  async function device(id: string, subscribe = true): Promise<{ client: MqttClient; cert: Issued }> {
    const cert = await selfSigned(id);
    await insertDevice(h, id, { primary: cert });
    const client = await connectDevice(h, pki, id, { identity: cert });
    if (subscribe) await client.subscribeAsync('$iothub/methods/POST/#', { qos: 0 });
    return { client, cert };
  }

  it('runs a command and records it in the history', async () => {
    const { client } = await device('m-round');
    answerMethods(client, (name, payload) =>
      name === 'blink' ? [200, { interval: payload }] : [404, 'unknown method'],
    );
    const events: string[] = [];
    const unsubscribe = h.hub.subscribe((e) => events.push(e.type), 'm-round');
    const command = await h.hub.runCommand('m-round', 'blink', { request: 5, responseTimeout: 10 });
    assert.equal(command.status, 'completed');
    assert.equal(command.responseCode, 200);
    assert.deepEqual(command.response, { interval: 5 });
    assert.equal(command.request, 5);
    assert.equal(command.connectionTimeout, 0);
    assert.equal(command.responseTimeout, 10);
    const unknown = await h.hub.runCommand('m-round', 'nope', {});
    assert.equal(unknown.responseCode, 404);
    assert.equal(unknown.response, 'unknown method');
    const history = await h.hub.listCommands('m-round', 'blink');
    assert.deepEqual(
      history.map((c) => [c.id, c.status, c.responseCode]),
      [[command.id, 'completed', 200]],
    );
    assert.ok(events.includes('commandCompleted'));
    unsubscribe();
    await client.endAsync();
  });

  it('sends the body null for a command without payload (§3.6)', async () => {
    const { client } = await device('m-null');
    const request = nextMessage(client, '$iothub/methods/POST/turnon/');
    const run = h.hub.runCommand('m-null', 'turnon', { responseTimeout: 5 }).catch((e: unknown) => e);
    const message = await request;
    assert.match(message.topic, /^\$iothub\/methods\/POST\/turnon\/\?\$rid=.+$/);
    assert.equal(message.payload.toString(), 'null');
    assert.equal(message.qos, 0);
    const rid = message.topic.split('$rid=')[1];
    await client.publishAsync(`$iothub/methods/res/200/?$rid=${rid}`, '', { qos: 0 });
    const result = await run;
    assert.equal((result as { status: string }).status, 'completed');
    await client.endAsync();
  });

  it('ignores (and logs) a response for an unknown $rid; a silent device times out with ERR_COMMAND_TIMEOUT', async () => {
    const { client } = await device('m-silent');
    client.on('message', (topic) => {
      if (topic.startsWith('$iothub/methods/POST/'))
        void client.publishAsync('$iothub/methods/res/200/?$rid=not-a-real-rid', '{}', { qos: 0 });
    });
    const err = (await h.hub
      .runCommand('m-silent', 'reboot', { responseTimeout: 5 })
      .catch((e: unknown) => e)) as GatehouseError;
    assert.equal(err.code, 'ERR_COMMAND_TIMEOUT');
    assert.equal(err.status, 504);
    await eventually(() => h.log.messages().includes('method response for an unknown $rid ignored'));
    const [recorded] = await h.hub.listCommands('m-silent', 'reboot');
    assert.equal(recorded?.status, 'timeout');
    assert.equal(h.hub.methods.waiting, 0);
    await client.endAsync();
  });

  it('refuses an offline device with ERR_DEVICE_OFFLINE and records it', async () => {
    await insertDevice(h, 'm-offline');
    await assert.rejects(h.hub.runCommand('m-offline', 'reboot', {}), {
      code: 'ERR_DEVICE_OFFLINE',
      status: 404,
    });
    const [recorded] = await h.hub.listCommands('m-offline', 'reboot');
    assert.equal(recorded?.status, 'deviceOffline');
    // Connected without the methods subscription counts as offline for methods.
    const { client } = await device('m-nosub', false);
    await assert.rejects(h.hub.runCommand('m-nosub', 'reboot', {}), { code: 'ERR_DEVICE_OFFLINE' });
    await client.endAsync();
  });

  it('waits up to connectionTimeout for the device to connect', async () => {
    const cert = await selfSigned('m-late');
    await insertDevice(h, 'm-late', { primary: cert });
    const run = h.hub.runCommand('m-late', 'ping', { connectionTimeout: 30, responseTimeout: 30 });
    await new Promise((r) => setTimeout(r, 100));
    const client = await connectDevice(h, pki, 'm-late', { identity: cert });
    answerMethods(client, () => [200, 'pong']);
    await client.subscribeAsync('$iothub/methods/POST/#', { qos: 0 });
    const command = await run;
    assert.equal(command.response, 'pong');
    await client.endAsync();
  });

  it('validates names and timeouts', async () => {
    await insertDevice(h, 'm-invalid');
    await assert.rejects(h.hub.runCommand('m-invalid', 'a/b', {}), { code: 'ERR_COMMAND_INVALID' });
    await assert.rejects(h.hub.runCommand('m-invalid', 'ok', { responseTimeout: 1 }), {
      code: 'ERR_COMMAND_INVALID',
    });
    await assert.rejects(h.hub.runCommand('m-invalid', 'ok', { connectionTimeout: 31 }), {
      code: 'ERR_COMMAND_INVALID',
    });
    await assert.rejects(h.hub.runCommand('nobody', 'ok', {}), { code: 'ERR_DEVICE_NOT_FOUND' });
  });
});
