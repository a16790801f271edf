/**
 * Writable-property values checked against the device template: the schema table (every
 * DTDL v2 primitive, Enum, Object, Map, the IoT Central geopoint/vector) and, over REST on a
 * real server, a device of the built-in Environmental Sensor template refusing values of the
 * wrong type with 400 and a message naming the property, with nothing stored or sent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkPropertyValues, schemaProblem } from '../src/hub/property-schema.js';
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from './helpers/test-server.js';

const COLOR = {
  '@type': 'Enum',
  valueSchema: 'string',
  enumValues: [
    { name: 'red', enumValue: 'r' },
    { name: 'green', enumValue: 'g' },
  ],
};
const LEVEL = { '@type': 'Enum', valueSchema: 'integer', enumValues: [{ name: 'low', enumValue: 1 }] };
const RANGE = {
  '@type': 'Object',
  fields: [
    { name: 'min', schema: 'double' },
    { name: 'label', schema: 'string' },
  ],
};
const LIMITS = {
  '@type': 'Map',
  mapKey: { name: 'k', schema: 'string' },
  mapValue: { name: 'v', schema: 'long' },
};

describe('property values against DTDL v2 schemas', () => {
  const cases: Array<[schema: unknown, value: unknown, problem: RegExp | undefined]> = [
    ['boolean', true, undefined],
    ['boolean', 'true', /p must be true or false, not the string "true"/],
    ['long', 3, undefined],
    ['long', 2.5, /whole number \(long\), not 2.5/],
    ['long', '3', /whole number \(long\), not the string "3"/],
    ['integer', 2 ** 31, /whole number \(integer\)/],
    ['double', 1.5, undefined],
    ['double', '1.5', /a number \(double\), not the string "1.5"/],
    ['float', null, /a number \(float\), not null/],
    ['string', 'abc', undefined],
    ['string', 5, /must be a string, not 5/],
    ['date', '2024-05-01', undefined],
    ['date', '01/05/2024', /a date such as 2024-05-01/],
    ['dateTime', '2024-05-01T10:00:00Z', undefined],
    ['dateTime', '2024-05-01', /a date-time/],
    ['time', '10:00:00', undefined],
    ['duration', 'PT5M', undefined],
    ['duration', '5 minutes', /ISO 8601 duration/],
    ['geopoint', { lat: 1, lon: 2 }, undefined],
    ['geopoint', { lat: 1 }, /geopoint/],
    ['vector', { x: 1, y: 2, z: 3 }, undefined],
    ['vector', [1, 2, 3], /vector \{ x, y, z \}, not the array \[1,2,3\]/],
    [COLOR, 'g', undefined],
    [COLOR, 'blue', /must be one of "r", "g", not the string "blue"/],
    [LEVEL, 1, undefined],
    [LEVEL, '1', /one of 1, not the string "1"/],
    [RANGE, { min: 1, label: 'x' }, undefined],
    [RANGE, { min: 1 }, undefined],
    [RANGE, { min: 'low' }, /p\.min must be a number \(double\)/],
    [RANGE, 5, /must be an object, not 5/],
    [LIMITS, { a: 1, b: 2 }, undefined],
    [LIMITS, { a: 1, b: 'two' }, /p\.b must be a whole number/],
    // Schemas this check does not know are the device's business.
    ['dtmi:com:example:Unknown;1', { any: 1 }, undefined],
  ];
  for (const [schema, value, problem] of cases) {
    it(`${JSON.stringify(schema).slice(0, 40)} ← ${JSON.stringify(value)}`, () => {
      const got = schemaProblem(value, schema, 'p');
      if (problem === undefined) assert.equal(got, undefined);
      else assert.match(got ?? '(accepted)', problem);
    });
  }

  it('checks only root properties the template names; null removes and always passes', () => {
    const props = [
      { name: 'level', displayName: 'Level', schema: 'long', writable: true },
      { name: 'state', displayName: 'State', schema: 'boolean', writable: false },
      { name: 'level2', component: 'c1', displayName: 'L2', schema: 'long', writable: true },
    ];
    assert.doesNotThrow(() => checkPropertyValues({ level: 2, other: 'x', level2: 'not checked' }, props));
    assert.doesNotThrow(() => checkPropertyValues({ level: null, state: null }, props));
    assert.throws(() => checkPropertyValues({ level: 'x' }, props), { code: 'ERR_PROPERTY_TYPE_MISMATCH' });
    assert.throws(() => checkPropertyValues({ state: true }, props), { code: 'ERR_PROPERTY_READ_ONLY' });
  });
});

/** `levels` wrappers around `inner`, built without recursion. */
function deep(levels: number, wrap: (inner: unknown) => unknown, inner: unknown): unknown {
  let value = inner;
  for (let i = 0; i < levels; i++) value = wrap(value);
  return value;
}

