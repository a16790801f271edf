/**
 * Documented response schemas (api/response-check.ts, HARDENING.md W1): what the check refuses,
 * that `GATEHOUSE_CHECK_RESPONSES=1` turns a nonconforming answer into a 500 naming the field,
 * that every operation of the OpenAPI document lists its success statuses and the error body,
 * and the REST fuzzer's document-side oracle (fuzz/fuzz-rest.ts `checkConformance`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import Fastify from 'fastify';

import { checkConformance, type Operation } from '../fuzz/fuzz-rest.js';
import { nonconformity, registerResponseCheck } from '../src/api/response-check.js';
import { DEVICE } from '../src/api/responses/devices.js';
import { doc, type Responses } from '../src/api/routes/schema.js';
import { startTestServer } from './helpers/test-server.js';

const device = {
  id: 'd1',
  etag: '"1"',
  displayName: 'D1',
  enabled: true,
  provisioned: false,
  simulated: false,
  status: { connected: false, lastActivity: null, lastConnected: null },
};
const error = { error: { code: 'ERR_NOT_FOUND', message: 'x', requestId: 'r', time: 't' } };

describe('response schemas', () => {
  const responses: Responses = { 200: DEVICE, 204: null };

  it('accepts what conforms', () => {
    assert.equal(nonconformity(responses, 200, device), undefined);
    assert.equal(nonconformity(responses, 200, { ...device, template: 'dtmi:x;1', extra: 1 }), undefined);
    assert.equal(nonconformity(responses, 204, undefined), undefined);
    assert.equal(nonconformity(responses, 404, error), undefined);
    assert.equal(nonconformity(undefined, 200, { anything: 1 }), undefined, 'an undocumented operation');
  });

  const refusals: Array<[string, number, unknown, RegExp]> = [
    [
      'a success status that is not listed',
      201,
      device,
      /status 201 is not documented \(documented: 200, 204\)/,
    ],
    ['a required field missing', 200, { ...device, etag: undefined }, /must have required property 'etag'/],
    ['a field of the wrong type', 200, { ...device, enabled: 'yes' }, /\/enabled must be boolean/],
    ['null where not nullable', 200, { ...device, displayName: null }, /\/displayName must be string/],
    ['a nested field wrong', 200, { ...device, status: { connected: 1 } }, /\/status/],
    ['a body on a 204', 204, {}, /status 204 documents no body/],
    ['an error without the envelope', 400, { message: 'bad' }, /must have required property 'error'/],
    [
      'an error code not in ERR_ form',
      409,
      { error: { ...error.error, code: 'Conflict' } },
      /\/error\/code must match pattern/,
    ],
    ['a 5xx without the envelope', 500, 'oops', /must be object/],
  ];
  for (const [what, status, body, why] of refusals) {
    it(`refuses ${what}`, () => {
      assert.match(nonconformity(responses, status, body) ?? '(accepted)', why);
    });
  }

  it('GATEHOUSE_CHECK_RESPONSES turns a nonconforming answer into a 500 that names the field', async () => {
    const app = Fastify();
    registerResponseCheck(app);
    app.get('/api/good', { schema: doc('T', 'good', { responses: { 200: DEVICE } }) }, async () => device);
    app.get('/api/bad', { schema: doc('T', 'bad', { responses: { 200: DEVICE } }) }, async () => ({
      ...device,
      provisioned: 'no',
    }));
    app.get(
      '/api/created',
      { schema: doc('T', 'created', { responses: { 200: DEVICE } }) },
      async (_r, reply) => reply.code(201).send(device),
    );
    app.get('/outside', { schema: doc('T', 'outside', { responses: { 200: DEVICE } }) }, async () => ({}));
    try {
      assert.equal((await app.inject({ url: '/api/good' })).statusCode, 200);
      const bad = await app.inject({ url: '/api/bad' });
      assert.equal(bad.statusCode, 500);
      assert.equal(bad.headers['x-ms-error-code'], 'ERR_RESPONSE_NONCONFORMING');
      assert.match(
        bad.json<typeof error>().error.message,
        /GET \/api\/bad answered 200.*\/provisioned must be boolean/,
      );
      const created = await app.inject({ url: '/api/created' });
      assert.equal(created.statusCode, 500);
      assert.match(created.json<typeof error>().error.message, /status 201 is not documented/);
      assert.equal((await app.inject({ url: '/outside' })).statusCode, 200, 'only /api is checked');
    } finally {
      await app.close();
    }
  });

  it('every operation of the OpenAPI document lists a success status and the error body', async () => {
    const server = await startTestServer({ webRoot: '' });
    try {
      const res = await server.api<{
        paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
      }>('GET', '/api/openapi.json');
      const paths = res.body.paths;
      const missing: string[] = [];
      let operations = 0;
      for (const [path, methods] of Object.entries(paths)) {
        for (const [method, op] of Object.entries(methods)) {
          operations++;
          const statuses = Object.keys(op.responses ?? {});
          if (
            !statuses.some((s) => /^2\d\d$/.test(s)) ||
            !statuses.includes('4XX') ||
            !statuses.includes('5XX')
          )
            missing.push(`${method.toUpperCase()} ${path}: ${statuses.join(', ')}`);
        }
      }
      assert.ok(operations > 100, `${operations} operations`);
      assert.deepEqual(missing, [], 'operations without a documented success');
      assert.equal(
        JSON.stringify(paths).includes('x-gatehouse-responses'),
        false,
        'the private key stays out',
      );
    } finally {
      await server.stop();
    }
  });
});

describe('the REST fuzzer checks answers against the document', () => {
  const op: Operation = {
    method: 'GET',
    path: '/api/devices/{id}',
    hasBody: false,
    responses: new Map<string, Record<string, unknown> | null>([
      ['200', DEVICE],
      ['204', null],
      ['4XX', { type: 'object', required: ['error'] }],
    ]),
  };
  const json = 'application/json; charset=utf-8';

  const cases: Array<[string, number, string, string, string | undefined]> = [
    ['a conforming body', 200, json, JSON.stringify(device), undefined],
    ['an error matched by its range', 404, json, JSON.stringify(error), undefined],
    ['a body that does not parse', 200, json, '{"id":', 'nonconforming-response'],
    ['a required field missing', 200, json, JSON.stringify({ id: 'd1' }), 'nonconforming-response'],
    [
      'an error body outside the range schema',
      409,
      json,
      JSON.stringify({ message: 'x' }),
      'nonconforming-response',
    ],
    ['a status the document does not list', 201, json, JSON.stringify(device), 'undocumented-status'],
    ['a 5xx with no range documented', 503, json, JSON.stringify(error), 'undocumented-status'],
    ['a non-JSON answer is not parsed', 200, 'text/csv', 'a,b\n', undefined],
  ];
  for (const [what, status, type, text, kind] of cases) {
    it(`${kind ?? 'passes'}: ${what}`, () => {
      assert.equal(checkConformance(op, status, type, text)?.kind, kind);
    });
  }
});
