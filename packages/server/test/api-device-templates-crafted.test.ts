/**
 * Crafted DTDL bodies PUT to `/api/deviceTemplates` over a real server: JSON nested 10,000 deep
 * and models that expand to millions of elements, each of which once answered 500 or took
 * seconds of CPU, now refused with 400 ERR_DTDL_INVALID, quickly, creating nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { DeviceTemplate } from '../src/app/device-templates.js';
import { enc, expectError } from './helpers/device-templates-fixtures.js';
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from './helpers/test-server.js';

describe('REST device templates', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => server?.stop());

  const get = (id: string) => server.api<DeviceTemplate>('GET', `/api/deviceTemplates/${enc(id)}`);

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
});
