/**
 * `/api/devices[/{id}]` served by the hub (CENTRAL_API.md §1.2 Devices, §3): list, PUT
 * (create or replace, 200), PATCH (merge, JSON or merge-patch), DELETE (204), live status,
 * validation, etags, ID patterns and authorization, over a real HubService and MQTT devices.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Device } from '../src/hub/hub-api.js';
import { expectError, OPERATOR, BUILDER } from './helpers/api-harness.js';
import { apiHubHarness, type ApiHubHarness } from './helpers/api-hub-harness.js';
import { closed, eventually } from './helpers/hub-harness.js';

describe('REST devices over the hub', () => {
  let h: ApiHubHarness;

  before(async () => {
    h = await apiHubHarness();
  });
  after(async () => h.close());

  const device = async (id: string) => {
    const res = await h.call('GET', `/api/devices/${id}`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as Device;
  };

  it('PUT creates a device (200, not provisioned), GET and the list show it with its status', async () => {
    assert.deepEqual((await h.call('GET', '/api/devices')).json(), { value: [] });
    const res = await h.call('PUT', '/api/devices/thermostat-1?api-version=2022-07-31', {
      displayName: 'Thermostat 1',
      template: 'dtmi:com:example:Thermostat;1',
      simulated: true,
    });
    assert.equal(res.statusCode, 200, res.body);
    const created = res.json() as Device;
    assert.deepEqual(
      { ...created, etag: undefined },
      {
        id: 'thermostat-1',
        etag: undefined,
        displayName: 'Thermostat 1',
        template: 'dtmi:com:example:Thermostat;1',
        enabled: true,
        provisioned: false,
        simulated: true,
        status: { connected: false, lastActivity: null, lastConnected: null },
      },
    );
    assert.equal(typeof created.etag, 'string');
    assert.deepEqual(await device('thermostat-1'), created);
    assert.deepEqual((await h.call('GET', '/api/devices')).json(), { value: [created] });
  });

  it('PATCH merges (application/json and application/merge-patch+json); PUT replaces', async () => {
    const before = await device('thermostat-1');
    const patched = await h.call('PATCH', '/api/devices/thermostat-1', { displayName: 'Hall' });
    assert.equal(patched.statusCode, 200, patched.body);
    const p = patched.json() as Device;
    assert.equal(p.displayName, 'Hall');
    assert.equal(p.template, before.template);
    assert.equal(p.simulated, true);
    assert.notEqual(p.etag, before.etag);

    const merge = await h.call(
      'PATCH',
      '/api/devices/thermostat-1',
      JSON.stringify({ template: null, etag: p.etag }),
      undefined,
      { 'content-type': 'application/merge-patch+json' },
    );
    assert.equal(merge.statusCode, 200, merge.body);
    assert.equal((merge.json() as Device).template, undefined);
    assert.equal((merge.json() as Device).displayName, 'Hall');

    const replaced = await h.call('PUT', '/api/devices/thermostat-1', { displayName: 'Replaced' });
    assert.equal(replaced.statusCode, 200);
    const r = replaced.json() as Device;
    assert.equal(r.displayName, 'Replaced');
    assert.equal(r.simulated, false, 'PUT resets omitted fields');
  });

  it('honours etags (412) and refuses invalid device bodies (422)', async () => {
    expectError(
      await h.call('PATCH', '/api/devices/thermostat-1', { displayName: 'x', etag: 'stale' }),
      412,
      'ERR_ETAG_MISMATCH',
    );
    expectError(
      await h.call('PUT', '/api/devices/thermostat-1', { etag: 'stale' }),
      412,
      'ERR_ETAG_MISMATCH',
    );
    const cases: unknown[] = [
      { enabled: 'yes' },
      { simulated: 1 },
      { displayName: '' },
      { displayName: 'x'.repeat(149) },
      { template: 42 },
      { etag: 7 },
      [],
      '"a string"',
      '42',
    ];
    for (const body of cases) {
      expectError(await h.call('PUT', '/api/devices/bad-body', body), 422, 'ERR_DEVICE_INVALID');
      expectError(await h.call('PATCH', '/api/devices/thermostat-1', body), 422, 'ERR_DEVICE_INVALID');
    }
    expectError(await h.call('PUT', '/api/devices/bad-body', '{"x":'), 400, 'ERR_BAD_REQUEST', /JSON/);
    expectError(await h.call('GET', '/api/devices/bad-body'), 404, 'ERR_DEVICE_NOT_FOUND');
  });

  it('DELETE answers 204, then the device is gone (404)', async () => {
    assert.equal((await h.call('PUT', '/api/devices/doomed', {})).statusCode, 200);
    const res = await h.call('DELETE', '/api/devices/doomed');
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, '');
    expectError(await h.call('GET', '/api/devices/doomed'), 404, 'ERR_DEVICE_NOT_FOUND');
    expectError(await h.call('DELETE', '/api/devices/doomed'), 404, 'ERR_DEVICE_NOT_FOUND');
    expectError(await h.call('PATCH', '/api/devices/doomed', {}), 404, 'ERR_DEVICE_NOT_FOUND');
  });

  it('shows the live status of a connected device, and disabling it closes the connection', async () => {
    const client = await h.connect('live-1');
    const live = await device('live-1');
    assert.equal(live.status.connected, true);
    assert.equal(typeof live.status.lastConnected, 'string');
    const gone = closed(client);
    const res = await h.call('PATCH', '/api/devices/live-1', { enabled: false });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((res.json() as Device).enabled, false);
    await gone;
    await eventually(async () => !(await device('live-1')).status.connected);
  });

  it('deleting a connected device closes its connection', async () => {
    const client = await h.connect('live-2');
    const gone = closed(client);
    assert.equal((await h.call('DELETE', '/api/devices/live-2')).statusCode, 204);
    await gone;
  });

  it('refuses device IDs that break the pattern (400) on every device route', async () => {
    const routes: Array<[string, string, unknown?]> = [
      ['GET', ''],
      ['PUT', '', {}],
      ['PATCH', '', {}],
      ['DELETE', ''],
      ['GET', '/telemetry/temp'],
      ['GET', '/components/c1/telemetry/temp'],
      ['GET', '/telemetry'],
      ['GET', '/properties'],
      ['PUT', '/properties', {}],
      ['PATCH', '/properties', {}],
      ['POST', '/commands/reboot', {}],
      ['GET', '/commands/reboot'],
      ['POST', '/components/c1/commands/reboot', {}],
      ['GET', '/components/c1/commands/reboot'],
      ['POST', '/messages', { body: 'x' }],
      ['GET', '/messages'],
      ['GET', '/events'],
    ];
    for (const id of ['-leading-dash', 'sp%20ace', 'x'.repeat(129), 'caf%C3%A9']) {
      for (const [method, suffix, body] of routes) {
        expectError(
          await h.call(method, `/api/devices/${id}${suffix}`, body),
          400,
          'ERR_INVALID_ID',
          /deviceId/,
        );
      }
    }
  });

  it('answers 404 for an unknown device on every device route', async () => {
    const routes: Array<[string, string, unknown?]> = [
      ['GET', ''],
      ['PATCH', '', {}],
      ['DELETE', ''],
      ['GET', '/telemetry/temp'],
      ['GET', '/components/c1/telemetry/temp'],
      ['GET', '/telemetry'],
      ['GET', '/properties'],
      ['PUT', '/properties', {}],
      ['PATCH', '/properties', {}],
      ['POST', '/commands/reboot', {}],
      ['GET', '/commands/reboot'],
      ['POST', '/components/c1/commands/reboot', {}],
      ['GET', '/components/c1/commands/reboot'],
      ['POST', '/messages', { body: 'x' }],
      ['GET', '/messages'],
      ['GET', '/events'],
    ];
    for (const [method, suffix, body] of routes) {
      expectError(
        await h.call(method, `/api/devices/nobody${suffix}`, body),
        404,
        'ERR_DEVICE_NOT_FOUND',
        /nobody/,
      );
    }
  });

  it('answers 405 with Allow for a known path and the wrong method', async () => {
    const res = await h.call('POST', '/api/devices/thermostat-1', {});
    expectError(res, 405, 'ERR_METHOD_NOT_ALLOWED');
    assert.equal(res.headers['allow'], 'DELETE, GET, HEAD, PATCH, PUT');
    const events = await h.call('POST', '/api/events', {});
    expectError(events, 405, 'ERR_METHOD_NOT_ALLOWED');
    assert.equal(events.headers['allow'], 'GET', 'no HEAD on an event stream');
    const head = await h.call('HEAD', '/api/devices/thermostat-1/events');
    assert.equal(head.statusCode, 405);
    assert.equal(head.headers['x-ms-error-code'], 'ERR_METHOD_NOT_ALLOWED');
  });
});

describe('REST devices over the hub: OpenAPI', () => {
  it('documents every device, telemetry, property, command, message, tag and event route', async () => {
    const h = await apiHubHarness();
    try {
      const res = await h.call('GET', '/api/openapi.json', undefined, null);
      assert.equal(res.statusCode, 200);
      const doc = res.json() as {
        paths: Record<
          string,
          Record<
            string,
            { summary?: string; tags?: string[]; parameters?: Array<{ name: string; in: string }> }
          >
        >;
      };
      const expected: Array<[string, string[]]> = [
        ['/api/devices', ['get']],
        ['/api/devices/{id}', ['get', 'put', 'patch', 'delete']],
        ['/api/devices/{id}/attestation', ['get', 'put', 'delete']],
        ['/api/devices/{id}/credentials', ['get']],
        ['/api/devices/{id}/telemetry', ['get']],
        ['/api/devices/{id}/telemetry/{name}', ['get']],
        ['/api/devices/{id}/components/{component}/telemetry/{name}', ['get']],
        ['/api/devices/{id}/telemetry/{name}/series', ['get']],
        ['/api/devices/{id}/components/{component}/telemetry/{name}/series', ['get']],
        ['/api/devices/{id}/properties', ['get', 'put', 'patch']],
        ['/api/devices/{id}/commands/{name}', ['get', 'post']],
        ['/api/devices/{id}/components/{component}/commands/{name}', ['get', 'post']],
        ['/api/devices/{id}/components/{component}/properties', ['get', 'patch', 'put']],
        ['/api/devices/{id}/messages', ['get', 'post']],
        ['/api/devices/{id}/tags', ['get', 'put', 'patch']],
        ['/api/devices/{id}/events', ['get']],
        ['/api/events', ['get']],
      ];
      for (const [path, methods] of expected) {
        assert.deepEqual(Object.keys(doc.paths[path] ?? {}).sort(), [...methods].sort(), path);
        for (const m of methods) {
          const op = doc.paths[path]?.[m];
          assert.ok(op?.summary, `${m} ${path} has a summary`);
          assert.ok(op?.tags?.length, `${m} ${path} has tags`);
        }
      }
      const devicePaths = Object.keys(doc.paths).filter(
        (p) => p.startsWith('/api/devices') || p === '/api/events',
      );
      assert.deepEqual(devicePaths.sort(), expected.map(([p]) => p).sort(), 'no undocumented extra');
      for (const path of ['/api/events', '/api/devices/{id}/events']) {
        const op = doc.paths[path]?.['get'];
        assert.match(
          String(op?.summary),
          /access_token/,
          'the summary tells EventSource users about access_token',
        );
        assert.ok(op?.parameters?.some((p) => p.name === 'access_token' && p.in === 'query'));
      }
      const history = doc.paths['/api/devices/{id}/telemetry']?.['get']?.parameters?.map((p) => p.name) ?? [];
      for (const name of ['from', 'to', 'name', 'component', 'limit'])
        assert.ok(history.includes(name), name);
    } finally {
      await h.close();
    }
  });
});

describe('REST devices over the hub: authorization', () => {
  let h: ApiHubHarness;
  let operator: string;
  let builder: string;

  before(async () => {
    h = await apiHubHarness();
    operator = `Bearer ${(await h.api.token('operator', [OPERATOR])).secret}`;
    builder = `Bearer ${(await h.api.token('builder', [BUILDER])).secret}`;
    assert.equal((await h.call('PUT', '/api/devices/dev-a', {})).statusCode, 200);
  });
  after(async () => h.close());

  it('an Operator reads devices, properties, command history and messages', async () => {
    for (const url of [
      '/api/devices',
      '/api/devices/dev-a',
      '/api/devices/dev-a/properties',
      '/api/devices/dev-a/telemetry',
      '/api/devices/dev-a/commands/reboot',
      '/api/devices/dev-a/components/c1/commands/reboot',
      '/api/devices/dev-a/messages',
    ]) {
      const res = await h.call('GET', url, undefined, operator);
      assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    }
  });

  it('an Operator may not create, change or delete devices', async () => {
    const writes: Array<[string, string, unknown?]> = [
      ['PUT', '/api/devices/dev-b', {}],
      ['PATCH', '/api/devices/dev-a', { enabled: false }],
      ['DELETE', '/api/devices/dev-a'],
    ];
    for (const [method, url, body] of writes) {
      expectError(await h.call(method, url, body, operator), 403, 'ERR_FORBIDDEN');
    }
    const a = (await h.call('GET', '/api/devices/dev-a')).json() as Device;
    assert.equal(a.enabled, true);
    expectError(await h.call('GET', '/api/devices/dev-b'), 404, 'ERR_DEVICE_NOT_FOUND');
  });

  it('an Operator operates devices: sets writable properties, runs commands, sends messages', async () => {
    assert.equal(
      (await h.call('PATCH', '/api/devices/dev-a/properties', { target: 1 }, operator)).statusCode,
      202,
    );
    assert.equal(
      (await h.call('PUT', '/api/devices/dev-a/properties', { target: 2 }, operator)).statusCode,
      202,
    );
    // dev-a is offline: the command is allowed, and refused by the device's state, not the role.
    const offline = await h.call('POST', '/api/devices/dev-a/commands/reboot', {}, operator);
    assert.equal(offline.statusCode, 404);
    assert.equal((offline.json() as { error: { code: string } }).error.code, 'ERR_DEVICE_OFFLINE');
    assert.equal(
      (await h.call('POST', '/api/devices/dev-a/messages', { body: 'x' }, operator)).statusCode,
      201,
    );
  });

  it('a Builder writes devices and properties', async () => {
    assert.equal((await h.call('PUT', '/api/devices/dev-c', {}, builder)).statusCode, 200);
    assert.equal((await h.call('PATCH', '/api/devices/dev-a/properties', { t: 1 }, builder)).statusCode, 202);
    assert.equal((await h.call('DELETE', '/api/devices/dev-c', undefined, builder)).statusCode, 204);
  });

  it('every route asks for credentials', async () => {
    for (const [method, url] of [
      ['GET', '/api/devices'],
      ['GET', '/api/devices/dev-a'],
      ['PUT', '/api/devices/dev-a'],
      ['GET', '/api/devices/dev-a/telemetry/temp'],
      ['GET', '/api/devices/dev-a/properties'],
      ['POST', '/api/devices/dev-a/commands/reboot'],
      ['POST', '/api/devices/dev-a/messages'],
      ['GET', '/api/events'],
      ['GET', '/api/devices/dev-a/events'],
    ] as const) {
      expectError(await h.call(method, url, undefined, null), 401, 'ERR_UNAUTHENTICATED');
    }
  });
});
