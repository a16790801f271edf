/**
 * DTDL v2 resource limits (CENTRAL_API.md §6): crafted documents that would cost exponential
 * time or memory to inline, validate or summarize, or that nest deep enough to overflow the
 * stack, are refused quickly with ERR_DTDL_INVALID naming the element; the deepest valid model
 * is still accepted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { THERMOSTAT_MODEL } from '../src/app/device-templates-builtin.js';
import type { Json } from '../src/app/dtdl-elements.js';
import { summarize } from '../src/app/dtdl-summary.js';
import { parseTemplateBody } from '../src/app/dtdl-template.js';
import {
  clone,
  expectDtdlRefusal,
  ID,
  modelWith,
  nest,
  nestAround,
  property,
  telemetry,
  thermostatWith,
} from './helpers/dtdl-fixtures.js';

describe('DTDL v2 resource limits: crafted documents are refused quickly', () => {
  const CONTEXT = 'dtmi:dtdl:context;2';
  const QUICK_MS = 2000;

  function refusedQuickly(body: unknown, expected: string | RegExp): void {
    const start = performance.now();
    expectDtdlRefusal(body, expected);
    const ms = performance.now() - start;
    assert.ok(ms < QUICK_MS, `refused after ${Math.round(ms)} ms`);
  }

  /** Interfaces I0 … I(n-1), each naming the next twice (as components, or in extends). */
  function doublingFile(levels: number, how: 'components' | 'extends'): Json[] {
    return Array.from({ length: levels }, (_, i) => {
      const next = `dtmi:test:I${i + 1};1`;
      const last = i === levels - 1;
      return {
        '@context': CONTEXT,
        '@id': `dtmi:test:I${i};1`,
        '@type': 'Interface',
        ...(how === 'extends' && !last ? { extends: [next, next] } : {}),
        contents:
          how === 'components' && !last
            ? [
                { '@type': 'Component', name: 'a', schema: next },
                { '@type': 'Component', name: 'b', schema: next },
              ]
            : [telemetry(`t${i}`, 'double')],
      };
    });
  }

  it('refuses interfaces named twice per level as components (2^24 copies) at the inlining size limit', () => {
    refusedQuickly(
      doublingFile(24, 'components'),
      /inlining interface dtmi:test:I\d+;1 makes the model larger than \d+ characters of JSON/,
    );
  });

  it('refuses interfaces named twice per level in extends (2^24 copies) at the inlining size limit', () => {
    refusedQuickly(
      doublingFile(24, 'extends'),
      /\.extends\[1\]: inlining interface dtmi:test:I\d+;1 makes the model larger than/,
    );
  });

  it('refuses a chain of 40 interfaces, each a component of the one before, at 32 levels', () => {
    const file = Array.from({ length: 40 }, (_, i) => ({
      '@context': CONTEXT,
      '@id': `dtmi:test:C${i};1`,
      '@type': 'Interface',
      contents: i < 39 ? [{ '@type': 'Component', name: 'c', schema: `dtmi:test:C${i + 1};1` }] : [],
    }));
    refusedQuickly(file, 'interfaces nest deeper than 32 levels (components and extends)');
  });

  it('refuses a 2020 capability model implementing one interface 70,000 times, before converting each', () => {
    const iface = {
      '@id': 'urn:test:Big:1',
      '@type': 'Interface',
      contents: Array.from({ length: 300 }, (_, k) => telemetry(`t${k}`, 'double')),
    };
    const model = {
      '@id': 'urn:test:Many:1',
      '@type': 'CapabilityModel',
      implements: Array.from({ length: 70_000 }, () => 'urn:test:Big:1'),
    };
    refusedQuickly(
      [model, iface],
      'capabilityModel.implements: at most 300 contents, interface instances included',
    );
  });

  /** `schemas` S0 … S(levels-1): Objects of `fields` fields, each naming the next (the last: double). */
  function chainedSchemas(levels: number, fields: number): Json[] {
    return Array.from({ length: levels }, (_, i) => ({
      '@id': `dtmi:test:S${i};1`,
      '@type': 'Object',
      fields: Array.from({ length: fields }, (_, k) => ({
        name: `f${k}`,
        schema: i === levels - 1 ? 'double' : `dtmi:test:S${i + 1};1`,
      })),
    }));
  }

  it('validates each named schema once: 5 Objects of 30 fields naming the next (30^5 expanded) are refused at the element limit', () => {
    const model = modelWith({
      contents: [telemetry('t', 'dtmi:test:S0;1')],
      schemas: chainedSchemas(5, 30),
    });
    refusedQuickly(
      model,
      /^capabilityModel\.contents\[0\] \(name 't'\)\.schema: with the 'schemas' it names expanded, the model's schemas come to more than 100000 elements/,
    );
  });

  it('refuses a named schema that contains itself, naming it', () => {
    const model = modelWith({
      contents: [telemetry('t', 'dtmi:test:Loop;1')],
      schemas: [{ '@id': 'dtmi:test:Loop;1', '@type': 'Array', elementSchema: 'dtmi:test:Loop;1' }],
    });
    refusedQuickly(
      model,
      "capabilityModel.schemas[0].elementSchema: schema 'dtmi:test:Loop;1' contains itself: complex schemas nest deeper than 5 levels",
    );
  });

  it('counts the levels a named schema adds where it is named: 3 Arrays around 3 levels are 6 > 5', () => {
    const around = (arrays: number) =>
      modelWith({
        contents: [telemetry('t', nestAround(arrays, 'dtmi:test:S0;1'))],
        schemas: chainedSchemas(3, 1),
      });
    refusedQuickly(
      around(3),
      "(name 't').schema.elementSchema.elementSchema.elementSchema: complex schemas nest deeper than 5 levels (schema 'dtmi:test:S0;1' adds 3 at level 4)",
    );
    assert.doesNotThrow(() => parseTemplateBody(around(2), ID));
  });

  it('accepts one named Object of 30 fields used by 290 properties (about 9,000 elements expanded)', () => {
    const model = modelWith({
      contents: Array.from({ length: 290 }, (_, i) => property(`p${i}`, 'dtmi:test:S0;1')),
      schemas: chainedSchemas(1, 30),
    });
    const s = summarize(parseTemplateBody(model, ID).capabilityModel);
    assert.equal(s.properties.length, 290);
    assert.equal((s.properties[289]?.schema as Json)['@id'], 'dtmi:test:S0;1');
  });

  it('summarises a stored model whose schemas would expand without end within the element limit', () => {
    // As stored before validation bounded the expansion: 300 telemetry naming 6 chained Objects of 30 fields.
    const model: Json = {
      '@context': CONTEXT,
      '@id': 'dtmi:test:Stored;1',
      '@type': 'Interface',
      contents: Array.from({ length: 300 }, (_, i) => telemetry(`t${i}`, 'dtmi:test:S0;1')),
      schemas: chainedSchemas(6, 30),
    };
    const start = performance.now();
    const s = summarize(model);
    const json = JSON.stringify(s);
    assert.ok(performance.now() - start < QUICK_MS, `took ${Math.round(performance.now() - start)} ms`);
    assert.equal(s.telemetry.length, 300);
    assert.ok(json.length < 10_000_000, `summary is ${json.length} characters`);
    // Past the limit a reference stays its DTMI.
    assert.equal(s.telemetry[299]?.schema, 'dtmi:test:S0;1');
  });

  it('still inlines one interface named by many components once per place (the Thermostat ×2 file)', () => {
    const thermostat = { ...(clone(THERMOSTAT_MODEL) as Json), '@id': 'dtmi:test:T;1' };
    const root = {
      '@context': CONTEXT,
      '@id': 'dtmi:test:Root;1',
      '@type': 'Interface',
      contents: [
        { '@type': 'Component', name: 'one', schema: 'dtmi:test:T;1' },
        { '@type': 'Component', name: 'two', schema: 'dtmi:test:T;1' },
      ],
    };
    const s = summarize(parseTemplateBody([root, thermostat], ID).capabilityModel);
    assert.deepEqual(
      s.telemetry.map((t) => `${t.component}/${t.name}`),
      ['one/temperature', 'two/temperature'],
    );
  });
});

