/**
 * API tokens (DESIGN.md security rules): created over REST with their text returned once,
 * stored hashed, replaced by PUT, revoked by DELETE, expiring after a year unless told; the
 * bodies and IDs refused; and the bootstrap administrator token written at start.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ApiTokenService, BOOTSTRAP_TOKEN_ID, ROLE_IDS } from '../src/api/index.js';
import { openSqlite } from '../src/store/sqlite.js';
import {
  ADMINISTRATOR,
  apiHarness,
  BUILDER,
  expectError,
  OPERATOR,
  type ApiHarness,
} from './helpers/api-harness.js';

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
