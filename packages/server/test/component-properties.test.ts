/**
 * Component properties over REST (CENTRAL_API.md §1.2: "the same shape is repeated for
 * components"): `/api/devices/{id}/components/{c}/properties` reads and writes the twin's
 * `{ "<c>": { "__t": "c", … } }` (IoT Plug and Play conventions). A device connected over
 * MQTT/TLS receives the desired patch and acknowledges it; values are checked against the
 * component's properties in the device template.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import type { MqttClient } from 'mqtt';
import { componentTwin } from '../src/hub/component-properties.js';
import { emptyTwin } from '../src/hub/twins.js';
import { apiHubHarness, type ApiHubHarness } from './helpers/api-hub-harness.js';
import { twinPatchReported } from './helpers/hub-device.js';
import { expectError } from './helpers/api-harness.js';
import { nextMessage } from './helpers/hub-harness.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const DESIRED = '$iothub/twin/PATCH/properties/desired/';
/** An object `levels` deep: `{ a: { a: … 1 } }`. */
const nested = (levels: number): unknown => (levels === 0 ? 1 : { a: nested(levels - 1) });

describe('component properties over REST with a connected device', () => {
  let h: ApiHubHarness;
  let device: MqttClient;
  const id = 'controller-1';
  const base = `/api/devices/${id}/components`;

  before(async () => {
    h = await apiHubHarness();
    device = await h.connect(id, [`${DESIRED}#`, '$iothub/twin/res/#']);
  });
  after(async () => h.close());

  it('PATCH sends a desired patch marked __t: c; the ack shows in the component view', async () => {
    const pushed = nextMessage(device, DESIRED);
    const res = await h.call('PATCH', `${base}/thermostat1/properties`, { targetTemperature: 25 });
    assert.equal(res.statusCode, 202, res.body);
    assert.deepEqual(res.json(), {
      targetTemperature: 25,
      $metadata: { targetTemperature: { desiredValue: 25 } },
    });
    const patch = JSON.parse((await pushed).payload.toString()) as Record<string, unknown>;
    assert.deepEqual(patch['thermostat1'], { __t: 'c', targetTemperature: 25 });
    const version = patch['$version'] as number;

    // The PnP ack, inside the component object, with a read-only property beside it.
    const answer = await twinPatchReported(
      device,
      JSON.stringify({
        thermostat1: {
          __t: 'c',
          targetTemperature: { value: 25, ac: 200, av: version, ad: 'reached' },
          maxTempSinceLastReboot: 31.5,
        },
      }),
    );
    assert.equal(answer.status, 204);

    const view = (await h.call('GET', `${base}/thermostat1/properties`)).json<Record<string, unknown>>();
    assert.equal(view['targetTemperature'], 25);
    assert.equal(view['maxTempSinceLastReboot'], 31.5);
    assert.equal(view['__t'], undefined, 'the marker is not a property');
    const meta = view['$metadata'] as Record<string, Record<string, unknown>>;
    assert.equal(meta['targetTemperature']?.['desiredValue'], 25);
    assert.equal(meta['targetTemperature']?.['desiredVersion'], version);
    assert.equal(meta['targetTemperature']?.['ackCode'], 200);
    assert.equal(meta['targetTemperature']?.['ackVersion'], version);
    assert.equal(meta['targetTemperature']?.['ackDescription'], 'reached');
    assert.equal(typeof meta['maxTempSinceLastReboot']?.['lastUpdateTime'], 'string');

    // The root view keeps the component as one object, as IoT Central shows it.
    const root = (await h.call('GET', `/api/devices/${id}/properties`)).json<Record<string, unknown>>();
    assert.deepEqual((root['thermostat1'] as Record<string, unknown>)['maxTempSinceLastReboot'], 31.5);
  });

  it('PUT replaces the component’s desired values and leaves other components alone', async () => {
    const other = nextMessage(device, DESIRED);
    assert.equal(
      (await h.call('PATCH', `${base}/thermostat2/properties`, { targetTemperature: 18 })).statusCode,
      202,
    );
    await other;
    const first = nextMessage(device, DESIRED);
    assert.equal((await h.call('PATCH', `${base}/thermostat1/properties`, { fanSpeed: 2 })).statusCode, 202);
    await first;

    const replaced = nextMessage(device, DESIRED);
    const res = await h.call('PUT', `${base}/thermostat1/properties`, { targetTemperature: 21 });
    assert.equal(res.statusCode, 202, res.body);
    const patch = JSON.parse((await replaced).payload.toString()) as Record<string, unknown>;
    assert.deepEqual(patch['thermostat1'], { __t: 'c', fanSpeed: null, targetTemperature: 21 });
    assert.equal(patch['thermostat2'], undefined);

    const twin = await h.hub.hub.twins.read(id);
    assert.deepEqual(twin.desired['thermostat1'], { __t: 'c', targetTemperature: 21 });
    assert.deepEqual(twin.desired['thermostat2'], { __t: 'c', targetTemperature: 18 });
  });

  it('concurrent PUTs of a component: the removals of each are computed under the twin lock', async () => {
    await h.hub.hub.patchComponentProperties(id, 'race', { old: 1 });
    // Reads that take a while, so two PUTs overlap where a read outside the lock would go stale.
    const twins = h.hub.hub.twins;
    const read = twins.read.bind(twins);
    twins.read = async (deviceId: string) => {
      await new Promise((r) => setTimeout(r, 20));
      return read(deviceId);
    };
    try {
      await Promise.all([
        h.hub.hub.putComponentProperties(id, 'race', { x: 1 }),
        h.hub.hub.putComponentProperties(id, 'race', { y: 2 }),
      ]);
    } finally {
      twins.read = read;
    }
    const desired = (await twins.read(id)).desired['race'] as Record<string, unknown>;
    const either = [
      { x: 1, __t: 'c' },
      { y: 2, __t: 'c' },
    ].some((want) => isDeepStrictEqual(desired, want));
    assert.ok(either, `one PUT replaced the other: ${JSON.stringify(desired)}`);
  });

  it('a value 8 levels deep fits in a component (the twin’s 10 levels in all)', async () => {
    const res = await h.call('PATCH', `${base}/deep/properties`, { p: nested(8) });
    assert.equal(res.statusCode, 202, res.body);
  });

  it('a component nobody has set reads as empty', async () => {
    const res = await h.call('GET', `${base}/nothingHere/properties`);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { $metadata: {} });
  });

  const bad: Array<[string, string, unknown, number, string]> = [
    ['PATCH', `${base}/1bad/properties`, { a: 1 }, 400, 'ERR_INVALID_ID'],
    ['GET', `${base}/bad_/properties`, undefined, 400, 'ERR_INVALID_ID'],
    ['PATCH', `${base}/thermostat1/properties`, [1, 2], 422, 'ERR_PROPERTIES_INVALID'],
    ['PUT', `${base}/thermostat1/properties`, { $version: 3 }, 422, 'ERR_PROPERTIES_INVALID'],
    // The marker is the server's: a body could otherwise remove it or change it.
    ['PATCH', `${base}/thermostat1/properties`, { __t: null, a: 1 }, 422, 'ERR_PROPERTIES_INVALID'],
    ['PUT', `${base}/thermostat1/properties`, { __t: 'zzz' }, 422, 'ERR_PROPERTIES_INVALID'],
    // The document and the component are two of the twin's 10 levels: 9 more is one too many.
    ['PATCH', `${base}/thermostat1/properties`, { p: nested(9) }, 422, 'ERR_PROPERTIES_INVALID'],
    ['GET', '/api/devices/nobody/components/thermostat1/properties', undefined, 404, 'ERR_DEVICE_NOT_FOUND'],
    ['PATCH', '/api/devices/nobody/components/thermostat1/properties', { a: 1 }, 404, 'ERR_DEVICE_NOT_FOUND'],
  ];
  for (const [method, url, body, status, code] of bad) {
    it(`${method} ${url.replace(base, '…')} answers ${status} ${code}`, async () => {
      const before = await h.hub.hub.twins.read(id);
      expectError(await h.call(method, url, body), status, code);
      assert.deepEqual((await h.hub.hub.twins.read(id)).desired, before.desired, 'nothing changed');
    });
  }
});

