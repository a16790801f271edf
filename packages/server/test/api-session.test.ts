/**
 * Signing in to the web UI over a real server (ui-contract §B, DESIGN.md security rules):
 * `POST /api/session` answers one refusal for an unknown user and a wrong password,
 * throttles guessing, and its token is a Bearer credential (and `access_token` on the event
 * streams) until it expires, is signed out or the password changes. Passwords and tokens are
 * stored hashed. The first administrator's password is GATEHOUSE_ADMIN_PASSWORD or generated once.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROLE_IDS } from '../src/api/index.js';
import { openSse } from './helpers/api-hub-harness.js';
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from './helpers/test-server.js';
import { expectApiError, PASSWORD, signIn, userSession, type HttpAnswer } from './helpers/users.js';

const ADMIN_PASSWORD = 'admin-password-for-tests';
const HOUR_MS = 3_600_000;

interface Session {
  token: string;
  expiresAt: string;
  user: { id: string; username: string; roles: string[] };
}

describe('sign-in sessions', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ adminPassword: ADMIN_PASSWORD });
  });
  after(async () => server?.stop());

  it('signs in the administrator; the token is a Bearer credential for the API', async () => {
    const res = await signIn(server, 'admin', ADMIN_PASSWORD);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const session = res.body as Session;
    assert.deepEqual(Object.keys(session).sort(), ['expiresAt', 'token', 'user']);
    assert.deepEqual(session.user, { id: 'admin', username: 'admin', roles: [ROLE_IDS.administrator] });
    assert.match(session.token, /^[A-Za-z0-9_-]{43}$/);
    const lifetime = Date.parse(session.expiresAt) - Date.now();
    assert.ok(Math.abs(lifetime - 12 * HOUR_MS) < 60_000, `expires in ${lifetime} ms`);

    assert.equal((await server.api('GET', '/api/application', undefined, session.token)).status, 200);
    const me = await server.api<{ user: Session['user']; expiresAt: string; idleTimeoutSeconds: number }>(
      'GET',
      '/api/session',
      undefined,
      session.token,
    );
    assert.equal(me.status, 200);
    assert.deepEqual(me.body, { user: session.user, expiresAt: session.expiresAt, idleTimeoutSeconds: 1800 });
    // User names ignore case.
    assert.equal((await signIn(server, 'ADMIN', ADMIN_PASSWORD)).status, 200);
  });

  it('an unknown user and a wrong password get the same refusal', async () => {
    const wrong = expectApiError(await signIn(server, 'admin', 'not-the-password'), 401, 'ERR_SIGNIN_FAILED');
    const unknown = expectApiError(await signIn(server, 'nobody', ADMIN_PASSWORD), 401, 'ERR_SIGNIN_FAILED');
    assert.equal(wrong, unknown);
    // A user without a password (created by an administrator without one) cannot sign in either.
    await server.api('PUT', '/api/users/no-password', {
      type: 'email',
      email: 'np@example.com',
      roles: [{ role: ROLE_IDS.operator }],
    });
    assert.equal(
      expectApiError(await signIn(server, 'np@example.com', 'anything-at-all'), 401, 'ERR_SIGNIN_FAILED'),
      wrong,
    );
  });

  it('refuses malformed sign-in bodies', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /'username' is required/],
      [{ username: '', password: 'x' }, /'username' is required/],
      [{ username: 7, password: 'x' }, /'username' is required/],
      [{ username: 'a'.repeat(1025), password: 'x' }, /'username' is required/],
      [{ username: 'admin' }, /'password' is required/],
      [{ username: 'admin', password: '' }, /'password' is required/],
      [{ username: 'admin', password: ['x'] }, /'password' is required/],
      [['admin', 'x'], /JSON object/],
    ];
    for (const [body, message] of cases) {
      const res = await fetch(`${server.baseUrl}/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expectApiError(
        { status: res.status, body: await res.json(), headers: res.headers },
        422,
        'ERR_VALIDATION',
        message,
      );
    }
  });

  it('10 failures a minute for one user name throttle it (even the right password), not others', async () => {
    await userSession(server, 'guessed', [ROLE_IDS.operator]);
    for (let i = 0; i < 10; i++) {
      expectApiError(await signIn(server, 'guessed@example.com', `wrong-${i}`), 401, 'ERR_SIGNIN_FAILED');
    }
    const throttled = await signIn(server, 'guessed@example.com', PASSWORD);
    expectApiError(throttled, 429, 'ERR_SIGNIN_THROTTLED', /try again in \d+ s/);
    const retryAfter = Number(throttled.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `retry-after ${retryAfter}`);
    // The user name is throttled in any spelling; other users are not.
    expectApiError(await signIn(server, 'GUESSED@example.com', PASSWORD), 429, 'ERR_SIGNIN_THROTTLED');
    assert.equal((await signIn(server, 'admin', ADMIN_PASSWORD)).status, 200);
    // Unknown names are throttled the same way (no way to tell them apart).
    for (let i = 0; i < 10; i++) await signIn(server, 'ghost', `wrong-${i}`);
    expectApiError(await signIn(server, 'ghost', 'again'), 429, 'ERR_SIGNIN_THROTTLED');
  });

  it('parallel wrong sign-ins: at most 10 are checked, the rest are throttled, then the right password too', async () => {
    await userSession(server, 'raced', [ROLE_IDS.operator]);
    // All sent before the first scrypt check ends: the attempts in flight count toward the limit.
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => signIn(server, 'raced@example.com', `wrong-${i}`)),
    );
    const statuses = answers.map((a) => a.status);
    const refused = statuses.filter((s) => s === 401).length;
    const throttled = statuses.filter((s) => s === 429).length;
    assert.equal(refused + throttled, answers.length, `only 401 and 429: ${statuses.join(',')}`);
    assert.equal(refused, 10, `10 passwords checked, not ${refused}`);
    for (const a of answers.filter((x) => x.status === 429)) expectApiError(a, 429, 'ERR_SIGNIN_THROTTLED');
    expectApiError(await signIn(server, 'raced@example.com', PASSWORD), 429, 'ERR_SIGNIN_THROTTLED');
  });

  it('parallel wrong current passwords: at most 10 are checked, then the right one is throttled', async () => {
    const token = await userSession(server, 'raced-change', [ROLE_IDS.operator]);
    const change = (currentPassword: string) =>
      server.api('POST', '/api/session/password', { currentPassword, newPassword: 'x'.repeat(8) }, token);
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => change(`guess-${i}`)));
    const statuses = answers.map((a) => a.status);
    assert.equal(statuses.filter((s) => s === 403).length, 10, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 20, statuses.join(','));
    expectApiError(await change(PASSWORD), 429, 'ERR_SIGNIN_THROTTLED');
    expectApiError(await signIn(server, 'raced-change@example.com', PASSWORD), 429, 'ERR_SIGNIN_THROTTLED');
  });

  it('the session token works as access_token on the event stream, and not after sign-out', async () => {
    const { token } = (await signIn(server, 'admin', ADMIN_PASSWORD)).body as Session;
    const stream = await openSse(server.baseUrl, `/api/events?access_token=${token}`);
    assert.equal(stream.status, 200);
    stream.close();
    assert.equal((await server.api('DELETE', '/api/session', undefined, token)).status, 204);
    const refused = await openSse(server.baseUrl, `/api/events?access_token=${token}`);
    assert.equal(refused.status, 401);
    assert.equal((JSON.parse(refused.body) as { error: { code: string } }).error.code, 'ERR_UNAUTHENTICATED');
  });

  it('a signed-out token is refused everywhere; signing out twice is 401', async () => {
    const { token } = (await signIn(server, 'admin', ADMIN_PASSWORD)).body as Session;
    const other = ((await signIn(server, 'admin', ADMIN_PASSWORD)).body as Session).token;
    assert.equal((await server.api('DELETE', '/api/session', undefined, token)).status, 204);
    for (const [method, path] of [
      ['GET', '/api/application'],
      ['GET', '/api/session'],
      ['DELETE', '/api/session'],
    ] as const) {
      expectApiError(
        await server.api(method, path, undefined, token),
        401,
        'ERR_UNAUTHENTICATED',
        /no API token or signed-in session has it/,
      );
    }
    // Only that session ended.
    assert.equal((await server.api('GET', '/api/application', undefined, other)).status, 200);
  });

  it('an expired session is refused with a message saying to sign in again', async () => {
    const { token } = (await signIn(server, 'admin', ADMIN_PASSWORD)).body as Session;
    const hash = createHash('sha256').update(token).digest('hex');
    // Twelve hours pass.
    await server.db
      .updateTable('user_sessions')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('token_hash', '=', hash)
      .execute();
    expectApiError(
      await server.api('GET', '/api/application', undefined, token),
      401,
      'ERR_UNAUTHENTICATED',
      /session of user 'admin' expired at .*sign in again/,
    );
    const stream = await openSse(server.baseUrl, `/api/events?access_token=${token}`);
    assert.equal(stream.status, 401);
  });

  describe('the idle timeout (ASVS 7.3.1): 30 minutes without a request end a session', () => {
    const MINUTE_MS = 60_000;
    const sessionRow = async (token: string) => {
      const hash = createHash('sha256').update(token).digest('hex');
      return server.db
        .selectFrom('user_sessions')
        .selectAll()
        .where('token_hash', '=', hash)
        .executeTakeFirst();
    };
    const setRow = async (token: string, values: { last_used_at?: string | null; created_at?: string }) => {
      const hash = createHash('sha256').update(token).digest('hex');
      await server.db.updateTable('user_sessions').set(values).where('token_hash', '=', hash).execute();
    };
    const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

    it('a session last used 31 minutes ago is refused with the reason, and its row is gone', async () => {
      const { token } = (await signIn(server, 'admin', ADMIN_PASSWORD)).body as Session;
      const lastUsed = ago(31 * MINUTE_MS);
      await setRow(token, { last_used_at: lastUsed });
      expectApiError(
        await server.api('GET', '/api/application', undefined, token),
        401,
        'ERR_UNAUTHENTICATED',
        new RegExp(
          `session of user 'admin' ended after 30 minutes without use \\(last used at ${lastUsed}\\): sign in again`,
        ),
      );
      assert.equal(await sessionRow(token), undefined);
      // Ended for good: the event stream refuses it too.
      assert.equal((await openSse(server.baseUrl, `/api/events?access_token=${token}`)).status, 401);
    });

    it('a request within the timeout keeps the session going; last use is written at most once a minute', async () => {
      const { token } = (await signIn(server, 'admin', ADMIN_PASSWORD)).body as Session;
      const signedIn = await sessionRow(token);
      assert.equal(signedIn?.last_used_at, signedIn?.created_at, 'sign-in counts as use');
      // Used 30 s ago: a request is served and the row is not written again.
      const recent = ago(30_000);
      await setRow(token, { last_used_at: recent });
      assert.equal((await server.api('GET', '/api/application', undefined, token)).status, 200);
      assert.equal((await sessionRow(token))?.last_used_at, recent);
      // Used 29 minutes ago: still served, and the last use moves to now.
      await setRow(token, { last_used_at: ago(29 * MINUTE_MS) });
      assert.equal((await server.api('GET', '/api/application', undefined, token)).status, 200);
      const moved = Date.parse((await sessionRow(token))!.last_used_at!);
      assert.ok(Math.abs(Date.now() - moved) < 10_000, `last used ${new Date(moved).toISOString()}`);
      // So 29 more minutes later it is still alive (58 minutes after that earlier use).
      await setRow(token, { last_used_at: ago(29 * MINUTE_MS) });
      assert.equal((await server.api('GET', '/api/session', undefined, token)).status, 200);
    });

    it('a session from before migration 0016 (no last use) counts from its creation', async () => {
      const old = ((await signIn(server, 'admin', ADMIN_PASSWORD)).body as Session).token;
      await setRow(old, { last_used_at: null, created_at: ago(31 * MINUTE_MS) });
      expectApiError(
        await server.api('GET', '/api/application', undefined, old),
        401,
        'ERR_UNAUTHENTICATED',
        /ended after 30 minutes without use/,
      );
      const recent = ((await signIn(server, 'admin', ADMIN_PASSWORD)).body as Session).token;
      await setRow(recent, { last_used_at: null, created_at: ago(10 * MINUTE_MS) });
      assert.equal((await server.api('GET', '/api/application', undefined, recent)).status, 200);
      assert.ok((await sessionRow(recent))?.last_used_at, 'the first use is written');
    });
  });

  it('stores the password as a salted scrypt hash and the session token as its SHA-256', async () => {
    const token = await userSession(server, 'hashed', [ROLE_IDS.operator]);
    const user = await server.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', 'hashed')
      .executeTakeFirstOrThrow();
    assert.match(String(user.password_hash), /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.ok(!JSON.stringify(user).includes(PASSWORD));
    // Same password, another user: another salt, another hash.
    await userSession(server, 'hashed-too', [ROLE_IDS.operator]);
    const twin = await server.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', 'hashed-too')
      .executeTakeFirstOrThrow();
    assert.notEqual(twin.password_hash, user.password_hash);

    const sessions = await server.db.selectFrom('user_sessions').selectAll().execute();
    assert.ok(sessions.some((s) => s.token_hash === createHash('sha256').update(token).digest('hex')));
    assert.ok(!JSON.stringify(sessions).includes(token));
  });

  it('roles come from the user: forbidden answers name the user', async () => {
    const token = await userSession(server, 'viewer', [ROLE_IDS.operator]);
    assert.equal((await server.api('GET', '/api/devices', undefined, token)).status, 200);
    expectApiError(
      await server.api('PUT', '/api/devices/new-one', {}, token),
      403,
      'ERR_FORBIDDEN',
      "user 'viewer@example.com' may not change this resource",
    );
    expectApiError(
      await server.api('GET', '/api/apiTokens', undefined, token),
      403,
      'ERR_FORBIDDEN',
      "user 'viewer@example.com' may not manage API tokens",
    );
    // A role change applies to the open session at once.
    await server.api('PATCH', '/api/users/viewer', { roles: [{ role: ROLE_IDS.builder }] });
    assert.equal((await server.api('PUT', '/api/devices/new-one', {}, token)).status, 200);
    // Any role may read its own session and sign out.
    const me = await server.api<{ user: { roles: string[] } }>('GET', '/api/session', undefined, token);
    assert.deepEqual(me.body.user.roles, [ROLE_IDS.builder]);
    assert.equal((await server.api('DELETE', '/api/session', undefined, token)).status, 204);
  });

  it('session calls with an API token are 403 ERR_SESSION_REQUIRED', async () => {
    const calls: Array<[string, string, unknown]> = [
      ['GET', '/api/session', undefined],
      ['DELETE', '/api/session', undefined],
      ['POST', '/api/session/password', { currentPassword: 'x', newPassword: 'y'.repeat(8) }],
    ];
    for (const [method, path, body] of calls) {
      expectApiError(
        await server.api(method, path, body, TEST_ADMIN_TOKEN),
        403,
        'ERR_SESSION_REQUIRED',
        /API token 'admin' is not a signed-in user/,
      );
    }
    expectApiError(
      await server.api('GET', '/api/session', undefined, 'no-such-secret'),
      401,
      'ERR_UNAUTHENTICATED',
    );
  });

  it('POST /api/session/password changes your own password and ends your other sessions', async () => {
    const token = await userSession(server, 'changer', [ROLE_IDS.operator]);
    const other = ((await signIn(server, 'changer@example.com', PASSWORD)).body as Session).token;
    const change = (body: unknown): Promise<HttpAnswer> =>
      server.api('POST', '/api/session/password', body, token);
    const refusals: Array<[unknown, number, string, RegExp]> = [
      [
        { currentPassword: 'wrong-password', newPassword: 'a-new-password' },
        403,
        'ERR_CURRENT_PASSWORD_WRONG',
        /not your current password/,
      ],
      [
        { currentPassword: PASSWORD, newPassword: 'short' },
        400,
        'ERR_PASSWORD_WEAK',
        /at least 8 characters/,
      ],
      [
        { currentPassword: PASSWORD, newPassword: 'x'.repeat(1025) },
        400,
        'ERR_PASSWORD_WEAK',
        /at most 1024/,
      ],
      [
        { currentPassword: PASSWORD, newPassword: 'iloveyou1' },
        400,
        'ERR_PASSWORD_WEAK',
        /50,000 most common passwords/,
      ],
      [{ currentPassword: PASSWORD }, 422, 'ERR_VALIDATION', /'newPassword' is required/],
      [{ newPassword: 'a-new-password' }, 422, 'ERR_VALIDATION', /'currentPassword' is required/],
      ['text', 422, 'ERR_VALIDATION', /JSON object/],
    ];
    for (const [body, status, code, message] of refusals)
      expectApiError(await change(body), status, code, message);

    assert.equal((await change({ currentPassword: PASSWORD, newPassword: 'a-new-password' })).status, 204);
    expectApiError(await signIn(server, 'changer@example.com', PASSWORD), 401, 'ERR_SIGNIN_FAILED');
    assert.equal((await signIn(server, 'changer@example.com', 'a-new-password')).status, 200);
    assert.equal((await server.api('GET', '/api/session', undefined, token)).status, 200);
    expectApiError(await server.api('GET', '/api/session', undefined, other), 401, 'ERR_UNAUTHENTICATED');
  });

  it('password lengths count characters (code points), not UTF-16 units: astral characters at the limits', async () => {
    const key = '🔑'; // outside the BMP: one character, two UTF-16 code units
    const put = (id: string, password: string) =>
      server.api('PUT', `/api/users/${id}`, {
        type: 'email',
        email: `${id}@example.com`,
        roles: [{ role: ROLE_IDS.operator }],
        password,
      });
    // [password, accepted?]
    const cases: Array<[string, boolean]> = [
      [key.repeat(7), false],
      [key.repeat(8), true],
      [`${'a'.repeat(7)}${key}`, true],
      [key.repeat(1024), true],
      [`${'a'.repeat(1023)}${key}`, true],
      [key.repeat(1025), false],
    ];
    for (const [i, [password, accepted]] of cases.entries()) {
      const id = `astral-${i}`;
      const what = `${[...password].length} characters, ${password.length} UTF-16 units`;
      if (!accepted) {
        expectApiError(
          await put(id, password),
          400,
          'ERR_PASSWORD_WEAK',
          /at (least 8|most 1024) characters/,
        );
        continue;
      }
      assert.equal((await put(id, password)).status, 200, what);
      // What could be set can be used: to sign in, and as the current password.
      const signedIn = await signIn(server, `${id}@example.com`, password);
      assert.equal(signedIn.status, 200, `sign-in with ${what}: ${JSON.stringify(signedIn.body)}`);
      const token = (signedIn.body as Session).token;
      const change = await server.api(
        'POST',
        '/api/session/password',
        { currentPassword: password, newPassword: password },
        token,
      );
      assert.equal(change.status, 204, `change with ${what}: ${JSON.stringify(change.body)}`);
    }
    // Past the limit, sign-in refuses the body as it always did.
    expectApiError(await signIn(server, 'astral-3@example.com', key.repeat(1025)), 422, 'ERR_VALIDATION');
  });

  it('wrong current passwords count toward the throttle', async () => {
    const token = await userSession(server, 'stolen', [ROLE_IDS.operator]);
    for (let i = 0; i < 10; i++) {
      expectApiError(
        await server.api(
          'POST',
          '/api/session/password',
          { currentPassword: `guess-${i}`, newPassword: 'x'.repeat(8) },
          token,
        ),
        403,
        'ERR_CURRENT_PASSWORD_WRONG',
      );
    }
    expectApiError(
      await server.api(
        'POST',
        '/api/session/password',
        { currentPassword: PASSWORD, newPassword: 'x'.repeat(8) },
        token,
      ),
      429,
      'ERR_SIGNIN_THROTTLED',
    );
    expectApiError(await signIn(server, 'stolen@example.com', PASSWORD), 429, 'ERR_SIGNIN_THROTTLED');
  });
});

describe('the first administrator', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-admin-user-'));
  });
  after(async () => rm(dataDir, { recursive: true, force: true }));

  it('without GATEHOUSE_ADMIN_PASSWORD a password is generated once, saved 0600, and works', async () => {
    const first = await startTestServer({ dataDir });
    try {
      const password = first.generatedAdminPassword;
      assert.ok(password && password.length >= 20, 'a generated password');
      assert.equal(first.adminPasswordPath, join(dataDir, 'admin-password'));
      assert.equal((await stat(first.adminPasswordPath)).mode & 0o777, 0o600);
      assert.equal(await readFile(first.adminPasswordPath, 'utf8'), `${password}\n`);
      assert.equal((await signIn(first, 'admin', password)).status, 200);
    } finally {
      await first.close();
    }
    const again = await startTestServer({ dataDir });
    try {
      assert.equal(again.generatedAdminPassword, undefined, 'printed only on the first start');
      const saved = (await readFile(again.adminPasswordPath, 'utf8')).trim();
      assert.equal((await signIn(again, 'admin', saved)).status, 200);
    } finally {
      await again.close();
    }
  });

  it('GATEHOUSE_ADMIN_PASSWORD is the password on a fresh start and replaces it on a later one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-admin-env-'));
    try {
      const first = await startTestServer({ dataDir: dir, adminPassword: 'first-env-password' });
      try {
        assert.equal(first.generatedAdminPassword, undefined);
        await assert.rejects(
          stat(join(dir, 'admin-password')),
          /ENOENT/,
          'a chosen password is not written down',
        );
        assert.equal((await signIn(first, 'admin', 'first-env-password')).status, 200);
      } finally {
        await first.close();
      }
      const second = await startTestServer({ dataDir: dir, adminPassword: 'second-env-password' });
      try {
        expectApiError(await signIn(second, 'admin', 'first-env-password'), 401, 'ERR_SIGNIN_FAILED');
        assert.equal((await signIn(second, 'admin', 'second-env-password')).status, 200);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  for (const [weak, why] of [
    ['short', /at least 8 characters/],
    ['administrator', /50,000 most common passwords/],
  ] as const) {
    it(`refuses the GATEHOUSE_ADMIN_PASSWORD '${weak}' (${why.source})`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'gatehouse-admin-weak-'));
      try {
        await assert.rejects(
          startTestServer({ dataDir: dir, adminPassword: weak }),
          (err: Error & { code?: string }) => {
            assert.equal(err.code, 'ERR_PASSWORD_WEAK');
            assert.match(err.message, /GATEHOUSE_ADMIN_PASSWORD/);
            assert.match(err.message, why);
            return true;
          },
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