/** `levels` wrappers around `inner`, built without recursion. */
function deep(levels: number, wrap: (inner: unknown) => unknown, inner: unknown): unknown {
  let value = inner;
  for (let i = 0; i < levels; i++) value = wrap(value);
  return value;
}

/**
 * Documents nested thousands deep: JSON.parse reads them, but code that recurses over them
 * (inlining, the legacy converter, JSON.stringify when the template is stored) overflowed the
 * stack, a RangeError answered 500. Each is refused with ERR_DTDL_INVALID naming where.
 */
const DEEP_DOCUMENTS: Array<[string, unknown, string | RegExp]> = [
  [
    'inline extends 10,000 deep',
    {
      '@context': 'dtmi:dtdl:context;2',
      '@id': 'dtmi:test:Deep;1',
      '@type': 'Interface',
      extends: deep(10_000, (e) => ({ '@type': 'Interface', extends: e }), { '@type': 'Interface' }),
    },
    /^capabilityModel\.extends\.extends.*….*\.extends: the document nests deeper than 128 levels of JSON here$/,
  ],
  [
    'an Object in an Object … 10,000 deep',
    modelWith({
      contents: [
        telemetry(
          't',
          deep(10_000, (s) => ({ '@type': 'Object', fields: [{ name: 'f', schema: s }] }), 'double'),
        ),
      ],
    }),
    /^capabilityModel\.contents\[0\]\.schema\.fields\[0\]\.schema.*: the document nests deeper than 128 levels/,
  ],
  [
    'Maps of Maps 10,000 deep',
    modelWith({
      contents: [
        telemetry(
          't',
          deep(
            10_000,
            (s) => ({
              '@type': 'Map',
              mapKey: { name: 'k', schema: 'string' },
              mapValue: { name: 'v', schema: s },
            }),
            'double',
          ),
        ),
      ],
    }),
    'the document nests deeper than 128 levels',
  ],
  [
    'a 2020 capability model with Arrays 10,000 deep',
    {
      '@id': 'urn:test:Deep:1',
      '@type': 'CapabilityModel',
      contents: [
        telemetry(
          't',
          deep(10_000, (s) => ({ '@type': 'Array', elementSchema: s }), 'double'),
        ),
      ],
    },
    /^capabilityModel\.contents\[0\]\.schema\.elementSchema.*: the document nests deeper than 128 levels/,
  ],
  [
    'a term of another vocabulary holding arrays 10,000 deep (kept as is, then stored)',
    thermostatWith(telemetry('t', 'double', { 'ex:data': deep(10_000, (v) => [v], 0) })),
    /^capabilityModel\.contents\[4\]\.ex:data\[0\]\[0\].*: the document nests deeper than 128 levels/,
  ],
  [
    'a 2020 capability model with Arrays 6 deep (DTDL v2 allows 5)',
    {
      '@id': 'urn:test:Deep:1',
      '@type': 'CapabilityModel',
      contents: [telemetry('t', nest(6))],
    },
    'capabilityModel.contents[0].schema.elementSchema.elementSchema.elementSchema.elementSchema.elementSchema: complex schemas nest deeper than 5 levels',
  ],
];

