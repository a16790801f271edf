/**
 * Device twins over MQTT (PROTOCOL.md §3.5) and properties over the hub API (CENTRAL_API.md
 * §1.2 Properties, §5.3): GET/PATCH with `$version`, errorCode bodies, desired notifications,
 * and `$metadata` from both ack shapes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { MqttClient } from 'mqtt';

import { twinGet, twinPatchReported } from './helpers/hub-device.js';
import {
  connectDevice,
  createHubPki,
  insertDevice,
  nextMessage,
  selfSigned,
  startHub,
  type HubHarness,
  type HubPki,
} from './helpers/hub-harness.js';

describe('hub: twins and properties', () => {
  let pki: HubPki;
  let h: HubHarness;

  before(async () => {
    pki = await createHubPki();
    h = await startHub(pki);
  });

  after(async () => {
    await h.destroy();
  });

  async function device(id: string): Promise<MqttClient> {
    const cert = await selfSigned(id);
    await insertDevice(h, id, { primary: cert });
    return connectDevice(h, pki, id, { identity: cert });
  }

  it('answers GET with desired and reported documents carrying $version, even without the twin/res subscription', async () => {
    const client = await device('twin-get');
    // No SUBSCRIBE to $iothub/twin/res/#: the hub answers the live connection anyway (§3.9).
    const answer = await twinGet(client);
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body), { desired: { $version: 1 }, reported: { $version: 1 } });
    await client.endAsync();
  });

  it('merges reported patches (null deletes), answers 204 with the new $version and an empty body', async () => {
    const client = await device('twin-patch');
    await client.subscribeAsync('$iothub/twin/res/#', { qos: 0 });
    const events: unknown[] = [];
    const unsubscribe = h.hub.subscribe((e) => events.push(e), 'twin-patch');
    const first = await twinPatchReported(
      client,
      JSON.stringify({ a: 1, nested: { x: 1, y: 2 }, gone: true }),
    );
    assert.equal(first.status, 204);
    assert.match(first.topic, /&\$version=2$/);
    assert.equal(first.body, '');
    const second = await twinPatchReported(client, JSON.stringify({ nested: { y: null, z: 3 }, gone: null }));
    assert.match(second.topic, /&\$version=3$/);
    const twin = JSON.parse((await twinGet(client)).body) as Record<string, unknown>;
    assert.deepEqual(twin['reported'], { a: 1, nested: { x: 1, z: 3 }, $version: 3 });
    assert.ok(events.some((e) => (e as { type: string }).type === 'reportedProperties'));
    unsubscribe();
    await client.endAsync();
  });

  it('answers an invalid reported patch with an errorCode body (the SDK ignores statuses)', async () => {
    const client = await device('twin-bad');
    const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    for (const body of [
      '{not json',
      '[1,2]',
      '42',
      deep(11),
      // Nested thousands deep: refused like 11 levels, not a stack overflow.
      deep(20_000),
      // An own __proto__ key would become the merged object's prototype.
      '{"__proto__":{"polluted":true}}',
      '{"a":{"__proto__":{"polluted":true}}}',
    ]) {
      const answer = await twinPatchReported(client, body);
      assert.equal(answer.status, 400);
      const parsed = JSON.parse(answer.body) as { errorCode: number; message: string };
      assert.equal(parsed.errorCode, 400027);
      assert.equal(typeof parsed.message, 'string');
    }
    const twin = JSON.parse((await twinGet(client)).body) as { reported: unknown };
    assert.deepEqual(twin.reported, { $version: 1 });
    // Ten levels is the limit, and fits.
    assert.equal((await twinPatchReported(client, deep(10))).status, 204);
    await client.endAsync();
  });

  it('pushes desired patches with $version and reports them in $metadata with the device ack', async () => {
    const client = await device('twin-desired');
    await client.subscribeAsync('$iothub/twin/PATCH/properties/desired/#', { qos: 0 });
    const notified = nextMessage(client, '$iothub/twin/PATCH/properties/desired/');
    const echo = await h.hub.patchProperties('twin-desired', { targetTemperature: 57, name: 'x' });
    assert.deepEqual(echo, {
      targetTemperature: 57,
      name: 'x',
      $metadata: { targetTemperature: { desiredValue: 57 }, name: { desiredValue: 'x' } },
    });
    const message = await notified;
    assert.equal(message.topic, '$iothub/twin/PATCH/properties/desired/?$version=2');
    assert.deepEqual(JSON.parse(message.payload.toString()), {
      targetTemperature: 57,
      name: 'x',
      $version: 2,
    });

    // PnP ack (ac/av/ad) and the 2020 tutorial's {value, status, desiredVersion}.
    await twinPatchReported(
      client,
      JSON.stringify({
        targetTemperature: { value: 57, ac: 200, av: 2, ad: 'done' },
        name: { value: 'x', status: 'completed', desiredVersion: 2 },
        serialNumber: '123abc',
      }),
    );
    const properties = await h.hub.getProperties('twin-desired');
    const metadata = properties['$metadata'] as Record<string, Record<string, unknown>>;
    assert.equal(properties['targetTemperature'], 57);
    assert.equal(properties['name'], 'x');
    assert.equal(properties['serialNumber'], '123abc');
    assert.equal(metadata['targetTemperature']?.['desiredValue'], 57);
    assert.equal(metadata['targetTemperature']?.['desiredVersion'], 2);
    assert.equal(metadata['targetTemperature']?.['ackCode'], 200);
    assert.equal(metadata['targetTemperature']?.['ackVersion'], 2);
    assert.equal(metadata['targetTemperature']?.['ackDescription'], 'done');
    assert.equal(typeof metadata['targetTemperature']?.['lastUpdateTime'], 'string');
    assert.equal(metadata['name']?.['ackCode'], 200);
    assert.equal(metadata['name']?.['ackVersion'], 2);
    assert.equal(metadata['serialNumber']?.['desiredValue'], undefined);

    // PUT replaces: `name` disappears from desired (the device gets name: null).
    const replaced = nextMessage(client, '$iothub/twin/PATCH/properties/desired/');
    await h.hub.putProperties('twin-desired', { targetTemperature: 60 });
    assert.deepEqual(JSON.parse((await replaced).payload.toString()), {
      name: null,
      targetTemperature: 60,
      $version: 3,
    });
    await assert.rejects(h.hub.patchProperties('twin-desired', [1]), { code: 'ERR_PROPERTIES_INVALID' });
    await assert.rejects(h.hub.patchProperties('twin-desired', { $bad: 1 }), {
      code: 'ERR_PROPERTIES_INVALID',
    });
    await client.endAsync();
  });

  it('stores desired patches for an offline device; GET returns them on connect', async () => {
    await insertDevice(h, 'twin-offline');
    await h.hub.patchProperties('twin-offline', { brightness: 2 });
    const twin = await h.hub.twins.read('twin-offline');
    assert.deepEqual(twin.desired, { brightness: 2 });
    assert.equal(twin.desiredVersion, 2);
  });
});
