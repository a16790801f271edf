/**
 * `/api/devices/{id}/tags`: IoT Hub's twin tags over REST (a Gatehouse extension), on a real
 * server. Replace, merge-patch with null removing, kept apart from the twin the device sees,
 * gone with the device; every refusal is a 400 ERR_TAGS_INVALID that says which rule failed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startTestServer, type TestServer } from './helpers/test-server.js';

describe('REST device tags', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ webRoot: '' });
    assert.equal((await server.api('PUT', '/api/devices/tagged', { displayName: 'Tagged' })).status, 200);
  });
  after(async () => {
    await server?.stop();
  });

  it('starts empty; PUT replaces, PATCH merges and null removes', async () => {
    assert.deepEqual((await server.api('GET', '/api/devices/tagged/tags')).body, {});
    const put = await server.api('PUT', '/api/devices/tagged/tags', {
      location: { building: '43', floor: 2 },
      owner: 'ops',
    });
    assert.equal(put.status, 200);
    const patched = await server.api('PATCH', '/api/devices/tagged/tags', {
      location: { floor: 3 },
      owner: null,
      customer: 'contoso',
    });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.body, { location: { building: '43', floor: 3 }, customer: 'contoso' });
    assert.deepEqual((await server.api('GET', '/api/devices/tagged/tags')).body, patched.body);
    // Tags are the solution's: the device's desired properties do not carry them.
    const properties = await server.api<Record<string, unknown>>('GET', '/api/devices/tagged/properties');
    assert.equal(properties.body['customer'], undefined);
  });

  const deep = (levels: number): Record<string, unknown> => {
    let value: Record<string, unknown> = { leaf: 1 };
    for (let i = 1; i < levels; i++) value = { n: value };
    return value;
  };
  // A __proto__ name never reaches the tags: the JSON body parser refuses it first.
  const refusals: Array<[string, string, unknown, RegExp, string?]> = [
    ['an array', 'PUT', ['a'], /must be a JSON object/],
    ['a string', 'PATCH', 'north', /must be a JSON object/],
    ['a name starting with $', 'PUT', { $version: 1 }, /starts with '\$'/],
    ['nesting past 10 levels', 'PUT', deep(11), /deeper than 10 levels/],
    ['a __proto__ name', 'PATCH', JSON.parse('{"__proto__":{"x":1}}'), /./, 'ERR_BAD_REQUEST'],
    ['more than 8 KB', 'PUT', { big: 'x'.repeat(9000) }, /at most 8192/],
  ];
  for (const [what, method, body, message, code = 'ERR_TAGS_INVALID'] of refusals) {
    it(`refuses ${what} with 400 ${code} and changes nothing`, async () => {
      const before = (await server.api('GET', '/api/devices/tagged/tags')).body;
      const r = await server.api<{ error: { code: string; message: string } }>(
        method,
        '/api/devices/tagged/tags',
        body,
      );
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error.code, code);
      assert.match(r.body.error.message, message);
      assert.deepEqual((await server.api('GET', '/api/devices/tagged/tags')).body, before);
    });
  }

  it('accepts exactly 10 levels', async () => {
    assert.equal((await server.api('PUT', '/api/devices/tagged/tags', deep(10))).status, 200);
  });

  it('answers 404 for a device that does not exist, and the tags go with a deleted device', async () => {
    const missing = await server.api<{ error: { code: string } }>('GET', '/api/devices/nobody/tags');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'ERR_DEVICE_NOT_FOUND');
    assert.equal((await server.api('PUT', '/api/devices/short-lived', { displayName: 'x' })).status, 200);
    assert.equal((await server.api('PUT', '/api/devices/short-lived/tags', { a: 1 })).status, 200);
    assert.equal((await server.api('DELETE', '/api/devices/short-lived')).status, 204);
    assert.equal((await server.api('PUT', '/api/devices/short-lived', { displayName: 'x' })).status, 200);
    assert.deepEqual((await server.api('GET', '/api/devices/short-lived/tags')).body, {});
  });

  it('needs credentials', async () => {
    const r = await fetch(`${server.baseUrl}/api/devices/tagged/tags`);
    assert.equal(r.status, 401);
  });
});

describe('checkTags (what an import reads from a file, where JSON.parse keeps __proto__)', () => {
  it('refuses a __proto__ name', async () => {
    const { checkTags } = await import('../src/hub/device-tags.js');
    assert.throws(
      () => checkTags(JSON.parse('{"__proto__":{"polluted":true}}'), "'tags'"),
      (err: unknown) =>
        (err as { code?: string }).code === 'ERR_TAGS_INVALID' && /__proto__/.test(String(err)),
    );
  });
});
