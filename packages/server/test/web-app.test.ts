/**
 * The web app on the API's port: its files are served without credentials, its
 * own routes fall back to index.html, hashed assets are cached for a year, and
 * the API keeps answering as before around it.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './helpers/test-server.js';

describe('web app serving', () => {
  let root: string;
  let server: TestServer;
  let empty: TestServer;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'gatehouse-web-'));
    await mkdir(join(root, 'assets'));
    await writeFile(join(root, 'index.html'), '<!doctype html><div id="root"></div>');
    await writeFile(join(root, 'assets', 'index-abc123.js'), 'console.log(1)');
    server = await startTestServer({ webRoot: root });
    empty = await startTestServer({ webRoot: join(root, 'missing') });
  });
  after(async () => {
    await server.stop();
    await empty.stop();
    await rm(root, { recursive: true, force: true });
  });

  const get = (s: TestServer, path: string) => fetch(s.baseUrl + path);

  it('serves index.html at / and at any app route, without credentials', async () => {
    for (const path of ['/', '/devices/dev-1', '/connection/groups/MyX509Group', '/dashboard?x=1']) {
      const res = await get(server, path);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      assert.equal(await res.text(), '<!doctype html><div id="root"></div>');
    }
  });

  it('sends the security headers with the app, its files and the not-built page', async () => {
    const expected: Array<[string, string]> = [
      [
        'content-security-policy',
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
      ],
      ['x-content-type-options', 'nosniff'],
      ['x-frame-options', 'DENY'],
      ['referrer-policy', 'no-referrer'],
    ];
    for (const [s, path] of [
      [server, '/'],
      [server, '/devices/dev-1'],
      [server, '/index.html'],
      [server, '/assets/index-abc123.js'],
      [empty, '/devices'],
    ] as const) {
      const res = await get(s, path);
      assert.equal(res.status, 200, path);
      for (const [name, value] of expected) assert.equal(res.headers.get(name), value, `${name} on ${path}`);
      const head = await fetch(s.baseUrl + path, { method: 'HEAD' });
      assert.equal(head.headers.get('content-security-policy'), expected[0]?.[1], `HEAD ${path}`);
    }
  });

  it('caches hashed assets for a year and answers 404 for a missing one', async () => {
    const res = await get(server, '/assets/index-abc123.js');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(await res.text(), 'console.log(1)');
    assert.equal((await get(server, '/assets/index-old.js')).status, 404);
  });

  it('leaves the API as it was: credentials required, unknown API paths are not the app', async () => {
    const devices = await get(server, '/api/devices');
    assert.equal(devices.status, 401);
    const unknown = await server.api('GET', '/api/nothing-here');
    assert.equal(unknown.status, 404);
    assert.equal((unknown.body as { error: { code: string } }).error.code, 'ERR_NOT_FOUND');
    assert.equal((await get(server, '/healthz')).status, 200);
  });

  it('a POST to an app route is still a 404 in the API envelope', async () => {
    const res = await fetch(server.baseUrl + '/devices', { method: 'POST' });
    assert.equal(res.status, 404);
  });

  it('says how to build the app when it is not built', async () => {
    const res = await get(empty, '/devices');
    assert.equal(res.status, 200);
    assert.match(await res.text(), /not built: run <code>npm run build<\/code>/);
  });
});
