/**
 * The HTTP layer of the REST API: the one error envelope for fastify's own
 * refusals (JSON, size, media type, routes, methods) and for bugs, request IDs,
 * `/api/application`, `/healthz`, `/metrics` and the OpenAPI document.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { API_ERRORS } from '../src/api/index.js';
import type { HubApi } from '../src/hub/hub-api.js';
import { COMMON_ERRORS } from '../src/validation.js';
import { ADMIN_SECRET, apiHarness, expectError, ID_SCOPE, type ApiHarness } from './helpers/api-harness.js';

const GROUP = { displayName: 'G', type: 'iot', attestation: { type: 'x509' } };

describe('REST API over HTTP', () => {
  let h: ApiHarness;
  before(async () => {
    h = await apiHarness({ health: async () => ({ store: 'ok' }) });
  });
  after(async () => h.close());

  it('GET /api/application describes the endpoints', async () => {
    const res = await h.call('GET', '/api/application');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), {
      idScope: ID_SCOPE,
      hostName: 'gatehouse.test',
      endpoints: { mqtt: 'mqtts://gatehouse.test:8883', api: 'http://gatehouse.test:3000/api' },
      serverCaPath: '/data/server-ca.pem',
    });
  });

  it('refuses malformed JSON with ERR_BAD_REQUEST', async () => {
    for (const body of ['{"displayName":', '{bad}', 'undefined']) {
      expectError(
        await h.call('PUT', '/api/enrollmentGroups/json', body),
        400,
        'ERR_BAD_REQUEST',
        /not valid JSON/,
      );
    }
    // Prototype poisoning is refused, not merged.
    expectError(
      await h.call('PUT', '/api/enrollmentGroups/json', '{"__proto__":{"admin":true}}'),
      400,
      'ERR_BAD_REQUEST',
    );
    expectError(await h.call('GET', '/api/enrollmentGroups/json'), 404, 'ERR_GROUP_NOT_FOUND');
  });

  it('refuses other media types with 415', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      expectError(
        await h.call('PUT', '/api/enrollmentGroups/media', JSON.stringify(GROUP), undefined, {
          'content-type': type,
        }),
        415,
        'ERR_UNSUPPORTED_MEDIA_TYPE',
      );
    }
    const ok = await h.call('PUT', '/api/enrollmentGroups/media', JSON.stringify(GROUP), undefined, {
      'content-type': 'application/json; charset=utf-8',
    });
    assert.equal(ok.statusCode, 200);
  });

  it('refuses a body over 1 MiB with 413', async () => {
    const big = JSON.stringify({ ...GROUP, padding: 'x'.repeat(1024 * 1024) });
    expectError(await h.call('PUT', '/api/enrollmentGroups/big', big), 413, 'ERR_PAYLOAD_TOO_LARGE');
    expectError(await h.call('GET', '/api/enrollmentGroups/big'), 404, 'ERR_GROUP_NOT_FOUND');
  });

  it('answers an unknown route with 404 and a known path with a wrong method with 405', async () => {
    expectError(await h.call('GET', '/api/nothing-here'), 404, 'ERR_NOT_FOUND', /GET \/api\/nothing-here/);
    // Outside /api a path is the web app's (SPA fallback, ui-contract §C); a missing asset stays 404.
    const page = await h.call('GET', '/no/such/page', undefined, null);
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    expectError(await h.call('GET', '/assets/no-such-file.js', undefined, null), 404, 'ERR_NOT_FOUND');
    const res = await h.call('POST', '/api/enrollmentGroups/x', GROUP);
    expectError(res, 405, 'ERR_METHOD_NOT_ALLOWED');
    assert.equal(res.headers['allow'], 'DELETE, GET, HEAD, PATCH, PUT');
  });

  it('accepts and ignores api-version, and a trailing slash', async () => {
    assert.equal((await h.call('GET', '/api/enrollmentGroups?api-version=2022-07-31')).statusCode, 200);
    assert.equal((await h.call('GET', '/api/enrollmentGroups?api-version=1.2-preview')).statusCode, 200);
    assert.equal((await h.call('GET', '/api/enrollmentGroups/')).statusCode, 200);
  });

  it('gives every response a request ID', async () => {
    const a = await h.call('GET', '/api/roles');
    const b = await h.call('GET', '/api/roles');
    assert.match(String(a.headers['x-ms-request-id']), /^[0-9a-f-]{36}$/);
    assert.notEqual(a.headers['x-ms-request-id'], b.headers['x-ms-request-id']);
  });

  it('GET /healthz answers ok with the extra checks', async () => {
    const res = await h.call('GET', '/healthz', undefined, null);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok', store: 'ok' });
  });

  it('GET /metrics renders Prometheus text with requests by route and status', async () => {
    await h.call('GET', '/api/enrollmentGroups/nobody');
    const res = await h.call('GET', '/metrics', undefined, null);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(res.body, /^# TYPE gatehouse_http_requests_total counter$/m);
    assert.match(
      res.body,
      /^gatehouse_http_requests_total\{method="GET",route="\/api\/enrollmentGroups\/:id",status="404"\} [1-9]\d*$/m,
    );
    assert.match(
      res.body,
      /^gatehouse_http_requests_total\{method="GET",route="unmatched",status="404"\} [1-9]\d*$/m,
    );
  });

  it('GET /api/openapi.json documents every route with a summary and tags', async () => {
    const res = await h.call('GET', '/api/openapi.json', undefined, null);
    assert.equal(res.statusCode, 200);
    const doc = res.json() as {
      openapi: string;
      paths: Record<string, Record<string, { summary?: string; tags?: string[] }>>;
    };
    assert.match(doc.openapi, /^3\./);
    const expected: Array<[string, string[]]> = [
      ['/api/application', ['get']],
      ['/api/roles', ['get']],
      ['/api/roles/{roleId}', ['get']],
      ['/api/apiTokens', ['get']],
      ['/api/apiTokens/{tokenId}', ['get', 'put', 'delete']],
      ['/api/apiToken/{tokenId}', ['get', 'put', 'delete']],
      ['/api/enrollmentGroups', ['get']],
      ['/api/enrollmentGroups/{id}', ['get', 'put', 'patch', 'delete']],
      ['/api/enrollmentGroups/{id}/certificates/{entry}', ['get', 'put', 'delete']],
      ['/api/enrollmentGroups/{id}/certificates/{entry}/generateVerificationCode', ['post']],
      ['/api/enrollmentGroups/{id}/certificates/{entry}/verify', ['post']],
      ['/api/enrollmentGroups/{id}/crl', ['get', 'post']],
      ['/api/devices', ['get']],
      ['/api/devices/{id}', ['get', 'put', 'patch', 'delete']],
      ['/api/devices/{id}/attestation', ['get', 'put', 'delete']],
      ['/api/devices/{id}/credentials', ['get']],
      ['/api/deviceTemplates', ['get']],
      ['/api/deviceTemplates/{id}', ['get', 'put', 'patch', 'delete']],
      ['/api/devices/{id}/telemetry', ['get']],
      ['/api/devices/{id}/telemetry/{name}', ['get']],
      ['/api/devices/{id}/components/{component}/telemetry/{name}', ['get']],
      ['/api/devices/{id}/telemetry/{name}/series', ['get']],
      ['/api/devices/{id}/components/{component}/telemetry/{name}/series', ['get']],
      ['/api/deviceTemplates/{id}/telemetry/{name}/series', ['get']],
      ['/api/devices/{id}/properties', ['get', 'put', 'patch']],
      ['/api/devices/{id}/commands/{name}', ['get', 'post']],
      ['/api/devices/{id}/components/{component}/commands/{name}', ['get', 'post']],
      ['/api/devices/{id}/components/{component}/properties', ['get', 'patch', 'put']],
      ['/api/devices/{id}/messages', ['get', 'post']],
      ['/api/devices/{id}/tags', ['get', 'put', 'patch']],
      ['/api/devices/{id}/events', ['get']],
      ['/api/events', ['get']],
      ['/api/provisioning/attempts', ['get']],
      ['/healthz', ['get']],
      ['/readyz', ['get']],
      ['/metrics', ['get']],
      ['/api/openapi.json', ['get']],
      ['/api/session', ['get', 'post', 'delete']],
      ['/api/session/password', ['post']],
      ['/api/users', ['get']],
      ['/api/users/{userId}', ['get', 'put', 'patch', 'delete']],
      ['/api/dashboards', ['get']],
      ['/api/dashboards/{dashboardId}', ['get', 'put']],
      ['/api/certificates', ['get']],
      ['/api/stats', ['get']],
      ['/api/deviceGroups', ['get']],
      ['/api/deviceGroups/{id}', ['get', 'put', 'patch', 'delete']],
      ['/api/deviceGroups/{id}/devices', ['get']],
      ['/api/deviceGroups/{id}/telemetry/{name}/series', ['get']],
      ['/api/jobs', ['get']],
      ['/api/jobs/{id}', ['get', 'put']],
      ['/api/jobs/{id}/devices', ['get']],
      ['/api/jobs/{id}/stop', ['post']],
      ['/api/jobs/{id}/resume', ['post']],
      ['/api/jobs/{id}/rerun/{rerunId}', ['put']],
      ['/api/scheduledJobs', ['get']],
      ['/api/scheduledJobs/{id}', ['get', 'put', 'patch', 'delete']],
      ['/api/scheduledJobs/{id}/jobs', ['get']],
    ];
    assert.deepEqual(Object.keys(doc.paths).sort(), expected.map(([p]) => p).sort());
    for (const [path, methods] of expected) {
      assert.deepEqual(Object.keys(doc.paths[path] ?? {}).sort(), [...methods].sort(), path);
      for (const m of methods) {
        const op = doc.paths[path]?.[m];
        assert.ok(op?.summary, `${m} ${path} has a summary`);
        assert.ok(op?.tags?.length, `${m} ${path} has tags`);
      }
    }
  });

  it('every code the API adds is documented with a status and a summary', () => {
    for (const [code, spec] of Object.entries({ ...COMMON_ERRORS, ...API_ERRORS })) {
      assert.match(code, /^ERR_[A-Z0-9_]+$/);
      assert.ok(spec.status >= 400 && spec.status < 600, code);
      assert.ok(spec.summary.length > 10, code);
    }
  });
});

describe('GET /api/application with HTTPS and a port chosen at listen time', () => {
  it('lists the https endpoint and takes the API address from the request', async () => {
    const h = await apiHarness({
      application: {
        idScope: ID_SCOPE,
        hostName: 'gw.example',
        mqttPort: 8883,
        httpPort: 0,
        httpsPort: 443,
        serverCaPath: '/ca.pem',
      },
    });
    try {
      const res = await h.call('GET', '/api/application', undefined, undefined, { host: '127.0.0.1:41234' });
      assert.deepEqual((res.json() as { endpoints: unknown }).endpoints, {
        mqtt: 'mqtts://gw.example:8883',
        https: 'https://gw.example:443',
        api: 'http://127.0.0.1:41234/api',
      });
    } finally {
      await h.close();
    }
  });
});

describe('unexpected errors', () => {
  it('answer ERR_INTERNAL 500, log the cause, and never send it', async () => {
    const broken = {
      listDevices: async () => {
        throw new Error('database file is locked at /secret/path');
      },
    } as unknown as HubApi;
    const h = await apiHarness({ hub: broken });
    try {
      const res = await h.call('GET', '/api/devices');
      const message = expectError(res, 500, 'ERR_INTERNAL', /request ID/);
      assert.ok(!res.body.includes('/secret/path'));
      assert.ok(!message.includes('locked'));
      const logged = h.logLines.find(
        (l) => l['reqId'] === res.headers['x-ms-request-id'] && l['level'] === 50,
      );
      assert.ok(logged, 'the failure is logged under the request ID');
      assert.match(JSON.stringify(logged['err']), /\/secret\/path/);
    } finally {
      await h.close();
    }
  });

  it('a failing health check answers 503', async () => {
    const h = await apiHarness({
      health: async () => {
        throw new Error('store down');
      },
    });
    try {
      const res = await h.call('GET', '/healthz', undefined, null);
      assert.equal(res.statusCode, 503);
      assert.deepEqual(res.json(), { status: 'unavailable' });
    } finally {
      await h.close();
    }
  });

  it('the harness admin secret is the bootstrap token', async () => {
    const h = await apiHarness();
    try {
      assert.equal(
        (await h.call('GET', '/api/apiTokens/admin', undefined, `Bearer ${ADMIN_SECRET}`)).statusCode,
        200,
      );
    } finally {
      await h.close();
    }
  });
});