describe('component properties checked against the device template', () => {
  let server: TestServer;
  const id = 'typed-controller';
  const THERMOSTAT = {
    '@id': 'dtmi:example:Thermo;1',
    '@type': 'Interface',
    '@context': 'dtmi:dtdl:context;2',
    displayName: 'Thermo',
    contents: [
      { '@type': 'Property', name: 'targetTemperature', schema: 'double', writable: true },
      { '@type': 'Property', name: 'maxTempSinceLastReboot', schema: 'double' },
    ],
  };
  const CONTROLLER = {
    '@id': 'dtmi:example:Controller;1',
    '@type': 'Interface',
    '@context': 'dtmi:dtdl:context;2',
    displayName: 'Controller',
    contents: [
      { '@type': 'Component', name: 'thermostat1', schema: 'dtmi:example:Thermo;1' },
      { '@type': 'Property', name: 'serialNumber', schema: 'string' },
    ],
  };

  before(async () => {
    server = await startTestServer();
    const template = await server.api('PUT', '/api/deviceTemplates/dtmi:example:ControllerTemplate;1', [
      CONTROLLER,
      THERMOSTAT,
    ]);
    assert.equal(template.status, 200, JSON.stringify(template.body));
    const put = await server.api('PUT', `/api/devices/${id}`, {
      displayName: 'Typed controller',
      template: 'dtmi:example:ControllerTemplate;1',
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
  });
  after(async () => server?.stop());

  const refusals: Array<[string, Record<string, unknown>, string, RegExp]> = [
    [
      'a string for a double',
      { targetTemperature: 'warm' },
      'ERR_PROPERTY_TYPE_MISMATCH',
      /'targetTemperature'.*must be a number \(double\), not the string "warm"/,
    ],
    ['a read-only property', { maxTempSinceLastReboot: 40 }, 'ERR_PROPERTY_READ_ONLY', /is read-only/],
  ];
  for (const method of ['PATCH', 'PUT'] as const) {
    for (const [what, body, code, message] of refusals) {
      it(`${method} refuses ${what} in the component with 400 ${code}, and nothing changes`, async () => {
        const res = await server.api<{ error: { code: string; message: string } }>(
          method,
          `/api/devices/${id}/components/thermostat1/properties`,
          body,
        );
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.error.code, code);
        assert.match(res.body.error.message, message);
        const now = await server.api('GET', `/api/devices/${id}/components/thermostat1/properties`);
        assert.deepEqual(now.body, { $metadata: {} });
      });
    }
  }

  it('the template summary lists its components', async () => {
    const t = await server.api<{ summary: { components: unknown[] } }>(
      'GET',
      '/api/deviceTemplates/dtmi:example:ControllerTemplate;1',
    );
    assert.deepEqual(t.body.summary.components, [{ name: 'thermostat1', displayName: 'thermostat1' }]);
  });

  for (const component of ['thermostat2', 'serialNumber']) {
    it(`refuses a component the template does not declare (${component}) with 404 ERR_COMPONENT_NOT_FOUND`, async () => {
      const res = await server.api<{ error: { code: string; message: string } }>(
        'PATCH',
        `/api/devices/${id}/components/${component}/properties`,
        { targetTemperature: 20 },
      );
      assert.equal(res.status, 404, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'ERR_COMPONENT_NOT_FOUND');
      assert.match(
        res.body.error.message,
        new RegExp(`no component '${component}'; its components are thermostat1`),
      );
      const root = await server.api<Record<string, unknown>>('GET', `/api/devices/${id}/properties`);
      assert.equal(
        (root.body['$metadata'] as Record<string, unknown>)[component],
        undefined,
        'nothing stored',
      );
    });
  }

  it('accepts a value of the right type (202); a root property of the same name is not the component’s', async () => {
    const res = await server.api('PATCH', `/api/devices/${id}/components/thermostat1/properties`, {
      targetTemperature: 22.5,
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const now = await server.api<{ $metadata: Record<string, { desiredValue?: unknown }> }>(
      'GET',
      `/api/devices/${id}/components/thermostat1/properties`,
    );
    assert.equal(now.body.$metadata['targetTemperature']?.desiredValue, 22.5);
  });
});

describe('componentTwin', () => {
  it('reads one component of the twin, stamping its properties with the component’s times', () => {
    const view = componentTwin(
      {
        desired: { t1: { __t: 'c', a: 1 }, root: 2 },
        desiredVersion: 4,
        desiredUpdated: { t1: '2026-01-01T00:00:00.000Z' },
        reported: { t1: { __t: 'c', b: 2, c: 3 }, t2: 'not an object' },
        reportedVersion: 7,
        reportedUpdated: { t1: '2026-01-02T00:00:00.000Z' },
      },
      't1',
    );
    assert.deepEqual(view, {
      desired: { a: 1 },
      desiredVersion: 4,
      desiredUpdated: { a: '2026-01-01T00:00:00.000Z' },
      reported: { b: 2, c: 3 },
      reportedVersion: 7,
      reportedUpdated: { b: '2026-01-02T00:00:00.000Z', c: '2026-01-02T00:00:00.000Z' },
    });
    const empty = emptyTwin();
    assert.deepEqual(componentTwin({ ...empty, reported: { t2: 'x' } }, 't2').reported, {});
    assert.deepEqual(componentTwin(empty, 'constructor').reported, {});
  });
});
