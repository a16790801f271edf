/**
 * `/api/deviceTemplates` over a real server (CENTRAL_API.md §1.2, §6): the built-ins, PUT / GET /
 * PATCH / DELETE, etags, the in-use and versioning refusals, invalid DTDL changing nothing, and
 * `template` on `/api/devices` naming an existing template. Also: a device connecting with
 * `model-id` in its MQTT username gets the template of that model (raw MQTT.js, SAS).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { deriveDeviceKey, hubSasResource, signSharedAccessSignature } from '@gatehouse/protocol';

import type { DeviceTemplate } from '../src/app/device-templates.js';
import { THERMOSTAT_MODEL } from '../src/app/device-templates-builtin.js';
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from './helpers/test-server.js';

interface ErrorBody {
  error: { code: string; message: string };
}

const THERMOSTAT = 'dtmi:gatehouse:Thermostat;1';
const SENSOR = 'dtmi:gatehouse:EnvironmentalSensor;1';
const enc = encodeURIComponent;

describe('REST device templates', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => server?.stop());

  const get = (id: string) => server.api<DeviceTemplate>('GET', `/api/deviceTemplates/${enc(id)}`);

  async function expectError(
    res: Promise<{ status: number; body: unknown; headers: Headers }>,
    status: number,
    code: string,
    text?: string,
  ): Promise<string> {
    const r = await res;
    assert.equal(r.status, status, JSON.stringify(r.body));
    const body = r.body as ErrorBody;
    assert.equal(body.error.code, code);
    assert.equal(r.headers.get('x-ms-error-code'), code);
    if (text !== undefined) assert.ok(body.error.message.includes(text), body.error.message);
    return body.error.message;
  }

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

  /** PUT with the body as JSON text (JSON.stringify itself overflows on the deepest bodies). */
  async function putText(id: string, text: string) {
    const res = await fetch(`${server.baseUrl}/api/deviceTemplates/${enc(id)}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: text,
    });
    return { status: res.status, body: (await res.json()) as unknown, headers: res.headers };
  }

  const open = (n: number, text: string) => text.repeat(n);
  const DEEP = 10_000;
  /** Interfaces I0 … I23, each naming the next twice as components: 2^24 copies when inlined. */
  const doubling = Array.from({ length: 24 }, (_, i) => ({
    '@context': 'dtmi:dtdl:context;2',
    '@id': `dtmi:test:I${i};1`,
    '@type': 'Interface',
    contents:
      i < 23
        ? ['a', 'b'].map((name) => ({ '@type': 'Component', name, schema: `dtmi:test:I${i + 1};1` }))
        : [{ '@type': 'Telemetry', name: 't', schema: 'double' }],
  }));
  /** 5 named Objects of 30 fields, each field naming the next: 30^5 elements expanded. */
  const chained = {
    '@context': 'dtmi:dtdl:context;2',
    '@id': 'dtmi:test:Chained;1',
    '@type': 'Interface',
    contents: [{ '@type': 'Telemetry', name: 't', schema: 'dtmi:test:S0;1' }],
    schemas: Array.from({ length: 5 }, (_, i) => ({
      '@id': `dtmi:test:S${i};1`,
      '@type': 'Object',
      fields: Array.from({ length: 30 }, (_, k) => ({
        name: `f${k}`,
        schema: i === 4 ? 'double' : `dtmi:test:S${i + 1};1`,
      })),
    })),
  };
  const CRAFTED: Array<[string, string, string]> = [
    [
      'inline extends 10,000 deep (was a stack overflow, 500)',
      `{"@context":"dtmi:dtdl:context;2","@id":"dtmi:test:Deep;1","@type":"Interface","extends":${open(DEEP, '{"@type":"Interface","extends":')}{"@type":"Interface"}${open(DEEP, '}')}}`,
      'the document nests deeper than 128 levels of JSON here',
    ],
    [
      'a 2020 capability model with Arrays 10,000 deep (was a stack overflow, 500)',
      `{"@id":"urn:test:Deep:1","@type":"CapabilityModel","contents":[{"@type":"Telemetry","name":"t","schema":${open(DEEP, '{"@type":"Array","elementSchema":')}"double"${open(DEEP, '}')}}]}`,
      'the document nests deeper than 128 levels of JSON here',
    ],
    [
      'a term of another vocabulary holding arrays 10,000 deep (was a 500 when stored)',
      `{"@context":"dtmi:dtdl:context;2","@id":"dtmi:test:Deep;1","@type":"Interface","contents":[{"@type":"Telemetry","name":"t","schema":"double","ex:data":${open(DEEP, '[')}0${open(DEEP, ']')}}]}`,
      'capabilityModel.contents[0].ex:data[0][0]',
    ],
    [
      'interfaces each naming the next twice as components, 24 levels (was tens of seconds of CPU)',
      JSON.stringify(doubling),
      'makes the model larger than',
    ],
    [
      'named schemas expanding to 30^5 elements (was ten seconds of CPU per request)',
      JSON.stringify(chained),
      'more than 100000 elements',
    ],
  ];
  for (const [what, text, message] of CRAFTED) {
    it(`refuses ${what} with 400 ERR_DTDL_INVALID, quickly, and creates nothing`, async () => {
      const id = 'dtmi:test:Crafted;1';
      const start = performance.now();
      await expectError(putText(id, text), 400, 'ERR_DTDL_INVALID', message);
      const ms = performance.now() - start;
      assert.ok(ms < 2000, `answered after ${Math.round(ms)} ms`);
      assert.equal((await get(id)).status, 404);
    });
  }

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

function hubPassword(id: string, key: string): string {
  return signSharedAccessSignature({
    resource: encodeURIComponent(hubSasResource('localhost', id)),
    key,
    expiry: Math.floor(Date.now() / 1000) + 3600,
  });
}

describe('a hub connection with model-id assigns the template', () => {
  let server: TestServer;
  let groupKey: string;

  before(async () => {
    server = await startTestServer();
    const g = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      '/api/enrollmentGroups/SAS-IoT-Devices',
    );
    groupKey = g.body.attestation.symmetricKey.primaryKey;
  });
  after(async () => server?.stop());

  /** A device row with SAS credentials (as provisioning writes it), then an MQTT CONNECT as the SDK sends it. */
  async function connectWithModel(id: string, modelId: string | undefined): Promise<void> {
    const key = deriveDeviceKey(groupKey, id);
    await server.db
      .insertInto('devices')
      .values({
        id,
        display_name: id,
        template: null,
        enabled: 1,
        provisioned: 1,
        simulated: 0,
        auth_type: 'sas',
        x509_primary_sha1: null,
        x509_primary_sha256: null,
        x509_secondary_sha1: null,
        x509_secondary_sha256: null,
        sas_primary_key: key,
        sas_secondary_key: key,
        enrollment_group_id: 'SAS-IoT-Devices',
        assigned_hub: 'localhost',
        etag: 'e',
        created_at: new Date().toISOString(),
        updated_at: new Date().toISOString(),
      })
      .execute();
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${server.mqtt.port}`, {
      protocolVersion: 4,
      clientId: id,
      username: `localhost/${id}/?api-version=2021-04-12${modelId ? `&model-id=${modelId}` : ''}&DeviceClientType=test`,
      password: hubPassword(id, key),
      reconnectPeriod: 0,
      ca: readFileSync(server.serverCaPath!),
      servername: 'localhost',
    });
    await client.endAsync();
  }

  async function templateOf(id: string): Promise<string | undefined> {
    for (let i = 0; i < 50; i++) {
      const d = await server.api<{ template?: string }>('GET', `/api/devices/${id}`);
      if (d.body.template !== undefined) return d.body.template;
      await new Promise((r) => setTimeout(r, 20));
    }
    return undefined;
  }

  const CASES: Array<[string, string | undefined, string | undefined]> = [
    ['the capability model of a built-in', 'dtmi:com:example:Thermostat;1', THERMOSTAT],
    ['a template ID itself', SENSOR, SENSOR],
    ['an unknown model: stays unassigned', 'dtmi:com:example:Unknown;1', undefined],
    ['no model-id: stays unassigned', undefined, undefined],
  ];
  for (const [what, modelId, expected] of CASES) {
    it(`${what}`, async () => {
      const id = `mqtt-${CASES.findIndex((c) => c[0] === what)}`;
      await connectWithModel(id, modelId);
      assert.equal(await templateOf(id), expected);
    });
  }

  it('keeps a template the device already has', async () => {
    await connectWithModel('mqtt-kept', undefined);
    await server.api('PATCH', '/api/devices/mqtt-kept', { template: SENSOR });
    const key = deriveDeviceKey(groupKey, 'mqtt-kept');
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${server.mqtt.port}`, {
      protocolVersion: 4,
      clientId: 'mqtt-kept',
      username: 'localhost/mqtt-kept/?api-version=2021-04-12&model-id=dtmi:com:example:Thermostat;1',
      password: hubPassword('mqtt-kept', key),
      reconnectPeriod: 0,
      ca: readFileSync(server.serverCaPath!),
      servername: 'localhost',
    });
    await client.endAsync();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await templateOf('mqtt-kept'), SENSOR);
  });
});
