/**
 * REST API authentication and authorization (DESIGN.md security rules): API
 * tokens (created once, stored hashed, revoked by DELETE, expiring), both header
 * forms IoT Central clients send, the bootstrap administrator token, and the
 * role rules (Administrator, Builder, Operator).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ApiTokenService, BOOTSTRAP_TOKEN_ID, ROLE_IDS } from '../src/api/index.js';
import { openSqlite } from '../src/store/sqlite.js';
import {
  ADMIN_SECRET,
  ADMINISTRATOR,
  apiHarness,
  BUILDER,
  expectError,
  OPERATOR,
  type ApiHarness,
} from './helpers/api-harness.js';

const GROUP = { displayName: 'G', type: 'iot', attestation: { type: 'x509' } };

describe('API tokens over REST', () => {
  let h: ApiHarness;
  before(async () => {
    h = await apiHarness();
  });
  after(async () => h.close());

  it('PUT creates a token and returns its text once; GET and list never show it', async () => {
    const res = await h.call('PUT', '/api/apiTokens/ci-token', {
      roles: [{ role: OPERATOR }],
      expiry: '2099-01-01T00:00:00Z',
    });
    assert.equal(res.statusCode, 200);
    const body = res.json() as { id: string; roles: unknown; expiry: string; token: string };
    assert.equal(body.id, 'ci-token');
    assert.deepEqual(body.roles, [{ role: OPERATOR }]);
    assert.equal(body.expiry, '2099-01-01T00:00:00.000Z');
    assert.match(
      body.token,
      new RegExp(
        `^SharedAccessSignature sr=gatehouse\\.test&sig=[A-Za-z0-9_-]{43}&skn=ci-token&se=${Date.parse('2099-01-01T00:00:00Z')}$`,
      ),
    );

    const got = await h.call('GET', '/api/apiTokens/ci-token');
    assert.equal(got.statusCode, 200);
    assert.deepEqual(got.json(), {
      id: 'ci-token',
      roles: [{ role: OPERATOR }],
      expiry: '2099-01-01T00:00:00.000Z',
    });
    const list = await h.call('GET', '/api/apiTokens');
    assert.equal(list.statusCode, 200);
    const value = (list.json() as { value: Array<Record<string, unknown>> }).value;
    assert.deepEqual(
      value.map((t) => t['id']),
      [BOOTSTRAP_TOKEN_ID, 'ci-token'],
    );
    for (const t of value) assert.deepEqual(Object.keys(t).sort(), ['expiry', 'id', 'roles']);
    assert.ok(!list.body.includes(/&sig=([^&]+)/.exec(body.token)?.[1] ?? 'x'));
  });

  it('stores only the SHA-256 hash of the secret', async () => {
    const { secret } = await h.token('hashed', [OPERATOR]);
    const row = await h.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('id', '=', 'hashed')
      .executeTakeFirstOrThrow();
    assert.equal(row.secret_hash, createHash('sha256').update(secret).digest('hex'));
    assert.ok(!JSON.stringify(row).includes(secret));
  });

  it('defaults the expiry to one year', async () => {
    const res = await h.call('PUT', '/api/apiTokens/yearly', { roles: [{ role: BUILDER }] });
    const expiry = Date.parse((res.json() as { expiry: string }).expiry);
    const year = 365 * 24 * 3600 * 1000;
    assert.ok(Math.abs(expiry - (Date.now() + year)) < 60_000);
  });

  it('the singular /api/apiToken/{id} is an alias', async () => {
    const put = await h.call('PUT', '/api/apiToken/alias', { roles: [{ role: OPERATOR }] });
    assert.equal(put.statusCode, 200);
    assert.equal((await h.call('GET', '/api/apiToken/alias')).statusCode, 200);
    assert.equal((await h.call('GET', '/api/apiTokens/alias')).statusCode, 200);
    assert.equal((await h.call('DELETE', '/api/apiToken/alias')).statusCode, 204);
    expectError(await h.call('GET', '/api/apiTokens/alias'), 404, 'ERR_API_TOKEN_NOT_FOUND');
  });

  it('PUT again replaces the secret: the old one stops working', async () => {
    const first = await h.token('rotated', [OPERATOR]);
    const second = await h.token('rotated', [OPERATOR]);
    assert.notEqual(first.secret, second.secret);
    expectError(
      await h.call('GET', '/api/roles', undefined, `Bearer ${first.secret}`),
      401,
      'ERR_UNAUTHENTICATED',
    );
    assert.equal((await h.call('GET', '/api/roles', undefined, `Bearer ${second.secret}`)).statusCode, 200);
  });

  it('refuses bodies that break the rules', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /'roles' is required/],
      [{ roles: [] }, /'roles' is required/],
      [{ roles: 'admin' }, /'roles' is required/],
      [{ roles: ['x'] }, /roles\[0\]' must be an object/],
      [{ roles: [{ role: 'not-a-role' }] }, /roles\[0\]\.role' must be the ID of a role/],
      [{ roles: [{ role: OPERATOR, organization: 'org1' }] }, /organizations are not supported/],
      [{ roles: [{ role: OPERATOR }], expiry: 'tomorrow' }, /'expiry' must be an ISO 8601 date-time/],
      [{ roles: [{ role: OPERATOR }], expiry: 12345 }, /'expiry' must be an ISO 8601 date-time/],
      [{ roles: [{ role: OPERATOR }], expiry: '2001-01-01T00:00:00Z' }, /'expiry' must be in the future/],
      [[1, 2], /JSON object/],
    ];
    for (const [body, message] of cases) {
      expectError(await h.call('PUT', '/api/apiTokens/bad-body', body), 422, 'ERR_VALIDATION', message);
    }
    expectError(await h.call('GET', '/api/apiTokens/bad-body'), 404, 'ERR_API_TOKEN_NOT_FOUND');
  });

  it('refuses token IDs that break the pattern', async () => {
    for (const id of ['has.dot', 'has%20space', 'x'.repeat(49), 'caf%C3%A9']) {
      expectError(
        await h.call('PUT', `/api/apiTokens/${id}`, { roles: [{ role: OPERATOR }] }),
        400,
        'ERR_INVALID_ID',
      );
    }
  });

  it('DELETE of an unknown token is 404', async () => {
    expectError(await h.call('DELETE', '/api/apiTokens/nobody'), 404, 'ERR_API_TOKEN_NOT_FOUND');
  });
});

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

describe('authorization by role', () => {
  let h: ApiHarness;
  let operator: string;
  let builder: string;
  let orgViewer: string;
  before(async () => {
    h = await apiHarness();
    operator = `Bearer ${(await h.token('operator', [OPERATOR])).secret}`;
    builder = `Bearer ${(await h.token('builder', [BUILDER])).secret}`;
    orgViewer = `Bearer ${(await h.token('org-viewer', [ROLE_IDS.orgViewer])).secret}`;
    assert.equal((await h.call('PUT', '/api/enrollmentGroups/existing', GROUP)).statusCode, 200);
  });
  after(async () => h.close());

  it('Operator reads but may not write', async () => {
    for (const url of [
      '/api/enrollmentGroups',
      '/api/enrollmentGroups/existing',
      '/api/devices',
      '/api/application',
      '/api/roles',
      '/api/provisioning/attempts',
    ]) {
      assert.equal((await h.call('GET', url, undefined, operator)).statusCode, 200, url);
    }
    expectError(
      await h.call('PUT', '/api/enrollmentGroups/op', GROUP, operator),
      403,
      'ERR_FORBIDDEN',
      /reading only/,
    );
    expectError(
      await h.call('PATCH', '/api/enrollmentGroups/existing', { enabled: false }, operator),
      403,
      'ERR_FORBIDDEN',
    );
    expectError(
      await h.call('DELETE', '/api/enrollmentGroups/existing', undefined, operator),
      403,
      'ERR_FORBIDDEN',
    );
    expectError(
      await h.call(
        'POST',
        '/api/enrollmentGroups/existing/certificates/primary/generateVerificationCode',
        undefined,
        operator,
      ),
      403,
      'ERR_FORBIDDEN',
    );
    expectError(
      await h.call('PUT', '/api/devices/dev-1/attestation', { type: 'x509' }, operator),
      403,
      'ERR_FORBIDDEN',
    );
    // Nothing changed.
    const g = (await h.call('GET', '/api/enrollmentGroups/existing')).json() as { enabled: boolean };
    assert.equal(g.enabled, true);
    expectError(await h.call('GET', '/api/enrollmentGroups/op'), 404, 'ERR_GROUP_NOT_FOUND');
  });

  it('the organization roles are treated like Operator', async () => {
    assert.equal((await h.call('GET', '/api/enrollmentGroups', undefined, orgViewer)).statusCode, 200);
    expectError(await h.call('PUT', '/api/enrollmentGroups/ov', GROUP, orgViewer), 403, 'ERR_FORBIDDEN');
  });

  it('only Administrators manage API tokens, reads included', async () => {
    for (const auth of [operator, builder]) {
      expectError(
        await h.call('GET', '/api/apiTokens', undefined, auth),
        403,
        'ERR_FORBIDDEN',
        /Administrator/,
      );
      expectError(await h.call('GET', '/api/apiTokens/operator', undefined, auth), 403, 'ERR_FORBIDDEN');
      expectError(
        await h.call('PUT', '/api/apiTokens/escalate', { roles: [{ role: ADMINISTRATOR }] }, auth),
        403,
        'ERR_FORBIDDEN',
      );
      expectError(await h.call('DELETE', '/api/apiTokens/admin', undefined, auth), 403, 'ERR_FORBIDDEN');
    }
    expectError(await h.call('GET', '/api/apiTokens/escalate'), 404, 'ERR_API_TOKEN_NOT_FOUND');
    assert.equal((await h.call('GET', '/api/apiTokens')).statusCode, 200);
  });

  it('Builder changes everything else', async () => {
    assert.equal((await h.call('PUT', '/api/enrollmentGroups/by-builder', GROUP, builder)).statusCode, 200);
    assert.equal(
      (await h.call('PATCH', '/api/enrollmentGroups/by-builder', { displayName: 'B' }, builder)).statusCode,
      200,
    );
    assert.equal(
      (await h.call('DELETE', '/api/enrollmentGroups/by-builder', undefined, builder)).statusCode,
      204,
    );
  });

  it('a token whose roles are all unknown may do nothing', async () => {
    await h.db
      .insertInto('api_tokens')
      .values({
        id: 'roleless',
        secret_hash: createHash('sha256').update('roleless-secret-0123456789').digest('hex'),
        roles: JSON.stringify([{ role: 'someday-role' }]),
        expiry: '2099-01-01T00:00:00.000Z',
        created_at: new Date().toISOString(),
      })
      .execute();
    expectError(
      await h.call('GET', '/api/enrollmentGroups', undefined, 'Bearer roleless-secret-0123456789'),
      403,
      'ERR_FORBIDDEN',
    );
  });

  it('GET /api/roles lists the built-in roles with their fixed IDs', async () => {
    const res = await h.call('GET', '/api/roles', undefined, operator);
    const roles = (res.json() as { value: Array<{ id: string; displayName: string }> }).value;
    assert.deepEqual(
      roles.map((r) => [r.displayName, r.id]),
      [
        ['Administrator', 'ca310b8d-2f4a-44e0-a36e-957c202cd8d4'],
        ['Builder', '344138e9-8de4-4497-8c54-5237e96d6aaf'],
        ['Operator', 'ae2c9854-393b-4f97-8c42-479d70ce626e'],
        ['Org Admin', 'c495eb57-eb18-489e-9802-62c474e5645c'],
        ['Org Operator', 'b4935647-30e4-4ed3-9074-dcac66c2f8ef'],
        ['Org Viewer', '84cc62c1-dabe-49d3-b16e-8b291232b285'],
      ],
    );
    const one = await h.call('GET', `/api/roles/${BUILDER}`, undefined, operator);
    assert.deepEqual(one.json(), { id: BUILDER, displayName: 'Builder' });
    expectError(
      await h.call('GET', '/api/roles/00000000-0000-0000-0000-000000000000'),
      404,
      'ERR_ROLE_NOT_FOUND',
    );
  });
});

describe('ApiTokenService.ensureBootstrapToken', () => {
  it('generates a secret on first start and returns it once', async () => {
    const db = await openSqlite({ filename: ':memory:' });
    const tokens = new ApiTokenService(db, { hostName: 'h' });
    const first = await tokens.ensureBootstrapToken();
    assert.equal(first.created, true);
    assert.match(first.secret ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(await tokens.ensureBootstrapToken(), { created: false });
    const who = await tokens.authenticate(`Bearer ${first.secret}`);
    assert.deepEqual(who, { kind: 'apiToken', tokenId: 'admin', roles: [ROLE_IDS.administrator] });
    const admin = await tokens.get('admin');
    assert.ok(
      Date.parse(admin.expiry) > Date.now() + 5 * 365 * 24 * 3600 * 1000,
      'the bootstrap token outlives a year',
    );
    await db.destroy();
  });

  it('uses the given secret, and replaces it when a different one is given later', async () => {
    const db = await openSqlite({ filename: ':memory:' });
    const tokens = new ApiTokenService(db, { hostName: 'h' });
    assert.deepEqual(await tokens.ensureBootstrapToken('first-secret-0123456789'), { created: true });
    await tokens.authenticate('Bearer first-secret-0123456789');
    assert.deepEqual(await tokens.ensureBootstrapToken('first-secret-0123456789'), { created: false });
    await tokens.authenticate('Bearer first-secret-0123456789');
    assert.deepEqual(await tokens.ensureBootstrapToken('second-secret-0123456789'), { created: false });
    await tokens.authenticate('Bearer second-secret-0123456789');
    await assert.rejects(tokens.authenticate('Bearer first-secret-0123456789'), {
      code: 'ERR_UNAUTHENTICATED',
    });
    // A restart without a secret keeps the current one.
    assert.deepEqual(await tokens.ensureBootstrapToken(), { created: false });
    await tokens.authenticate('Bearer second-secret-0123456789');
    await db.destroy();
  });

  it('restores the Administrator role when the secret is given again', async () => {
    const db = await openSqlite({ filename: ':memory:' });
    const tokens = new ApiTokenService(db, { hostName: 'h' });
    await tokens.ensureBootstrapToken('first-secret-0123456789');
    await db
      .updateTable('api_tokens')
      .set({ roles: JSON.stringify([{ role: OPERATOR }]) })
      .where('id', '=', 'admin')
      .execute();
    await tokens.ensureBootstrapToken('first-secret-0123456789');
    assert.deepEqual((await tokens.authenticate('Bearer first-secret-0123456789')).roles, [ADMINISTRATOR]);
    await db.destroy();
  });

  it('refuses a short secret or one with spaces', async () => {
    const db = await openSqlite({ filename: ':memory:' });
    const tokens = new ApiTokenService(db, { hostName: 'h' });
    await assert.rejects(tokens.ensureBootstrapToken('too-short'), { code: 'ERR_VALIDATION', status: 422 });
    await assert.rejects(tokens.ensureBootstrapToken('has a space in it 0123'), { code: 'ERR_VALIDATION' });
    assert.deepEqual(await tokens.list(), []);
    await db.destroy();
  });
});