describe('refusals show a bounded preview of the value (nested thousands deep, megabytes long)', () => {
  const ENUM_100 = {
    '@type': 'Enum',
    valueSchema: 'string',
    enumValues: Array.from({ length: 100 }, (_, i) => ({
      name: `v${i}`,
      enumValue: `${'v'.repeat(1000)}${i}`,
    })),
  };
  const cases: Array<[what: string, schema: unknown, value: unknown, problem: RegExp]> = [
    [
      'arrays 10,000 deep (JSON.stringify threw a RangeError)',
      'string',
      deep(10_000, (v) => [v], 1),
      /^p must be a string, not the array \[\[\[\[\[…\]\]\]\]\]\.$/,
    ],
    [
      'objects 10,000 deep',
      'double',
      deep(10_000, (v) => ({ k: v }), 1),
      /^p must be a number \(double\), not the object \{"k":\{"k":\{"k":\{"k":\{…\}\}\}\}\}\.$/,
    ],
    ['a string of a million characters', 'long', 'x'.repeat(1_000_000), /not the string "x{56}\.\.\.\.$/],
    [
      'an array of a million items',
      'boolean',
      new Array(1_000_000).fill(0),
      /not the array \[0,0,0,.*\.\.\.\.$/,
    ],
    [
      'a map key of 100,000 characters in the path',
      { '@type': 'Map', mapValue: { schema: 'long' } },
      { ['k'.repeat(100_000)]: 'x' },
      /^p\.k{57}\.\.\. must be a whole number/,
    ],
    [
      'an enum of 100 long values: ten are listed',
      ENUM_100,
      3,
      /^p must be one of ("v{56}\.\.\., ){10}… \(100 in all\), not 3\.$/,
    ],
  ];
  for (const [what, schema, value, problem] of cases) {
    it(`${what}`, () => {
      const start = performance.now();
      const got = schemaProblem(value, schema, 'p') ?? '(accepted)';
      assert.ok(performance.now() - start < 2000, 'answered quickly');
      assert.match(got, problem);
      assert.ok(got.length < 1000, `message is ${got.length} characters`);
    });
  }
});

describe('property values of the wrong type over REST (Environmental Sensor template)', () => {
  let server: TestServer;
  const id = 'typed-sensor';
  before(async () => {
    server = await startTestServer();
    const put = await server.api('PUT', `/api/devices/${id}`, {
      displayName: 'Typed sensor',
      template: 'dtmi:gatehouse:EnvironmentalSensor;1',
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
  });
  after(async () => server?.stop());

  const refusals: Array<[string, Record<string, unknown>, string, RegExp]> = [
    [
      'a string for a long',
      { brightness: 'high' },
      'ERR_PROPERTY_TYPE_MISMATCH',
      /'brightness' \(Brightness Level\): brightness must be a whole number \(long\), not the string "high"/,
    ],
    ['a fraction for a long', { brightness: 1.5 }, 'ERR_PROPERTY_TYPE_MISMATCH', /whole number/],
    [
      'a number for a string',
      { name: 42 },
      'ERR_PROPERTY_TYPE_MISMATCH',
      /'name' \(Customer Name\): name must be a string, not 42/,
    ],
    [
      'a good value next to a bad one',
      { name: 'ok', brightness: true },
      'ERR_PROPERTY_TYPE_MISMATCH',
      /brightness/,
    ],
    [
      'a read-only property',
      { state: true },
      'ERR_PROPERTY_READ_ONLY',
      /'state' \(Device State\) is read-only/,
    ],
  ];
  for (const method of ['PATCH', 'PUT'] as const) {
    for (const [what, body, code, message] of refusals) {
      it(`${method} refuses ${what} with 400 ${code}, and nothing changes`, async () => {
        const res = await server.api<{ error: { code: string; message: string } }>(
          method,
          `/api/devices/${id}/properties`,
          body,
        );
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.error.code, code);
        assert.match(res.body.error.message, message);
        const now = await server.api<Record<string, unknown>>('GET', `/api/devices/${id}/properties`);
        assert.deepEqual(now.body, { $metadata: {} }, 'no desired value was stored');
      });
    }
  }

  /** The body as JSON text: JSON.stringify itself overflows on the deepest. */
  async function sendText(method: string, text: string) {
    const res = await fetch(`${server.baseUrl}/api/devices/${id}/properties`, {
      method,
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: text,
    });
    return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
  }
  const arrays = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;
  const objects = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
  const tooDeep: Array<[string, string, string]> = [
    ['a template property holding arrays 10,000 deep (was a 500)', `{"name":${arrays(10_000)}}`, 'name'],
    ['a template property holding objects 10,000 deep (was a 500)', `{"name":${objects(10_000)}}`, 'name'],
    [
      'a property the template lacks, 10,000 deep (was a 500)',
      `{"notInTemplate":${arrays(10_000)}}`,
      'notInTemplate',
    ],
    [
      'a property the template lacks, 10 levels under the document (was a 500)',
      `{"notInTemplate":${objects(10)}}`,
      'notInTemplate',
    ],
  ];
  for (const method of ['PATCH', 'PUT'] as const) {
    for (const [what, text, name] of tooDeep) {
      it(`${method} refuses ${what} with 422 ERR_PROPERTIES_INVALID, and nothing changes`, async () => {
        const before = await server.api<Record<string, unknown>>('GET', `/api/devices/${id}/properties`);
        const res = await sendText(method, text);
        assert.equal(res.status, 422, JSON.stringify(res.body));
        assert.equal(res.body.error.code, 'ERR_PROPERTIES_INVALID');
        assert.equal(
          res.body.error.message,
          `Property '${name}' nests deeper than the 10 levels a twin document may have (IoT Hub's limit, the document counting as one).`,
        );
        const now = await server.api<Record<string, unknown>>('GET', `/api/devices/${id}/properties`);
        assert.deepEqual(now.body, before.body);
      });
    }
  }

  it('accepts a value 9 levels under the document (10 in all, the limit)', async () => {
    const res = await sendText('PATCH', `{"nineDeep":${objects(9)}}`);
    assert.equal(res.status, 202, JSON.stringify(res.body));
  });

  it('accepts values of the right type (202), and names the template does not know', async () => {
    const res = await server.api('PATCH', `/api/devices/${id}/properties`, {
      name: 'Contoso',
      brightness: 2,
      notInTemplate: 'x',
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const now = await server.api<{ $metadata: Record<string, { desiredValue?: unknown }> }>(
      'GET',
      `/api/devices/${id}/properties`,
    );
    assert.equal(now.body.$metadata['brightness']?.desiredValue, 2);
  });
});

/**
 * Names that Object.prototype has (`constructor`, `toString`, …) are ordinary field and map-key
 * names: a value lacks them unless it has them itself. Looking them up with `in` found the
 * prototype's, so `{}` for an Object with a `constructor` field was refused as "not a number".
 */
const PROTOTYPE_NAMES = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'];

describe('field and key names that Object.prototype has are looked up on the value only', () => {
  for (const name of PROTOTYPE_NAMES) {
    const object = { '@type': 'Object', fields: [{ name, schema: 'double' }] };
    const map = {
      '@type': 'Map',
      mapKey: { name: 'k', schema: 'string' },
      mapValue: { name: 'v', schema: 'double' },
    };
    // JSON.parse, as a request body is read: `__proto__` becomes an own key.
    const cases: Array<[what: string, schema: unknown, json: string, problem: RegExp | undefined]> = [
      ['an Object without the field', object, '{}', undefined],
      ['an Object with the field, a number', object, `{"${name}": 2}`, undefined],
      [
        'an Object with the field, a string',
        object,
        `{"${name}": "x"}`,
        new RegExp(`^p\\.${name} must be a number \\(double\\), not the string "x"\\.$`),
      ],
      ['a Map with the key, a number', map, `{"${name}": 2}`, undefined],
      [
        'a Map with the key, a string',
        map,
        `{"${name}": "x"}`,
        new RegExp(`^p\\.${name} must be a number \\(double\\)`),
      ],
    ];
    for (const [what, schema, json, problem] of cases) {
      it(`'${name}': ${what} ${problem ? 'is refused' : 'passes'}`, () => {
        const got = schemaProblem(JSON.parse(json), schema, 'p');
        if (problem === undefined) assert.equal(got, undefined);
        else assert.match(got ?? '(accepted)', problem);
      });
    }
  }
});

describe('a template whose names Object.prototype has, over REST', () => {
  let server: TestServer;
  const templateId = 'dtmi:test:PrototypeNames;1';
  const deviceId = 'prototype-names';
  const valid = PROTOTYPE_NAMES.filter((n) => !n.startsWith('_'));
  before(async () => {
    server = await startTestServer();
    const put = await server.api('PUT', `/api/deviceTemplates/${encodeURIComponent(templateId)}`, {
      '@context': 'dtmi:dtdl:context;2',
      '@id': 'dtmi:test:PrototypeNamesModel;1',
      '@type': 'Interface',
      contents: [
        {
          '@type': 'Property',
          name: 'cfg',
          writable: true,
          schema: { '@type': 'Object', fields: valid.map((name) => ({ name, schema: 'double' })) },
        },
        ...valid.map((name) => ({ '@type': 'Property', name, writable: true, schema: 'double' })),
      ],
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const device = await server.api('PUT', `/api/devices/${deviceId}`, {
      displayName: 'p',
      template: templateId,
    });
    assert.equal(device.status, 200, JSON.stringify(device.body));
  });
  after(async () => server?.stop());

  const cases: Array<[what: string, body: Record<string, unknown>, status: number, message?: RegExp]> = [
    ['an empty object for the Object property', { cfg: {} }, 202],
    ['numbers in the prototype-named fields', { cfg: Object.fromEntries(valid.map((n, i) => [n, i])) }, 202],
    ...valid.map((n): [string, Record<string, unknown>, number, RegExp] => [
      `a string in field '${n}'`,
      { cfg: { [n]: 'x' } },
      400,
      new RegExp(`'cfg' \\(cfg\\): cfg\\.${n} must be a number \\(double\\), not the string "x"`),
    ]),
    ...valid.map((n): [string, Record<string, unknown>, number, RegExp] => [
      `a string for property '${n}'`,
      { [n]: 'x' },
      400,
      new RegExp(`'${n}' \\(${n}\\): ${n} must be a number \\(double\\)`),
    ]),
    ['numbers for the prototype-named properties', Object.fromEntries(valid.map((n, i) => [n, i])), 202],
  ];
  for (const [what, body, status, message] of cases) {
    it(`PATCH with ${what}: ${status}`, async () => {
      const res = await server.api<{ error?: { code: string; message: string } }>(
        'PATCH',
        `/api/devices/${deviceId}/properties`,
        body,
      );
      assert.equal(res.status, status, JSON.stringify(res.body));
      if (message) {
        assert.equal(res.body.error?.code, 'ERR_PROPERTY_TYPE_MISMATCH');
        assert.match(res.body.error?.message ?? '', message);
      }
    });
  }

  it("refuses a template field named '__proto__' (a DTDL name starts with a letter)", async () => {
    const res = await server.api<{ error: { code: string; message: string } }>(
      'PUT',
      `/api/deviceTemplates/${encodeURIComponent('dtmi:test:Proto;1')}`,
      {
        '@context': 'dtmi:dtdl:context;2',
        '@id': 'dtmi:test:ProtoModel;1',
        '@type': 'Interface',
        contents: [
          {
            '@type': 'Property',
            name: 'cfg',
            schema: { '@type': 'Object', fields: [{ name: '__proto__', schema: 'double' }] },
          },
        ],
      },
    );
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'ERR_DTDL_INVALID');
    assert.match(res.body.error.message, /fields\[0\] \(name '__proto__'\): name "__proto__" is invalid/);
  });
});
