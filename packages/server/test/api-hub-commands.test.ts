/**
 * Commands (CENTRAL_API.md §1.2 Commands) and cloud-to-device messages (our extension) over
 * REST, against MQTT devices: 201 answers, component method names `{c}*{name}`, the history,
 * offline (404) and silent (504) devices with the recorded command in `error.details`,
 * validation (422) and the full C2D queue (403). Timeouts run at 1 "second" = 20 ms.
 */
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { after, before, describe, it } from 'node:test';

import { C2D_QUEUE_DEPTH } from '@gatehouse/protocol';

import type { CloudToDeviceMessage, DeviceCommand } from '../src/hub/hub-api.js';
import { expectError } from './helpers/api-harness.js';
import { apiHubHarness, type ApiHubHarness } from './helpers/api-hub-harness.js';
import { answerMethods } from './helpers/hub-device.js';
import { eventually, nextMessage } from './helpers/hub-harness.js';

/** expectError, for the errors that also carry `error.details.command`; returns that command. */
function expectCommandError(res: LightMyRequestResponse, status: number, code: string): DeviceCommand {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.headers['x-ms-error-code'], code);
  const body = res.json() as { error: Record<string, unknown> };
  assert.deepEqual(Object.keys(body), ['error']);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'details', 'message', 'requestId', 'time']);
  assert.equal(body.error['code'], code);
  assert.equal(body.error['requestId'], res.headers['x-ms-request-id']);
  const details = body.error['details'] as { command: DeviceCommand };
  assert.deepEqual(Object.keys(details), ['command']);
  return details.command;
}

describe('REST commands over the hub', () => {
  let h: ApiHubHarness;
  const seen: string[] = [];

  before(async () => {
    h = await apiHubHarness();
    const client = await h.connect('cmd-dev', ['$iothub/methods/POST/#']);
    answerMethods(client, (name, payload) => {
      seen.push(name);
      if (name === 'silent') return undefined;
      if (name === 'reboot') return [200, { rebootedIn: payload }];
      if (name === 'thermostat1*getMaxMinReport') return [200, { maxTemp: 30 }];
      return [404, `unknown method ${name}`];
    });
    await h.addDevice('cmd-offline');
    // Connected, but without the methods subscription: still offline for commands.
    await h.connect('cmd-unsubscribed');
  });
  after(async () => h.close());

  it('POST runs a command: 201 DeviceCommand with the response', async () => {
    const res = await h.call('POST', '/api/devices/cmd-dev/commands/reboot?api-version=2022-07-31', {
      request: 5,
      responseTimeout: 10,
    });
    assert.equal(res.statusCode, 201, res.body);
    const c = res.json() as DeviceCommand;
    assert.equal(c.name, 'reboot');
    assert.equal(c.request, 5);
    assert.deepEqual(c.response, { rebootedIn: 5 });
    assert.equal(c.responseCode, 200);
    assert.equal(c.connectionTimeout, 0);
    assert.equal(c.responseTimeout, 10);
    assert.equal(c.status, 'completed');
    assert.match(c.id, /^[0-9a-f-]{36}$/);

    const unknown = await h.call('POST', '/api/devices/cmd-dev/commands/nope');
    assert.equal(unknown.statusCode, 201, 'a device error is still a completed command');
    assert.equal((unknown.json() as DeviceCommand).responseCode, 404);
  });

  it('GET lists the history of a command name', async () => {
    const res = await h.call('GET', '/api/devices/cmd-dev/commands/reboot');
    assert.equal(res.statusCode, 200);
    const { value } = res.json() as { value: DeviceCommand[] };
    assert.equal(value.length, 1);
    assert.equal(value[0]?.status, 'completed');
    assert.deepEqual(value[0]?.response, { rebootedIn: 5 });
    assert.deepEqual((await h.call('GET', '/api/devices/cmd-dev/commands/never')).json(), { value: [] });
  });

  it('a component command reaches the device as {component}*{name}, with its own history', async () => {
    const res = await h.call('POST', '/api/devices/cmd-dev/components/thermostat1/commands/getMaxMinReport', {
      request: '2024-05-01T00:00:00Z',
    });
    assert.equal(res.statusCode, 201, res.body);
    const c = res.json() as DeviceCommand;
    assert.deepEqual(c.response, { maxTemp: 30 });
    assert.equal(c.name, 'thermostat1*getMaxMinReport');
    assert.ok(seen.includes('thermostat1*getMaxMinReport'));
    const history = (
      (
        await h.call('GET', '/api/devices/cmd-dev/components/thermostat1/commands/getMaxMinReport')
      ).json() as {
        value: DeviceCommand[];
      }
    ).value;
    assert.deepEqual(
      history.map((x) => x.id),
      [c.id],
    );
    assert.deepEqual((await h.call('GET', '/api/devices/cmd-dev/commands/getMaxMinReport')).json(), {
      value: [],
    });
    expectError(
      await h.call('POST', '/api/devices/cmd-dev/components/a*b/commands/x', {}),
      400,
      'ERR_INVALID_ID',
      /component/,
    );
  });

  it('an offline device answers 404 ERR_DEVICE_OFFLINE with the recorded command', async () => {
    for (const id of ['cmd-offline', 'cmd-unsubscribed']) {
      const res = await h.call('POST', `/api/devices/${id}/commands/reboot`, {
        request: { delay: 1 },
        connectionTimeout: 1,
      });
      const command = expectCommandError(res, 404, 'ERR_DEVICE_OFFLINE');
      assert.equal(command.status, 'deviceOffline');
      assert.equal(command.name, 'reboot');
      assert.deepEqual(command.request, { delay: 1 });
      assert.equal(command.connectionTimeout, 1);
      const history = (
        (await h.call('GET', `/api/devices/${id}/commands/reboot`)).json() as { value: DeviceCommand[] }
      ).value;
      assert.deepEqual(history, [command], 'the error body is the recorded command');
    }
  });

  it('a device that does not answer gives 504 ERR_COMMAND_TIMEOUT with the recorded command', async () => {
    const started = Date.now();
    const res = await h.call('POST', '/api/devices/cmd-dev/commands/silent', { responseTimeout: 5 });
    const command = expectCommandError(res, 504, 'ERR_COMMAND_TIMEOUT');
    assert.ok(Date.now() - started < 3000, 'the test hook shortens the seconds');
    assert.equal(command.status, 'timeout');
    assert.equal(command.responseTimeout, 5);
    assert.equal(command.response, undefined);
    const history = (
      (await h.call('GET', '/api/devices/cmd-dev/commands/silent')).json() as { value: DeviceCommand[] }
    ).value;
    assert.deepEqual(history, [command]);
  });

  it('refuses invalid command requests with 422 ERR_COMMAND_INVALID', async () => {
    for (const body of [
      { responseTimeout: 4 },
      { responseTimeout: 31 },
      { responseTimeout: '10' },
      { connectionTimeout: -1 },
      { connectionTimeout: 31 },
      // Whole seconds only: a fractional one was stored in an integer column (500 on PostgreSQL).
      { connectionTimeout: 0.5 },
      { responseTimeout: 5.5 },
      [],
      '"reboot"',
      { request: 'x'.repeat(200 * 1024) },
    ]) {
      expectError(
        await h.call('POST', '/api/devices/cmd-dev/commands/reboot', body),
        422,
        'ERR_COMMAND_INVALID',
      );
    }
    for (const name of ['a+b', 'a%23b', 'sp%20ace', 'q%3F']) {
      expectError(
        await h.call('POST', `/api/devices/cmd-dev/commands/${name}`, {}),
        422,
        'ERR_COMMAND_INVALID',
      );
    }
  });
});

