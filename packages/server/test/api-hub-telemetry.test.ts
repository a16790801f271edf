/**
 * Telemetry and properties over REST (CENTRAL_API.md §1.2 Telemetry, Properties, §5.3): last
 * known values per device and component, the message history with its query, and writable
 * properties that reach a connected MQTT device as desired patches and come back acknowledged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { MqttClient } from 'mqtt';

import type { TelemetryMessageRecord } from '../src/hub/hub-api.js';
import { expectError } from './helpers/api-harness.js';
import { apiHubHarness, type ApiHubHarness } from './helpers/api-hub-harness.js';
import { twinPatchReported } from './helpers/hub-device.js';
import { nextMessage } from './helpers/hub-harness.js';

describe('REST telemetry over the hub', () => {
  let h: ApiHubHarness;
  let client: MqttClient;
  let middle: string;

  before(async () => {
    h = await apiHubHarness();
    client = await h.connect('sensor-1');
    const events = 'devices/sensor-1/messages/events/';
    await client.publishAsync(events, JSON.stringify({ temp: 20, humid: 40 }), { qos: 1 });
    await new Promise((r) => setTimeout(r, 15));
    middle = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 15));
    await client.publishAsync(events, JSON.stringify({ temp: 21 }), { qos: 1 });
    await client.publishAsync(
      `${events}%24.sub=thermostat1&%24.ct=application%2Fjson&alert=high`,
      JSON.stringify({ temp: 30 }),
      {
        qos: 1,
      },
    );
    await client.publishAsync(events, 'plain text', { qos: 1 });
    await h.addDevice('silent-1');
  });
  after(async () => h.close());

  it('GET telemetry/{name} answers the last value with its timestamp', async () => {
    const res = await h.call('GET', '/api/devices/sensor-1/telemetry/temp?api-version=2022-07-31');
    assert.equal(res.statusCode, 200, res.body);
    const latest = res.json() as { value: unknown; timestamp: string };
    assert.deepEqual(Object.keys(latest).sort(), ['timestamp', 'value']);
    assert.equal(latest.value, 21);
    assert.ok(!Number.isNaN(Date.parse(latest.timestamp)));
    assert.equal(
      ((await h.call('GET', '/api/devices/sensor-1/telemetry/humid')).json() as { value: number }).value,
      40,
    );
  });

  it('GET components/{c}/telemetry/{name} answers the component value', async () => {
    const res = await h.call('GET', '/api/devices/sensor-1/components/thermostat1/telemetry/temp');
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((res.json() as { value: unknown }).value, 30);
    expectError(
      await h.call('GET', '/api/devices/sensor-1/components/thermostat2/telemetry/temp'),
      404,
      'ERR_TELEMETRY_NOT_FOUND',
    );
  });

  it('a field never sent answers 404 ERR_TELEMETRY_NOT_FOUND; a bad component name 400', async () => {
    expectError(
      await h.call('GET', '/api/devices/sensor-1/telemetry/pressure'),
      404,
      'ERR_TELEMETRY_NOT_FOUND',
    );
    expectError(await h.call('GET', '/api/devices/silent-1/telemetry/temp'), 404, 'ERR_TELEMETRY_NOT_FOUND');
    for (const c of ['1abc', 'a*b', 'a_', 'x'.repeat(65), 'a%20b']) {
      expectError(
        await h.call('GET', `/api/devices/sensor-1/components/${c}/telemetry/temp`),
        400,
        'ERR_INVALID_ID',
        /component/,
      );
    }
  });

  it('GET telemetry lists the history, oldest first, and filters by time, name, component and limit', async () => {
    const list = async (query = '') => {
      const res = await h.call('GET', `/api/devices/sensor-1/telemetry${query}`);
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as { value: TelemetryMessageRecord[] };
      assert.deepEqual(Object.keys(body), ['value']);
      return body.value;
    };
    const all = await list();
    assert.equal(all.length, 4);
    assert.deepEqual(
      all.map((m) => m.body),
      [{ temp: 20, humid: 40 }, { temp: 21 }, { temp: 30 }, 'plain text'],
    );
    assert.deepEqual(
      all.map((m) => m.bodyEncoding),
      ['json', 'json', 'json', 'text'],
    );
    const component = all[2];
    assert.equal(component?.component, 'thermostat1');
    assert.equal(component?.deviceId, 'sensor-1');
    assert.deepEqual(component?.properties, { alert: 'high' });
    assert.equal(component?.systemProperties['$.ct'], 'application/json');

    assert.equal((await list(`?from=${middle}`)).length, 3);
    assert.equal((await list(`?to=${encodeURIComponent(middle)}`)).length, 1);
    assert.deepEqual(
      (await list('?name=humid')).map((m) => m.body),
      [{ temp: 20, humid: 40 }],
    );
    assert.deepEqual(
      (await list('?component=thermostat1')).map((m) => m.body),
      [{ temp: 30 }],
    );
    assert.deepEqual(
      (await list('?limit=2')).map((m) => m.body),
      [{ temp: 30 }, 'plain text'],
    );
    assert.equal((await list('?from=2000-01-01&to=2000-01-02')).length, 0);
    assert.equal((await list('?name=&component=')).length, 4, 'empty parameters are absent');
    const silent = await h.call('GET', '/api/devices/silent-1/telemetry');
    assert.deepEqual(silent.json(), { value: [] });
  });

  it('refuses a bad history query with 422', async () => {
    for (const query of [
      '?from=yesterday',
      '?to=2024-13-45T00:00:00Z',
      '?from=1714557600000',
      '?limit=0',
      '?limit=10001',
      '?limit=ten',
      '?limit=-1',
      `?from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z`,
    ]) {
      expectError(
        await h.call('GET', `/api/devices/sensor-1/telemetry${query}`),
        422,
        'ERR_TELEMETRY_QUERY_INVALID',
        undefined,
      );
    }
  });
});

describe('REST properties over the hub', () => {
  let h: ApiHubHarness;
  let client: MqttClient;

  before(async () => {
    h = await apiHubHarness();
    client = await h.connect('thermo', ['$iothub/twin/res/#', '$iothub/twin/PATCH/properties/desired/#']);
  });
  after(async () => h.close());

  it('GET answers an empty $metadata before anything is set', async () => {
    const res = await h.call('GET', '/api/devices/thermo/properties');
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { $metadata: {} });
  });

  it('PATCH answers 202 with the echo; the device gets the desired patch and its ack shows in GET', async () => {
    const desired = nextMessage(client, '$iothub/twin/PATCH/properties/desired/');
    const res = await h.call('PATCH', '/api/devices/thermo/properties', { targetTemperature: 57 });
    assert.equal(res.statusCode, 202, res.body);
    assert.deepEqual(res.json(), {
      targetTemperature: 57,
      $metadata: { targetTemperature: { desiredValue: 57 } },
    });
    const message = await desired;
    const patch = JSON.parse(message.payload.toString()) as Record<string, unknown>;
    assert.equal(patch['targetTemperature'], 57);
    const version = patch['$version'] as number;
    assert.equal(message.topic, `$iothub/twin/PATCH/properties/desired/?$version=${version}`);

    const ack = await twinPatchReported(
      client,
      JSON.stringify({
        targetTemperature: { value: 57, ac: 200, av: version, ad: 'done' },
        serialNumber: 'abc',
      }),
    );
    assert.equal(ack.status, 204);
    const got = (await h.call('GET', '/api/devices/thermo/properties')).json() as Record<string, unknown>;
    assert.equal(got['targetTemperature'], 57);
    assert.equal(got['serialNumber'], 'abc');
    const meta = (got['$metadata'] as Record<string, Record<string, unknown>>)['targetTemperature'];
    assert.equal(meta?.['desiredValue'], 57);
    assert.equal(meta?.['desiredVersion'], version);
    assert.equal(meta?.['ackCode'], 200);
    assert.equal(meta?.['ackVersion'], version);
    assert.equal(meta?.['ackDescription'], 'done');
  });

  it('PATCH takes application/merge-patch+json; PUT (202) replaces the desired values', async () => {
    const first = nextMessage(client, '$iothub/twin/PATCH/properties/desired/');
    const merged = await h.call(
      'PATCH',
      '/api/devices/thermo/properties',
      JSON.stringify({ mode: 'eco' }),
      undefined,
      { 'content-type': 'application/merge-patch+json' },
    );
    assert.equal(merged.statusCode, 202, merged.body);
    assert.equal((JSON.parse((await first).payload.toString()) as { mode: string }).mode, 'eco');

    const desired = nextMessage(client, '$iothub/twin/PATCH/properties/desired/');
    const res = await h.call('PUT', '/api/devices/thermo/properties', {
      targetTemperature: 60,
      $metadata: { ignored: true },
    });
    assert.equal(res.statusCode, 202, res.body);
    assert.deepEqual(res.json(), {
      targetTemperature: 60,
      $metadata: { targetTemperature: { desiredValue: 60 } },
    });
    const patch = JSON.parse((await desired).payload.toString()) as Record<string, unknown>;
    assert.equal(patch['targetTemperature'], 60);
    assert.equal(patch['mode'], null, 'PUT removes desired values it does not list');
  });

  it('refuses bodies that are not an object of property names (422)', async () => {
    for (const body of [[], '"text"', '42', 'null', { $version: 3 }, { '': 1 }]) {
      expectError(await h.call('PUT', '/api/devices/thermo/properties', body), 422, 'ERR_PROPERTIES_INVALID');
      expectError(
        await h.call('PATCH', '/api/devices/thermo/properties', body),
        422,
        'ERR_PROPERTIES_INVALID',
      );
    }
    expectError(
      await h.call('PATCH', '/api/devices/thermo/properties', 'x=1', undefined, {
        'content-type': 'application/x-www-form-urlencoded',
      }),
      415,
      'ERR_UNSUPPORTED_MEDIA_TYPE',
    );
  });

  it('a disconnected device keeps desired values for later', async () => {
    await h.addDevice('offline-thermo');
    const res = await h.call('PATCH', '/api/devices/offline-thermo/properties', { targetTemperature: 18 });
    assert.equal(res.statusCode, 202);
    const got = (await h.call('GET', '/api/devices/offline-thermo/properties')).json() as {
      $metadata: Record<string, { desiredValue?: unknown }>;
    };
    assert.equal(got.$metadata['targetTemperature']?.desiredValue, 18);
  });
});
