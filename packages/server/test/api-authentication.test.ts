/**
 * REST API authentication (DESIGN.md security rules): both header forms IoT Central clients
 * send (Bearer and the SharedAccessSignature token text), and every missing, malformed, wrong,
 * revoked or expired credential answered 401; the open health, metrics and OpenAPI routes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ADMIN_SECRET,
  ADMINISTRATOR,
  apiHarness,
  expectError,
  OPERATOR,
  type ApiHarness,
} from './helpers/api-harness.js';

describe('authentication', () => {
  let h: ApiHarness;
  before(async () => {
    h = await apiHarness();
  });
  after(async () => h.close());

  it('accepts Bearer <secret> and the SharedAccessSignature token text', async () => {
    const t = await h.token('both-forms', [OPERATOR]);
    assert.equal(
      (await h.call('GET', '/api/enrollmentGroups', undefined, `Bearer ${t.secret}`)).statusCode,
      200,
    );
    assert.equal(
      (await h.call('GET', '/api/enrollmentGroups', undefined, `bearer ${t.secret}`)).statusCode,
      200,
    );
    assert.equal((await h.call('GET', '/api/enrollmentGroups', undefined, t.sas)).statusCode, 200);
    // Fields in another order, as any client may write them.
    const reordered = t.sas.replace(
      /^SharedAccessSignature (.*)$/,
      (_m, f: string) => `SharedAccessSignature ${f.split('&').reverse().join('&')}`,
    );
    assert.equal((await h.call('GET', '/api/enrollmentGroups', undefined, reordered)).statusCode, 200);
  });

  it('refuses a missing header', async () => {
    expectError(
      await h.call('GET', '/api/enrollmentGroups', undefined, null),
      401,
      'ERR_UNAUTHENTICATED',
      /missing/,
    );
    expectError(
      await h.call('GET', '/api/enrollmentGroups', undefined, '   '),
      401,
      'ERR_UNAUTHENTICATED',
      /missing/,
    );
  });

  it('refuses an unknown scheme', async () => {
    expectError(
      await h.call('GET', '/api/enrollmentGroups', undefined, 'Basic YWRtaW46YWRtaW4='),
      401,
      'ERR_UNAUTHENTICATED',
      /scheme 'Basic'/,
    );
    expectError(
      await h.call('GET', '/api/enrollmentGroups', undefined, ADMIN_SECRET),
      401,
      'ERR_UNAUTHENTICATED',
      /not supported/,
    );
  });

  it('refuses malformed credentials', async () => {
    const malformed = [
      'Bearer',
      'Bearer two words',
      'SharedAccessSignature',
      'SharedAccessSignature sr=x&sig=abc',
      'SharedAccessSignature sr=x&skn=admin&se=1',
      'SharedAccessSignature sr=x&sig=abc&skn=admin&se=soon',
      'SharedAccessSignature sr=x&sig=abc&sig=abc&skn=admin',
      'SharedAccessSignature sr=x&garbage&skn=admin',
      'SharedAccessSignature sr=x&sig=%E0%A4%A&skn=admin',
      `Bearer ${'x'.repeat(5000)}`,
    ];
    for (const header of malformed) {
      expectError(
        await h.call('GET', '/api/enrollmentGroups', undefined, header),
        401,
        'ERR_UNAUTHENTICATED',
        /malformed/,
      );
    }
  });

  it('refuses a wrong secret, with Bearer and with SAS', async () => {
    const t = await h.token('wrong-secret', [ADMINISTRATOR]);
    const wrong = 'A'.repeat(43);
    expectError(
      await h.call('GET', '/api/enrollmentGroups', undefined, `Bearer ${wrong}`),
      401,
      'ERR_UNAUTHENTICATED',
      /unknown or revoked/,
    );
    expectError(
      await h.call('GET', '/api/enrollmentGroups', undefined, t.sas.replace(t.secret, wrong)),
      401,
      'ERR_UNAUTHENTICATED',
      /unknown or revoked/,
    );
    // Another token's secret under this token's ID.
    expectError(
      await h.call('GET', '/api/enrollmentGroups', undefined, t.sas.replace(t.secret, ADMIN_SECRET)),
      401,
      'ERR_UNAUTHENTICATED',
      /unknown or revoked/,
    );
    expectError(
      await h.call(
        'GET',
        '/api/enrollmentGroups',
        undefined,
        t.sas.replace('skn=wrong-secret', 'skn=nobody'),
      ),
      401,
      'ERR_UNAUTHENTICATED',
      /unknown or revoked/,
    );
  });

  it('refuses a revoked (deleted) token', async () => {
    const t = await h.token('revoked', [ADMINISTRATOR]);
    assert.equal((await h.call('GET', '/api/enrollmentGroups', undefined, t.sas)).statusCode, 200);
    assert.equal((await h.call('DELETE', '/api/apiTokens/revoked')).statusCode, 204);
    expectError(
      await h.call('GET', '/api/enrollmentGroups', undefined, `Bearer ${t.secret}`),
      401,
      'ERR_UNAUTHENTICATED',
      /revoked/,
    );
    expectError(
      await h.call('GET', '/api/enrollmentGroups', undefined, t.sas),
      401,
      'ERR_UNAUTHENTICATED',
      /revoked/,
    );
  });

  it('refuses an expired token, with Bearer and with SAS', async () => {
    const expiry = new Date(Date.now() + 24 * 3600 * 1000).toISOString();
    const t = await h.token('short-lived', [ADMINISTRATOR], expiry);
    assert.equal(
      (await h.call('GET', '/api/enrollmentGroups', undefined, `Bearer ${t.secret}`)).statusCode,
      200,
    );
    h.clock.offsetMs = 2 * 24 * 3600 * 1000;
    try {
      expectError(
        await h.call('GET', '/api/enrollmentGroups', undefined, `Bearer ${t.secret}`),
        401,
        'ERR_UNAUTHENTICATED',
        /expired/,
      );
      expectError(
        await h.call('GET', '/api/enrollmentGroups', undefined, t.sas),
        401,
        'ERR_UNAUTHENTICATED',
        /expired/,
      );
    } finally {
      h.clock.offsetMs = 0;
    }
  });

  it('refuses a SAS whose se has passed, even if the token itself is still valid', async () => {
    const t = await h.token('se-check', [ADMINISTRATOR]);
    const stale = t.sas.replace(/se=\d+$/, `se=${Date.now() - 1000}`);
    expectError(
      await h.call('GET', '/api/enrollmentGroups', undefined, stale),
      401,
      'ERR_UNAUTHENTICATED',
      /expired/,
    );
  });

  it('an unknown /api route asks for credentials first', async () => {
    expectError(await h.call('GET', '/api/nothing-here', undefined, null), 401, 'ERR_UNAUTHENTICATED');
    expectError(await h.call('GET', '/api/nothing-here'), 404, 'ERR_NOT_FOUND');
  });

  it('/healthz, /readyz, /metrics and /api/openapi.json are open', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics', '/api/openapi.json']) {
      assert.equal((await h.call('GET', url, undefined, null)).statusCode, 200, url);
    }
  });
});
