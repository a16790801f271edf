/**
 * The web UI's session cookie, CSRF refusals on cookie-authenticated writes, and the security
 * headers of the REST/web listener (OWASP ASVS 5.0 3.3.x, 3.4.x, 3.5.x, 7.2.x, 7.4.1, 16.5.4),
 * on a real server over real HTTP. Plain HTTP is the listener itself; HTTPS is a reverse proxy
 * named by --http-trust-proxy saying `X-Forwarded-Proto: https`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from './helpers/test-server.js';
import { expectApiError } from './helpers/users.js';
import { call, cookieSignIn, UI_HEADER } from './helpers/web-client.js';

const ADMIN_PASSWORD = 'admin-password-for-cookies';
const HTTPS = { 'x-forwarded-proto': 'https' };

describe('session cookie', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ adminPassword: ADMIN_PASSWORD, httpTrustProxy: ['127.0.0.1'] });
  });
  after(() => server.stop());

  it('over HTTP: HttpOnly, SameSite=Strict, Path=/, no Secure; no token in the answer; the cookie authenticates', async () => {
    const { cookie, setCookie, answer } = await cookieSignIn(server, 'admin', ADMIN_PASSWORD);
    const m = /^gatehouse_session=[^;]+; Path=\/; Max-Age=(\d+); HttpOnly; SameSite=Strict$/.exec(setCookie);
    assert.ok(m, setCookie);
    const maxAge = Number(m[1]);
    assert.ok(maxAge > 43_000 && maxAge <= 43_200, `the cookie lives as the 12-hour session: ${maxAge} s`);
    assert.equal((answer.body as { token?: string }).token, undefined, 'the token stays out of the page');
    assert.equal(answer.headers.get('strict-transport-security'), null, 'no HSTS over plain HTTP');
    const session = await call(server, 'GET', '/api/session', { cookie });
    assert.equal(session.status, 200);
    assert.equal((session.body as { user: { id: string } }).user.id, 'admin');
  });

  it('over HTTPS: __Host- prefix, Secure, and HSTS of a year', async () => {
    const { cookie, setCookie, answer } = await cookieSignIn(server, 'admin', ADMIN_PASSWORD, HTTPS);
    assert.match(
      setCookie,
      /^__Host-gatehouse_session=[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict; Secure$/,
    );
    assert.equal(answer.headers.get('strict-transport-security'), 'max-age=31536000');
    assert.equal((await call(server, 'GET', '/api/session', { cookie, ...HTTPS })).status, 200);
  });

  it('a new random token at every sign-in (256 bits, base64url)', async () => {
    const tokens = new Set<string>();
    for (let i = 0; i < 3; i++) tokens.add((await cookieSignIn(server, 'admin', ADMIN_PASSWORD)).cookie);
    assert.equal(tokens.size, 3);
  });

  it('sign-out ends the session on the server and clears the cookie', async () => {
    const { cookie } = await cookieSignIn(server, 'admin', ADMIN_PASSWORD);
    const out = await call(server, 'DELETE', '/api/session', { cookie, ...UI_HEADER });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie') ?? '', /^gatehouse_session=; Path=\/; Max-Age=0; HttpOnly/);
    const again = await call(server, 'GET', '/api/session', { cookie });
    expectApiError(again, 401, 'ERR_UNAUTHENTICATED');
    assert.match(again.headers.get('set-cookie') ?? '', /Max-Age=0/, 'a dead cookie is cleared');
  });

  it('the cookie takes only sign-in sessions, never an API token secret', async () => {
    const res = await call(server, 'GET', '/api/devices', {
      cookie: `gatehouse_session=${TEST_ADMIN_TOKEN}`,
    });
    expectApiError(res, 401, 'ERR_UNAUTHENTICATED');
  });

  it('the Bearer token of a plain sign-in works as before (CLI, scripts)', async () => {
    const res = await call(
      server,
      'POST',
      '/api/session',
      {},
      { username: 'admin', password: ADMIN_PASSWORD },
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('set-cookie'), null);
    const token = (res.body as { token: string }).token;
    assert.equal(
      (await call(server, 'GET', '/api/session', { authorization: `Bearer ${token}` })).status,
      200,
    );
  });
});

describe('CSRF: cookie-authenticated writes need the UI header and a same-origin request', () => {
  let server: TestServer;
  let cookie: string;
  let origin: string;
  before(async () => {
    server = await startTestServer({ adminPassword: ADMIN_PASSWORD });
    cookie = (await cookieSignIn(server, 'admin', ADMIN_PASSWORD)).cookie;
    origin = server.baseUrl;
  });
  after(() => server.stop());

  const refusals: Array<{ name: string; method: string; headers: () => Record<string, string> }> = [
    { name: 'PUT without the header', method: 'PUT', headers: () => ({ cookie }) },
    { name: 'PATCH without the header', method: 'PATCH', headers: () => ({ cookie }) },
    { name: 'DELETE without the header', method: 'DELETE', headers: () => ({ cookie }) },
    {
      name: 'the header, but Sec-Fetch-Site: cross-site',
      method: 'PUT',
      headers: () => ({ cookie, ...UI_HEADER, 'sec-fetch-site': 'cross-site' }),
    },
    {
      name: 'the header, but Sec-Fetch-Site: same-site (a sibling host)',
      method: 'PUT',
      headers: () => ({ cookie, ...UI_HEADER, 'sec-fetch-site': 'same-site' }),
    },
    {
      name: 'the header, but Origin of another site',
      method: 'PUT',
      headers: () => ({ cookie, ...UI_HEADER, origin: 'http://evil.example' }),
    },
    {
      name: 'the header, but Origin: null (a sandboxed page)',
      method: 'PUT',
      headers: () => ({ cookie, ...UI_HEADER, origin: 'null' }),
    },
    {
      name: 'the header, but the same host over another scheme',
      method: 'PUT',
      headers: () => ({ cookie, ...UI_HEADER, origin: origin.replace('http:', 'https:') }),
    },
    {
      name: 'the header with a value other than 1',
      method: 'PUT',
      headers: () => ({ cookie, 'x-gatehouse-request': 'yes' }),
    },
  ];
  for (const r of refusals) {
    it(`refused: ${r.name}`, async () => {
      const res = await call(server, r.method, '/api/deviceGroups/csrf-target', r.headers(), {
        displayName: 'forged',
        filter: 'SELECT * FROM devices',
      });
      expectApiError(res, 403, 'ERR_CSRF_REFUSED');
      const state = await server.api('GET', '/api/deviceGroups/csrf-target');
      assert.notEqual((state.body as { displayName?: string }).displayName, 'forged', 'nothing changed');
    });
  }

  it('refused: a cookie sign-in (login CSRF) without the header or from another site', async () => {
    const body = { username: 'admin', password: ADMIN_PASSWORD, cookie: true };
    expectApiError(await call(server, 'POST', '/api/session', {}, body), 403, 'ERR_CSRF_REFUSED');
    expectApiError(
      await call(server, 'POST', '/api/session', { ...UI_HEADER, 'sec-fetch-site': 'cross-site' }, body),
      403,
      'ERR_CSRF_REFUSED',
    );
  });

  const accepted: Array<{ name: string; headers: () => Record<string, string> }> = [
    {
      name: 'the header alone (a client that sends no Fetch metadata)',
      headers: () => ({ cookie, ...UI_HEADER }),
    },
    {
      name: 'the header, same-origin and this Origin (what Chromium sends)',
      headers: () => ({ cookie, ...UI_HEADER, 'sec-fetch-site': 'same-origin', origin }),
    },
    {
      name: 'Bearer token with cross-site markers and no header: not a cookie, not affected',
      headers: () => ({
        authorization: `Bearer ${TEST_ADMIN_TOKEN}`,
        'sec-fetch-site': 'cross-site',
        origin: 'http://evil.example',
      }),
    },
  ];
  for (const a of accepted) {
    it(`accepted: ${a.name}`, async () => {
      const res = await call(server, 'PUT', '/api/deviceGroups/csrf-ok', a.headers(), {
        displayName: a.name.slice(0, 40),
        filter: 'SELECT * FROM devices',
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    });
  }

  it('reads need no header (GET changes nothing) and HEAD neither', async () => {
    assert.equal(
      (await call(server, 'GET', '/api/deviceGroups', { cookie, 'sec-fetch-site': 'cross-site' })).status,
      200,
    );
    assert.equal((await call(server, 'HEAD', '/api/session', { cookie })).status, 200);
  });

  it('no CORS: a preflight from another origin gets no Access-Control-Allow-* header', async () => {
    const res = await call(server, 'OPTIONS', '/api/deviceGroups/csrf-target', {
      origin: 'http://evil.example',
      'access-control-request-method': 'PUT',
      'access-control-request-headers': 'x-gatehouse-request, content-type',
    });
    assert.ok(res.status >= 400, `preflight answered ${res.status}`);
    for (const name of res.headers.keys()) assert.ok(!name.startsWith('access-control-'), name);
  });
});

describe('security headers and the last-resort error handler', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ adminPassword: ADMIN_PASSWORD });
  });
  after(() => server.stop());

  it('API answers: nosniff, no framing, no referrer, a policy that allows nothing', async () => {
    for (const path of ['/api/session', '/api/nothing-here', '/healthz']) {
      const res = await call(server, 'GET', path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
      assert.equal(
        res.headers.get('content-security-policy'),
        "default-src 'none'; frame-ancestors 'none'",
        path,
      );
    }
  });

  it('the web UI: a CSP with script-src self, object-src none, base-uri none, frame-ancestors none', async () => {
    for (const path of ['/', '/devices/x']) {
      const res = await call(server, 'GET', path);
      assert.equal(res.status, 200);
      const csp = res.headers.get('content-security-policy') ?? '';
      for (const directive of [
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
      ])
        assert.ok(csp.split('; ').includes(directive), `${path}: ${csp} lacks ${directive}`);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    }
  });

  it('an unexpected failure answers 500 ERR_INTERNAL with no stack trace and no internal detail', async () => {
    await server.db.schema.dropTable('dashboards').execute();
    const res = await server.api('GET', '/api/dashboards/default');
    expectApiError(res, 500, 'ERR_INTERNAL', /server log has the cause under this request ID/);
    const text = JSON.stringify(res.body);
    for (const leak of ['dashboards', 'SQLITE', 'no such table', '    at ', '.js:', 'stack'])
      assert.ok(!text.includes(leak), `the answer leaks '${leak}': ${text}`);
  });
});