describe('REST cloud-to-device messages over the hub', () => {
  let h: ApiHubHarness;

  before(async () => {
    h = await apiHubHarness();
  });
  after(async () => h.close());

  it('POST queues a message (201) that a connected device receives; GET lists it delivered', async () => {
    const client = await h.connect('c2d-dev', ['devices/c2d-dev/messages/devicebound/#']);
    const received = nextMessage(client, 'devices/c2d-dev/messages/devicebound/');
    const res = await h.call('POST', '/api/devices/c2d-dev/messages', {
      body: { setpoint: 21 },
      properties: { kind: 'config' },
      ttl: 60,
      messageId: 'msg-1',
      correlationId: 'corr-1',
    });
    assert.equal(res.statusCode, 201, res.body);
    const sent = res.json() as CloudToDeviceMessage;
    assert.equal(sent.deviceId, 'c2d-dev');
    assert.equal(sent.messageId, 'msg-1');
    assert.equal(sent.state, 'queued');
    assert.deepEqual(sent.properties, { kind: 'config' });
    assert.ok(Date.parse(sent.expiry) - Date.parse(sent.created) === 60_000);

    const message = await received;
    assert.deepEqual(JSON.parse(message.payload.toString()), { setpoint: 21 });
    assert.match(message.topic, /kind=config/);
    assert.equal(message.qos, 1);
    await eventually(async () => {
      const { value } = (await h.call('GET', '/api/devices/c2d-dev/messages')).json() as {
        value: CloudToDeviceMessage[];
      };
      return value.length === 1 && value[0]?.state === 'delivered' && value[0].delivered !== null;
    });
  });

  it('refuses invalid messages with 422 ERR_C2D_INVALID', async () => {
    await h.addDevice('c2d-offline');
    for (const body of [
      {},
      { properties: {} },
      { body: 'x', ttl: 0 },
      { body: 'x', ttl: 172_801 },
      { body: 'x', properties: { n: 1 } },
      { body: 'x', properties: { $sys: 'x' } },
      { body: 'x', messageId: '' },
      { body: 'x'.repeat(300 * 1024) },
      [],
      '"text"',
    ]) {
      expectError(await h.call('POST', '/api/devices/c2d-offline/messages', body), 422, 'ERR_C2D_INVALID');
    }
    assert.deepEqual((await h.call('GET', '/api/devices/c2d-offline/messages')).json(), { value: [] });
  });

  it('a full queue answers 403 ERR_C2D_QUEUE_FULL', async () => {
    await h.addDevice('c2d-full');
    for (let i = 0; i < C2D_QUEUE_DEPTH; i++) {
      const res = await h.call('POST', '/api/devices/c2d-full/messages', { body: `m${i}` });
      assert.equal(res.statusCode, 201, res.body);
    }
    expectError(
      await h.call('POST', '/api/devices/c2d-full/messages', { body: 'one too many' }),
      403,
      'ERR_C2D_QUEUE_FULL',
    );
    const { value } = (await h.call('GET', '/api/devices/c2d-full/messages')).json() as {
      value: CloudToDeviceMessage[];
    };
    assert.equal(value.length, C2D_QUEUE_DEPTH);
    assert.ok(value.every((m) => m.state === 'queued'));
  });
});
