/**
 * `/api/deviceTemplates` over a real server (CENTRAL_API.md §1.2, §6): the built-ins, PUT / GET /
 * PATCH / DELETE, etags, the in-use and versioning refusals, invalid DTDL changing nothing,
 * parallel PUTs creating one template, and `template` on `/api/devices` naming an existing
 * template. Crafted DTDL bodies are api-device-templates-crafted.test.ts; `model-id` on an MQTT
 * connection is device-templates-model-id.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { DeviceTemplate } from '../src/app/device-templates.js';
import { THERMOSTAT_MODEL } from '../src/app/device-templates-builtin.js';
import { enc, expectError, SENSOR, THERMOSTAT, type ErrorBody } from './helpers/device-templates-fixtures.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

describe('REST device templates', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => server?.stop());

  const get = (id: string) => server.api<DeviceTemplate>('GET', `/api/deviceTemplates/${enc(id)}`);

  it('lists the two built-ins with summary, builtIn and device count', async () => {
    const res = await server.api<{ value: DeviceTemplate[] }>(
      'GET',
      '/api/deviceTemplates?api-version=2022-07-31',
    );
    assert.equal(res.status, 200);
    const byId = new Map(res.body.value.map((t) => [t['@id'], t]));
    const sensor = byId.get(SENSOR);
    const thermostat = byId.get(THERMOSTAT);
    assert.ok(sensor && thermostat, JSON.stringify([...byId.keys()]));
    assert.equal(sensor.displayName, 'Environmental Sensor');
    assert.equal(sensor.capabilityModel['@id'], 'dtmi:com:example:EnvironmentalSensor;1');
    assert.deepEqual(sensor['@type'], ['ModelDefinition', 'DeviceModel']);
    assert.equal(sensor.builtIn, true);
    assert.equal(sensor.devices, 0);
    assert.equal(typeof sensor.etag, 'string');
    assert.deepEqual(
      sensor.summary.telemetry.map((t) => t.name),
      ['temp', 'humid'],
    );
    assert.equal(thermostat.displayName, 'Thermostat');
    assert.deepEqual(thermostat.capabilityModel, THERMOSTAT_MODEL);
    // The ID works in the path with ; as is and encoded.
    assert.equal((await server.api('GET', `/api/deviceTemplates/${THERMOSTAT}`)).status, 200);
    assert.deepEqual((await get(THERMOSTAT)).body, thermostat);
  });

  it('PUT a bare DTDL interface creates a template (200), GET returns it; PUT again replaces it', async () => {
    const id = 'dtmi:test:Thermostat;1';
    const created = await server.api<DeviceTemplate>(
      'PUT',
      `/api/deviceTemplates/${enc(id)}`,
      THERMOSTAT_MODEL,
    );
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal(created.body['@id'], id);
    assert.equal(created.body.displayName, 'Thermostat');
    assert.equal(created.body.builtIn, false);
    assert.equal(created.body.summary.commands[0]?.name, 'getMaxMinReport');
    assert.deepEqual((await get(id)).body, created.body);

    const wrapped = {
      '@id': id,
      '@type': ['ModelDefinition', 'DeviceModel'],
      displayName: 'Lab thermostat',
      description: 'Second floor',
      capabilityModel: {
        ...THERMOSTAT_MODEL,
        contents: [
          ...THERMOSTAT_MODEL.contents,
          { '@type': 'Telemetry', name: 'humidity', schema: 'double' },
        ],
      },
      etag: created.body.etag,
    };
    const replaced = await server.api<DeviceTemplate>('PUT', `/api/deviceTemplates/${enc(id)}`, wrapped);
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    assert.equal(replaced.body.displayName, 'Lab thermostat');
    assert.equal(replaced.body.description, 'Second floor');
    assert.notEqual(replaced.body.etag, created.body.etag);
    assert.deepEqual(
      replaced.body.summary.telemetry.map((t) => t.name),
      ['temperature', 'humidity'],
    );
  });

  it('refuses a stale etag (412) and an incompatible change under the same DTMI (409); a new version is accepted', async () => {
    const id = 'dtmi:test:Thermostat;1';
    const current = (await get(id)).body;
    await expectError(
      server.api('PUT', `/api/deviceTemplates/${enc(id)}`, { ...current, etag: 'IjEi' }),
      412,
      'ERR_ETAG_MISMATCH',
    );
    const shrunk = { ...THERMOSTAT_MODEL, contents: THERMOSTAT_MODEL.contents.slice(1) };
    const message = await expectError(
      server.api('PUT', `/api/deviceTemplates/${enc(id)}`, shrunk),
      409,
      'ERR_TEMPLATE_INCOMPATIBLE',
      "telemetry 'temperature' was removed",
    );
    assert.ok(message.includes('…;2'), message);
    assert.deepEqual((await get(id)).body, current, 'a refused PUT changes nothing');
    const v2 = { ...shrunk, '@id': 'dtmi:com:example:Thermostat;2' };
    const res = await server.api<DeviceTemplate>('PUT', `/api/deviceTemplates/${enc(id)}`, v2);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.capabilityModel['@id'], 'dtmi:com:example:Thermostat;2');
  });

  it('invalid DTDL answers 400 ERR_DTDL_INVALID naming the element, and changes nothing', async () => {
    const id = 'dtmi:test:Thermostat;1';
    const current = (await get(id)).body;
    const bad = {
      ...(current.capabilityModel as object),
      contents: [
        ...(current.capabilityModel['contents'] as unknown[]),
        { '@type': 'Telemetry', name: 'temp', schema: 'doubel' },
      ],
    };
    await expectError(
      server.api('PUT', `/api/deviceTemplates/${enc(id)}`, { displayName: 'x', capabilityModel: bad }),
      400,
      'ERR_DTDL_INVALID',
      "capabilityModel.contents[3] (name 'temp').schema: schema 'doubel' is not a DTDL v2 schema",
    );
    await expectError(
      server.api('PUT', `/api/deviceTemplates/${enc('dtmi:test:New;1')}`, {
        displayName: 'x',
        capabilityModel: bad,
      }),
      400,
      'ERR_DTDL_INVALID',
    );
    assert.deepEqual((await get(id)).body, current);
    assert.equal((await get('dtmi:test:New;1')).status, 404);
  });

  /** A new template body: the Thermostat model under its own DTMI, with `extra` contents. */
  const racer = (extra: unknown[] = []) => ({
    ...THERMOSTAT_MODEL,
    '@id': 'dtmi:test:Racer;1',
    contents: [...(THERMOSTAT_MODEL['contents'] as unknown[]), ...extra],
  });

  it('parallel PUTs creating the same template all answer 200 (the later ones replace it), never a 500', async () => {
    const id = 'dtmi:test:Parallel;1';
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        server.api<DeviceTemplate>('PUT', `/api/deviceTemplates/${enc(id)}`, racer()),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      Array.from({ length: 8 }, () => 200),
      JSON.stringify(results.find((r) => r.status !== 200)?.body),
    );
    const stored = await get(id);
    assert.equal(stored.status, 200);
    assert.equal(stored.body.capabilityModel['@id'], 'dtmi:test:Racer;1');
    assert.ok(
      results.some((r) => r.body.etag === stored.body.etag),
      'the stored one is the last PUT',
    );
    const list = await server.api<{ value: DeviceTemplate[] }>('GET', '/api/deviceTemplates');
    assert.equal(list.body.value.filter((t) => t['@id'] === id).length, 1);
  });

  it('parallel PUTs creating one template with incompatible models: one 200, the other 409 checked against it', async () => {
    const id = 'dtmi:test:ParallelClash;1';
    const [a, b] = await Promise.all([
      server.api<DeviceTemplate>(
        'PUT',
        `/api/deviceTemplates/${enc(id)}`,
        racer([{ '@type': 'Telemetry', name: 'x', schema: 'double' }]),
      ),
      server.api<DeviceTemplate>(
        'PUT',
        `/api/deviceTemplates/${enc(id)}`,
        racer([{ '@type': 'Telemetry', name: 'x', schema: 'string' }]),
      ),
    ]);
    const statuses = [a.status, b.status].sort();
    assert.deepEqual(statuses, [200, 409], JSON.stringify([a.body, b.body]));
    const refused = (a.status === 409 ? a : b).body as unknown as ErrorBody;
    assert.equal(refused.error.code, 'ERR_TEMPLATE_INCOMPATIBLE');
    assert.match(refused.error.message, /telemetry 'x' changed/);
    const stored = await get(id);
    assert.equal(stored.body.etag, (a.status === 200 ? a : b).body.etag);
  });

  it('PATCH changes displayName and description only; refuses capabilityModel and a stale etag', async () => {
    const id = 'dtmi:test:Thermostat;1';
    const before = (await get(id)).body;
    const res = await server.api<DeviceTemplate>('PATCH', `/api/deviceTemplates/${enc(id)}`, {
      displayName: 'Renamed',
      description: null,
      etag: before.etag,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.displayName, 'Renamed');
    assert.equal(res.body.description, undefined);
    assert.deepEqual(res.body.capabilityModel, before.capabilityModel);
    await expectError(
      server.api('PATCH', `/api/deviceTemplates/${enc(id)}`, { displayName: 'x', etag: before.etag }),
      412,
      'ERR_ETAG_MISMATCH',
    );
    await expectError(
      server.api('PATCH', `/api/deviceTemplates/${enc(id)}`, { capabilityModel: THERMOSTAT_MODEL }),
      422,
      'ERR_VALIDATION',
      "'capabilityModel' cannot be patched",
    );
    await expectError(
      server.api('PATCH', `/api/deviceTemplates/${enc(id)}`, { displayName: '' }),
      422,
      'ERR_VALIDATION',
    );
  });

  const REFUSED_IDS: Array<[string, string, number, string]> = [
    ['GET', 'dtmi:test:Missing;1', 404, 'ERR_TEMPLATE_NOT_FOUND'],
    ['PATCH', 'dtmi:test:Missing;1', 404, 'ERR_TEMPLATE_NOT_FOUND'],
    ['DELETE', 'dtmi:test:Missing;1', 404, 'ERR_TEMPLATE_NOT_FOUND'],
    ['GET', 'not-a-dtmi', 400, 'ERR_INVALID_ID'],
    ['PUT', 'urn:contoso:x:1', 400, 'ERR_INVALID_ID'],
    ['DELETE', 'dtmi:a:b;0', 400, 'ERR_INVALID_ID'],
  ];
  for (const [method, id, status, code] of REFUSED_IDS) {
    it(`${method} ${id} → ${status} ${code}`, async () => {
      await expectError(
        server.api(
          method,
          `/api/deviceTemplates/${enc(id)}`,
          method === 'GET' || method === 'DELETE' ? undefined : THERMOSTAT_MODEL,
        ),
        status,
        code,
      );
    });
  }

  it('a device may name only an existing template (400 ERR_TEMPLATE_NOT_FOUND); the template counts it and cannot be deleted (409)', async () => {
    const message = await expectError(
      server.api('PUT', '/api/devices/dev-1', { template: 'dtmi:com:example:Thermostat;1' }),
      400,
      'ERR_TEMPLATE_NOT_FOUND',
      `is the model of template '${THERMOSTAT}'`,
    );
    assert.ok(message.length > 0);
    assert.equal((await server.api('GET', '/api/devices/dev-1')).status, 404, 'nothing was created');
    const put = await server.api<{ template: string }>('PUT', '/api/devices/dev-1', { template: THERMOSTAT });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.template, THERMOSTAT);
    await expectError(
      server.api('PATCH', '/api/devices/dev-1', { template: 'dtmi:test:Nope;1' }),
      400,
      'ERR_TEMPLATE_NOT_FOUND',
    );
    assert.equal((await get(THERMOSTAT)).body.devices, 1);
    await expectError(
      server.api('DELETE', `/api/deviceTemplates/${enc(THERMOSTAT)}`),
      409,
      'ERR_TEMPLATE_IN_USE',
      'used by 1 device',
    );
    assert.equal((await get(THERMOSTAT)).status, 200);

    const unassigned = await server.api<{ template?: string }>('PATCH', '/api/devices/dev-1', {
      template: null,
    });
    assert.equal(unassigned.body.template, undefined);
    assert.equal((await server.api('DELETE', `/api/deviceTemplates/${enc(THERMOSTAT)}`)).status, 204);
    assert.equal((await get(THERMOSTAT)).status, 404);
    // A deleted built-in stays deleted across restarts of the same data folder (seeded once).
    const restart = await startTestServer({ dataDir: server.dataDir });
    try {
      const ids = (
        await restart.api<{ value: DeviceTemplate[] }>('GET', '/api/deviceTemplates')
      ).body.value.map((t) => t['@id']);
      assert.ok(!ids.includes(THERMOSTAT) && ids.includes(SENSOR), JSON.stringify(ids));
    } finally {
      await restart.stop();
    }
  });

  it('an Operator cannot write templates (403), a reader can list them', async () => {
    const token = await server.api<{ token: string }>('PUT', '/api/apiTokens/op', {
      roles: [{ role: 'ae2c9854-393b-4f97-8c42-479d70ce626e' }],
    });
    assert.equal(token.status, 200, JSON.stringify(token.body));
    // The Bearer secret is the token text's `sig`.
    const sas = decodeURIComponent(/sig=([^&]+)/.exec(token.body.token)?.[1] ?? '');
    assert.equal((await server.api('GET', '/api/deviceTemplates', undefined, sas)).status, 200);
    await expectError(
      server.api('PUT', `/api/deviceTemplates/${enc('dtmi:test:Op;1')}`, THERMOSTAT_MODEL, sas),
      403,
      'ERR_FORBIDDEN',
    );
  });
});