describe('DTDL v2 resource limits: documents nested thousands deep are refused, not a stack overflow', () => {
  for (const [what, body, expected] of DEEP_DOCUMENTS) {
    it(`refuses ${what}`, () => expectDtdlRefusal(body, expected));
  }

  it('accepts a model nested as deep as DTDL v2 allows: extends 10 deep, a component extending 10 deep, a 5-level schema', () => {
    const schema = nestAround(4, { '@type': 'Object', fields: [{ name: 'f', schema: 'double' }] });
    /** An interface extending a chain of 10, the last with `contents`. */
    const chain = (prefix: string, contents: unknown[]): Json => {
      let iface: Json = { '@id': `dtmi:test:${prefix}10;1`, '@type': 'Interface', contents };
      for (let i = 9; i >= 0; i--) {
        iface = { '@id': `dtmi:test:${prefix}${i};1`, '@type': 'Interface', extends: iface };
      }
      return iface;
    };
    const capabilityModel = {
      ...chain('Root', [
        { '@type': 'Component', name: 'part', schema: chain('Part', [telemetry('deepest', schema)]) },
      ]),
      '@context': 'dtmi:dtdl:context;2',
    };
    const body = { '@type': ['ModelDefinition', 'DeviceModel'], displayName: 'Tall', capabilityModel };
    const s = summarize(parseTemplateBody(body, ID).capabilityModel);
    assert.deepEqual(
      s.telemetry.map((t) => `${t.component}/${t.name}`),
      ['part/deepest'],
    );
  });
});
