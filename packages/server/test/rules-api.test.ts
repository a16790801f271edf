/**
 * `/api/rules` over a real server: create or replace, read, merge patch, delete, list paging,
 * and every refusal of issue 12 (a 4xx whose message names the field, and nothing changed):
 * unknown template or capability, a threshold of the wrong type, more rules or actions than
 * the limits, an e-mail action without --smtp-url, a bad e-mail address, a webhook URL that
 * is not http(s), and a malformed filter.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { RULE_TEMPLATE, prepareRules } from './helpers/rules-fixtures.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

type ErrorBody = { error: { code: string; message: string } };

const rule = (more: Record<string, unknown> = {}) => ({
  displayName: 'Too hot',
  target: { template: RULE_TEMPLATE },
  conditions: { match: 'all', items: [{ capability: 'temperature', operator: '>', value: 30 }] },
  actions: [{ type: 'webhook', displayName: 'Hook', url: 'http://127.0.0.1:9/hook' }],
  ...more,
});

describe('/api/rules', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ webRoot: '' });
    await prepareRules(server);
  });
  after(() => server.stop());

  it('PUT creates (200), GET reads it back, PUT replaces, PATCH merges, DELETE answers 204', async () => {
    const put = await server.api<Record<string, unknown>>('PUT', '/api/rules/hot', rule());
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body['id'], 'hot');
    assert.equal(put.body['enabled'], true);
    assert.deepEqual(put.body['conditions'], {
      match: 'all',
      items: [{ type: 'telemetry', capability: 'temperature', operator: '>', value: 30 }],
    });
    assert.deepEqual(put.body['actions'], [
      { id: 'action-1', type: 'webhook', displayName: 'Hook', url: 'http://127.0.0.1:9/hook' },
    ]);
    const get = await server.api<Record<string, unknown>>('GET', '/api/rules/hot');
    assert.deepEqual(get.body, put.body);

    const replaced = await server.api<Record<string, unknown>>(
      'PUT',
      '/api/rules/hot',
      rule({ displayName: 'Hot' }),
    );
    assert.equal(replaced.body['displayName'], 'Hot');
    assert.notEqual(replaced.body['etag'], put.body['etag']);

    const patched = await server.api<Record<string, unknown>>('PATCH', '/api/rules/hot', {
      enabled: false,
      conditions: { match: 'any' },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body['enabled'], false);
    assert.equal((patched.body['conditions'] as { match: string }).match, 'any');
    assert.equal((patched.body['conditions'] as { items: unknown[] }).items.length, 1);

    assert.equal((await server.api('DELETE', '/api/rules/hot')).status, 204);
    const gone = await server.api<ErrorBody>('GET', '/api/rules/hot');
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, 'ERR_RULE_NOT_FOUND');
    assert.equal((await server.api<ErrorBody>('DELETE', '/api/rules/hot')).status, 404);
  });

  it('lists the rules with paging (maxpagesize and nextLink)', async () => {
    for (const id of ['page-a', 'page-b', 'page-c']) {
      assert.equal((await server.api('PUT', `/api/rules/${id}`, rule({ displayName: id }))).status, 200);
    }
    const first = await server.api<{ value: { id: string }[]; nextLink?: string }>(
      'GET',
      '/api/rules?maxpagesize=2',
    );
    assert.deepEqual(
      first.body.value.map((r) => r.id),
      ['page-a', 'page-b'],
    );
    assert.ok(first.body.nextLink);
    const next = new URL(first.body.nextLink);
    const second = await server.api<{ value: { id: string }[]; nextLink?: string }>(
      'GET',
      next.pathname + next.search,
    );
    assert.deepEqual(
      second.body.value.map((r) => r.id),
      ['page-c'],
    );
    assert.equal(second.body.nextLink, undefined);
    for (const id of ['page-a', 'page-b', 'page-c']) await server.api('DELETE', `/api/rules/${id}`);
  });

  const refusals: Array<{ name: string; body: unknown; status: number; code: string; field: RegExp }> = [
    {
      name: 'an unknown template',
      body: rule({ target: { template: 'dtmi:test:Nothing;1' } }),
      status: 400,
      code: 'ERR_RULE_INVALID',
      field: /^target\.template: 'dtmi:test:Nothing;1' is not a device template/,
    },
    {
      name: 'an unknown telemetry field',
      body: rule({ conditions: { items: [{ capability: 'pressure', operator: '>', value: 1 }] } }),
      status: 400,
      code: 'ERR_RULE_INVALID',
      field: /^conditions\.items\[0\]\.capability: 'pressure' is not telemetry/,
    },
    {
      name: 'an unknown property',
      body: rule({
        conditions: { items: [{ type: 'property', capability: 'colour', operator: '==', value: 'red' }] },
      }),
      status: 400,
      code: 'ERR_RULE_INVALID',
      field: /^conditions\.items\[0\]\.capability: 'colour' is not a property/,
    },
    {
      name: 'a string threshold on numeric telemetry',
      body: rule({ conditions: { items: [{ capability: 'temperature', operator: '>', value: 'hot' }] } }),
      status: 400,
      code: 'ERR_RULE_INVALID',
      field: /^conditions\.items\[0\]\.value: must be a number .*not a string/,
    },
    {
      name: 'contains on numeric telemetry',
      body: rule({
        conditions: { items: [{ capability: 'temperature', operator: 'contains', value: '3' }] },
      }),
      status: 400,
      code: 'ERR_RULE_INVALID',
      field: /^conditions\.items\[0\]\.operator: contains compares strings/,
    },
    {
      name: 'a cloud property threshold of another type',
      body: rule({
        conditions: { items: [{ capability: 'temperature', operator: '>', cloudProperty: 'city' }] },
      }),
      status: 400,
      code: 'ERR_RULE_INVALID',
      field: /^conditions\.items\[0\]\.cloudProperty: 'city' is not a number/,
    },
    {
      name: 'a device property as a cloud property threshold',
      body: rule({
        conditions: { items: [{ capability: 'temperature', operator: '>', cloudProperty: 'battery' }] },
      }),
      status: 400,
      code: 'ERR_RULE_INVALID',
      field: /^conditions\.items\[0\]\.cloudProperty: 'battery' is not a cloud property/,
    },
    {
      name: 'an unknown operator',
      body: rule({ conditions: { items: [{ capability: 'temperature', operator: '~', value: 1 }] } }),
      status: 400,
      code: 'ERR_RULE_INVALID',
      field: /^conditions\.items\[0\]\.operator:/,
    },
    {
      name: 'a window that is not offered',
      body: rule({
        conditions: {
          aggregationWindow: 'PT2M',
          items: [{ capability: 'temperature', operator: '>', value: 1, aggregation: 'avg' }],
        },
      }),
      status: 400,
      code: 'ERR_RULE_INVALID',
      field: /^conditions\.aggregationWindow: must be one of PT5M/,
    },
    {
      name: 'a window with an unaggregated condition',
      body: rule({
        conditions: {
          aggregationWindow: 'PT5M',
          items: [{ capability: 'temperature', operator: '>', value: 1 }],
        },
      }),
      status: 400,
      code: 'ERR_RULE_INVALID',
      field: /^conditions\.items\[0\]\.aggregation: is required/,
    },
    {
      name: 'six actions',
      body: rule({
        actions: Array.from({ length: 6 }, (_, i) => ({ type: 'webhook', url: `http://127.0.0.1:9/${i}` })),
      }),
      status: 400,
      code: 'ERR_RULE_INVALID',
      field: /^actions: at most 5 actions per rule \(6 given\)/,
    },
    {
      name: 'an e-mail action without --smtp-url',
      body: rule({ actions: [{ type: 'email', displayName: 'Mail', to: ['ops@example.com'] }] }),
      status: 400,
      code: 'ERR_RULE_SMTP_NOT_CONFIGURED',
      field: /^actions\[0\]\.type: e-mail actions need an SMTP server/,
    },
    {
      name: 'a bad e-mail address',
      body: rule({
        actions: [{ type: 'email', displayName: 'Mail', to: ['ops@example.com', 'not an address'] }],
      }),
      status: 400,
      code: 'ERR_RULE_INVALID',
      field: /^actions\[0\]\.to\[1\]: 'not an address' is not an e-mail address/,
    },
    {
      name: 'a webhook URL that is not http(s)',
      body: rule({ actions: [{ type: 'webhook', url: 'ftp://example.com/hook' }] }),
      status: 400,
      code: 'ERR_RULE_INVALID',
      field: /^actions\[0\]\.url: must be http or https, not ftp/,
    },
    {
      name: 'a webhook URL that is not a URL',
      body: rule({ actions: [{ type: 'webhook', url: 'example.com/hook' }] }),
      status: 400,
      code: 'ERR_RULE_INVALID',
      field: /^actions\[0\]\.url: 'example.com\/hook' is not a URL/,
    },
    {
      name: 'a filter that does not parse',
      body: rule({ target: { template: RULE_TEMPLATE, filter: 'SELECT * FROM devices WHERE $id ==' } }),
      status: 400,
      code: 'ERR_DEVICE_QUERY_INVALID',
      field: /^target\.filter: /,
    },
    {
      name: 'mixed condition types',
      body: rule({
        conditions: {
          items: [
            { capability: 'temperature', operator: '>', value: 1 },
            { type: 'disconnected', minutes: 5 },
          ],
        },
      }),
      status: 400,
      code: 'ERR_RULE_INVALID',
      field: /^conditions\.items\[1\]\.type: a rule's conditions are all of one type/,
    },
    {
      name: 'a disconnected condition of 0 minutes',
      body: rule({ conditions: { items: [{ type: 'disconnected', minutes: 0 }] } }),
      status: 400,
      code: 'ERR_RULE_INVALID',
      field: /^conditions\.items\[0\]\.minutes: must be a whole number of minutes from 1/,
    },
  ];

  for (const r of refusals) {
    it(`refuses ${r.name} naming the field, and changes nothing`, async () => {
      await server.api('PUT', '/api/rules/kept', rule({ displayName: 'Kept' }));
      const before = await server.api<Record<string, unknown>>('GET', '/api/rules/kept');
      const created = await server.api<ErrorBody>('PUT', '/api/rules/new-one', r.body);
      assert.equal(created.status, r.status, JSON.stringify(created.body));
      assert.equal(created.body.error.code, r.code);
      assert.match(created.body.error.message, r.field);
      assert.equal((await server.api('GET', '/api/rules/new-one')).status, 404);
      const replaced = await server.api<ErrorBody>('PUT', '/api/rules/kept', r.body);
      assert.equal(replaced.status, r.status);
      assert.match(replaced.body.error.message, r.field);
      assert.deepEqual((await server.api('GET', '/api/rules/kept')).body, before.body);
    });
  }

  it('refuses a PATCH whose result is invalid, and keeps the rule', async () => {
    await server.api('PUT', '/api/rules/kept', rule({ displayName: 'Kept' }));
    const before = await server.api('GET', '/api/rules/kept');
    const r = await server.api<ErrorBody>('PATCH', '/api/rules/kept', {
      actions: [{ type: 'webhook', url: 'file:///etc/passwd' }],
    });
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /^actions\[0\]\.url: must be http or https, not file/);
    assert.deepEqual((await server.api('GET', '/api/rules/kept')).body, before.body);
  });

  it('refuses the 51st rule (409 ERR_RULE_LIMIT) and creates nothing; replacing one still works', async () => {
    const existing = (await server.api<{ value: unknown[] }>('GET', '/api/rules')).body.value.length;
    for (let i = existing; i < 50; i++) {
      const r = await server.api('PUT', `/api/rules/limit-${i}`, rule({ displayName: `Limit ${i}` }));
      assert.equal(r.status, 200);
    }
    const over = await server.api<ErrorBody>('PUT', '/api/rules/one-too-many', rule());
    assert.equal(over.status, 409);
    assert.equal(over.body.error.code, 'ERR_RULE_LIMIT');
    assert.match(over.body.error.message, /^rules: this application has 50 rules/);
    assert.equal((await server.api('GET', '/api/rules/one-too-many')).status, 404);
    assert.equal((await server.api<{ value: unknown[] }>('GET', '/api/rules')).body.value.length, 50);
    assert.equal(
      (await server.api('PUT', '/api/rules/kept', rule({ displayName: 'Still kept' }))).status,
      200,
    );
  });

  it('refuses a bad rule ID and reads history only of existing rules and devices', async () => {
    const bad = await server.api<ErrorBody>('PUT', '/api/rules/bad%20id', rule());
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'ERR_INVALID_ID');
    const missing = await server.api<ErrorBody>('GET', '/api/rules/nothing-here/history');
    assert.equal(missing.status, 404);
    const empty = await server.api<{ value: unknown[] }>('GET', '/api/rules/kept/history');
    assert.deepEqual(empty.body, { value: [] });
    // A device's own view of its firings exists while the device does (the fuzzer's
    // delete-then-use sequence found it answering 200 for a deleted device).
    const nobody = await server.api<ErrorBody>('GET', '/api/devices/nobody/ruleHistory');
    assert.equal(nobody.status, 404);
    assert.equal(nobody.body.error.code, 'ERR_DEVICE_NOT_FOUND');
    assert.equal((await server.api('PUT', '/api/devices/somebody', { displayName: 'S' })).status, 200);
    const none = await server.api<{ value: unknown[] }>('GET', '/api/devices/somebody/ruleHistory');
    assert.deepEqual(none.body, { value: [] });
    assert.equal((await server.api('DELETE', '/api/devices/somebody')).status, 204);
    assert.equal((await server.api('GET', '/api/devices/somebody/ruleHistory')).status, 404);
  });

  it('documents its routes in the OpenAPI document, each with a summary and the Rules tag', async () => {
    const doc = await server.api<{
      paths: Record<string, Record<string, { summary?: string; tags?: string[] }>>;
    }>('GET', '/api/openapi.json');
    const expected: Array<[string, string[]]> = [
      ['/api/rules', ['get']],
      ['/api/rules/{id}', ['delete', 'get', 'patch', 'put']],
      ['/api/rules/{id}/history', ['get']],
      ['/api/devices/{id}/ruleHistory', ['get']],
    ];
    for (const [path, methods] of expected) {
      assert.deepEqual(Object.keys(doc.body.paths[path] ?? {}).sort(), methods, path);
      for (const m of methods) {
        assert.ok(doc.body.paths[path]![m]!.summary, `${m} ${path} has a summary`);
        assert.deepEqual(doc.body.paths[path]![m]!.tags, ['Rules']);
      }
    }
  });
});
