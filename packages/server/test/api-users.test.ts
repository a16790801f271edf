/**
 * `/api/users` over a real server (CENTRAL_API.md §1.2 Users, ui-contract §B): `email` users
 * with roles and a password, Administrator only (the `manageUsers` permission), never
 * leaving the application without an administrator, and every refusal table-driven.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ROLE_IDS } from '../src/api/index.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { expectApiError, PASSWORD, signIn, userSession } from './helpers/users.js';

const ADMIN_PASSWORD = 'admin-password-for-tests';

interface User {
  id: string;
  type: string;
  email: string;
  username: string;
  roles: Array<{ role: string }>;
}

describe('users over REST', () => {
  let server: TestServer;
  let adminSession: string;
  before(async () => {
    server = await startTestServer({ adminPassword: ADMIN_PASSWORD });
    const res = await signIn(server, 'admin', ADMIN_PASSWORD);
    adminSession = (res.body as { token: string }).token;
  });
  after(async () => server?.stop());

  it('the first administrator is listed; a PUT creates a user who can sign in', async () => {
    const list = await server.api<{ value: User[] }>('GET', '/api/users');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.value, [
      {
        id: 'admin',
        type: 'email',
        email: 'admin@localhost',
        username: 'admin',
        roles: [{ role: ROLE_IDS.administrator }],
      },
    ]);
    const put = await server.api<User>('PUT', '/api/users/ada', {
      type: 'email',
      email: 'ada@example.com',
      roles: [{ role: ROLE_IDS.builder }],
      password: PASSWORD,
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual(put.body, {
      id: 'ada',
      type: 'email',
      email: 'ada@example.com',
      username: 'ada@example.com',
      roles: [{ role: ROLE_IDS.builder }],
    });
    const got = await server.api<User>('GET', '/api/users/ada');
    assert.deepEqual(got.body, put.body);
    assert.ok(!JSON.stringify((await server.api('GET', '/api/users')).body).includes('password'));
    const session = await signIn(server, 'ada@example.com', PASSWORD);
    assert.equal(session.status, 200);
    assert.deepEqual((session.body as { user: unknown }).user, {
      id: 'ada',
      username: 'ada@example.com',
      roles: [ROLE_IDS.builder],
    });
  });

  it('a username other than the email; PUT without password keeps it; PATCH merges', async () => {
    await server.api('PUT', '/api/users/grace', {
      type: 'email',
      email: 'grace@example.com',
      username: 'grace',
      roles: [{ role: ROLE_IDS.operator }],
      password: PASSWORD,
    });
    assert.equal((await signIn(server, 'grace', PASSWORD)).status, 200);
    const replaced = await server.api<User>('PUT', '/api/users/grace', {
      type: 'email',
      email: 'grace.hopper@example.com',
      username: 'grace',
      roles: [{ role: ROLE_IDS.operator }, { role: ROLE_IDS.builder }],
    });
    assert.equal(replaced.status, 200);
    assert.equal(replaced.body.email, 'grace.hopper@example.com');
    assert.equal((await signIn(server, 'grace', PASSWORD)).status, 200, 'the password stayed');

    const patched = await server.api<User>('PATCH', '/api/users/grace', { username: 'ghopper' });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.body, {
      id: 'grace',
      type: 'email',
      email: 'grace.hopper@example.com',
      username: 'ghopper',
      roles: [{ role: ROLE_IDS.operator }, { role: ROLE_IDS.builder }],
    });
    expectApiError(await signIn(server, 'grace', PASSWORD), 401, 'ERR_SIGNIN_FAILED');
    assert.equal((await signIn(server, 'ghopper', PASSWORD)).status, 200);
  });

  it('an administrator setting a password ends the user’s sessions', async () => {
    const token = await userSession(server, 'reset-me', [ROLE_IDS.operator]);
    assert.equal(
      (await server.api('PATCH', '/api/users/reset-me', { password: 'set-by-admin' })).status,
      200,
    );
    expectApiError(await server.api('GET', '/api/session', undefined, token), 401, 'ERR_UNAUTHENTICATED');
    assert.equal((await signIn(server, 'reset-me@example.com', 'set-by-admin')).status, 200);
  });

  it('DELETE removes the user and ends their sessions', async () => {
    const token = await userSession(server, 'leaver', [ROLE_IDS.operator]);
    assert.equal((await server.api('DELETE', '/api/users/leaver')).status, 204);
    expectApiError(await server.api('GET', '/api/users/leaver'), 404, 'ERR_USER_NOT_FOUND');
    expectApiError(await server.api('GET', '/api/devices', undefined, token), 401, 'ERR_UNAUTHENTICATED');
    expectApiError(await signIn(server, 'leaver@example.com', PASSWORD), 401, 'ERR_SIGNIN_FAILED');
    const rows = await server.db
      .selectFrom('user_sessions')
      .selectAll()
      .where('user_id', '=', 'leaver')
      .execute();
    assert.deepEqual(rows, []);
  });

  it('only administrators manage users: Builder and Operator are refused every call', async () => {
    const builder = await userSession(server, 'a-builder', [ROLE_IDS.builder]);
    const operator = await userSession(server, 'an-operator', [ROLE_IDS.operator]);
    const tokenRes = await server.api<{ token: string }>('PUT', '/api/apiTokens/builder-token', {
      roles: [{ role: ROLE_IDS.builder }],
    });
    const builderToken = /&sig=([^&]+)/.exec(tokenRes.body.token)?.[1] ?? '';
    const calls: Array<[string, string, unknown]> = [
      ['GET', '/api/users', undefined],
      ['GET', '/api/users/admin', undefined],
      [
        'PUT',
        '/api/users/intruder',
        { type: 'email', email: 'i@example.com', roles: [{ role: ROLE_IDS.administrator }] },
      ],
      ['PATCH', '/api/users/a-builder', { roles: [{ role: ROLE_IDS.administrator }] }],
      ['DELETE', '/api/users/admin', undefined],
    ];
    for (const [who, credential] of [
      ["user 'a-builder@example.com'", builder],
      ["user 'an-operator@example.com'", operator],
      ["API token 'builder-token'", builderToken],
    ] as const) {
      for (const [method, path, body] of calls) {
        expectApiError(
          await server.api(method, path, body, credential),
          403,
          'ERR_FORBIDDEN',
          `${who} may not manage users: that needs the Administrator role`,
        );
      }
    }
    expectApiError(await server.api('GET', '/api/users/intruder'), 404, 'ERR_USER_NOT_FOUND');
  });

  it('never leaves the application without an administrator', async () => {
    // The admin user is the only administrator: it cannot lose the role or be deleted.
    expectApiError(
      await server.api('PATCH', '/api/users/admin', { roles: [{ role: ROLE_IDS.operator }] }),
      409,
      'ERR_LAST_ADMIN',
      /last administrator/,
    );
    expectApiError(
      await server.api('PUT', '/api/users/admin', {
        type: 'email',
        email: 'admin@localhost',
        username: 'admin',
        roles: [{ role: ROLE_IDS.builder }],
      }),
      409,
      'ERR_LAST_ADMIN',
    );
    expectApiError(await server.api('DELETE', '/api/users/admin'), 409, 'ERR_LAST_ADMIN');
    // Signed in, one cannot delete oneself even when another administrator exists.
    await server.api('PUT', '/api/users/second-admin', {
      type: 'email',
      email: 'second@example.com',
      roles: [{ role: ROLE_IDS.administrator }],
      password: PASSWORD,
    });
    expectApiError(
      await server.api('DELETE', '/api/users/admin', undefined, adminSession),
      409,
      'ERR_USER_DELETE_SELF',
      /cannot delete your own account/,
    );
    // With a second administrator the first may step down.
    assert.equal(
      (await server.api('PATCH', '/api/users/admin', { roles: [{ role: ROLE_IDS.operator }] })).status,
      200,
    );
    expectApiError(await server.api('DELETE', '/api/users/second-admin'), 409, 'ERR_LAST_ADMIN');
    assert.equal(
      (await server.api('PATCH', '/api/users/admin', { roles: [{ role: ROLE_IDS.administrator }] })).status,
      200,
    );
    assert.equal((await server.api('DELETE', '/api/users/second-admin')).status, 204);
  });

  it('refuses bodies that break the rules', async () => {
    const role = [{ role: ROLE_IDS.operator }];
    const ok = { type: 'email', email: 'x@example.com', roles: role };
    const cases: Array<[unknown, number, string, RegExp]> = [
      [{ ...ok, password: 'short' }, 400, 'ERR_PASSWORD_WEAK', /at least 8 characters/],
      [{ ...ok, password: '1234567' }, 400, 'ERR_PASSWORD_WEAK', /at least 8 characters/],
      [{ ...ok, password: 'p'.repeat(1025) }, 400, 'ERR_PASSWORD_WEAK', /at most 1024/],
      // ASVS 6.2.4: the common passwords, as typed and whatever their case.
      [{ ...ok, password: 'password1' }, 400, 'ERR_PASSWORD_WEAK', /50,000 most common passwords/],
      [{ ...ok, password: 'Password1' }, 400, 'ERR_PASSWORD_WEAK', /50,000 most common passwords/],
      [{ ...ok, password: '12345678' }, 400, 'ERR_PASSWORD_WEAK', /50,000 most common passwords/],
      [{ ...ok, password: 'QWERTYUIOP' }, 400, 'ERR_PASSWORD_WEAK', /50,000 most common passwords/],
      [{ ...ok, password: 12345678 }, 422, 'ERR_VALIDATION', /'password' must be a string/],
      [{ ...ok, type: undefined }, 422, 'ERR_VALIDATION', /'type' is required and must be 'email'/],
      [{ ...ok, type: 'servicePrincipal' }, 422, 'ERR_VALIDATION', /not supported/],
      [{ ...ok, type: 'adGroup' }, 422, 'ERR_VALIDATION', /not supported/],
      [{ ...ok, email: undefined }, 422, 'ERR_VALIDATION', /'email' is required/],
      [{ ...ok, email: 'not-an-address' }, 422, 'ERR_VALIDATION', /'email' is required/],
      [{ ...ok, email: `${'a'.repeat(250)}@x.io` }, 422, 'ERR_VALIDATION', /at most 254/],
      [{ ...ok, username: '' }, 422, 'ERR_VALIDATION', /'username' must be/],
      [{ ...ok, username: 'has space' }, 422, 'ERR_VALIDATION', /'username' must be/],
      [{ ...ok, username: 'tab\there' }, 422, 'ERR_VALIDATION', /'username' must be/],
      [{ ...ok, roles: [] }, 422, 'ERR_VALIDATION', /'roles' is required/],
      [{ ...ok, roles: [{ role: 'boss' }] }, 422, 'ERR_VALIDATION', /must be the ID of a role/],
      [{ ...ok, username: 'ADMIN' }, 409, 'ERR_USERNAME_TAKEN', /'ADMIN' belongs to another user/],
      [[ok], 422, 'ERR_VALIDATION', /JSON object/],
    ];
    for (const [body, status, code, message] of cases) {
      expectApiError(await server.api('PUT', '/api/users/bad-body', body), status, code, message);
    }
    expectApiError(await server.api('GET', '/api/users/bad-body'), 404, 'ERR_USER_NOT_FOUND');
    // PATCH checks the same fields.
    const patches: Array<[unknown, number, string]> = [
      [{ password: 'short' }, 400, 'ERR_PASSWORD_WEAK'],
      [{ email: 'nope' }, 422, 'ERR_VALIDATION'],
      [{ type: 'adGroup' }, 422, 'ERR_VALIDATION'],
      [{ roles: 'admin' }, 422, 'ERR_VALIDATION'],
      [{ username: 'admin' }, 409, 'ERR_USERNAME_TAKEN'],
    ];
    await server.api('PUT', '/api/users/patched', { ...ok, email: 'patched@example.com' });
    for (const [body, status, code] of patches) {
      expectApiError(await server.api('PATCH', '/api/users/patched', body), status, code);
    }
  });

  it('refuses user names and e-mail addresses with invisible or text-direction control characters', async () => {
    const ok = { type: 'email', email: 'visible@example.com', roles: [{ role: ROLE_IDS.operator }] };
    // [character, what it is]
    const invisible: Array<[string, string]> = [
      ['\u200B', 'zero width space'],
      ['\u200C', 'zero width non-joiner'],
      ['\u200D', 'zero width joiner'],
      ['\u200E', 'left-to-right mark'],
      ['\u200F', 'right-to-left mark'],
      ['\u202A', 'left-to-right embedding'],
      ['\u202B', 'right-to-left embedding'],
      ['\u202C', 'pop directional formatting'],
      ['\u202D', 'left-to-right override'],
      ['\u202E', 'right-to-left override'],
      ['\u2066', 'left-to-right isolate'],
      ['\u2067', 'right-to-left isolate'],
      ['\u2068', 'first strong isolate'],
      ['\u2069', 'pop directional isolate'],
      ['\uFEFF', 'zero width no-break space (BOM)'],
      ['\u00AD', 'soft hyphen'],
      ['\u061C', 'arabic letter mark'],
      ['\u2060', 'word joiner'],
      ['\u{E0041}', 'tag latin capital letter a'],
      ['\uD800', 'lone surrogate'],
    ];
    for (const [char, what] of invisible) {
      const code = `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
      const message = new RegExp(
        `contains ${code.replace('+', '\\+')}, an invisible or text-direction control character`,
      );
      const refusals: Array<[string, string, unknown]> = [
        ['PUT', 'username', { ...ok, username: `ad${char}min` }],
        ['PUT', 'username', { ...ok, username: `${char}eve` }],
        ['PUT', 'email', { ...ok, email: `eve${char}@example.com` }],
        ['PATCH', 'username', { username: `grace${char}` }],
      ];
      for (const [method, field, body] of refusals) {
        const res = await server.api(
          method,
          method === 'PUT' ? '/api/users/invisible' : '/api/users/grace',
          body,
        );
        assert.equal(res.status, 422, `${what} in '${field}': ${JSON.stringify(res.body)}`);
        expectApiError(res, 422, 'ERR_VALIDATION', new RegExp(`'${field}' ${message.source}`));
      }
    }
    // Control characters keep their own message.
    expectApiError(
      await server.api('PUT', '/api/users/invisible', { ...ok, username: 'bell\u0007' }),
      422,
      'ERR_VALIDATION',
      /'username' must be 1–254 characters without spaces or control characters/,
    );
    expectApiError(
      await server.api('PUT', '/api/users/invisible', { ...ok, email: 'bell\u0007@example.com' }),
      422,
      'ERR_VALIDATION',
      /'email' is required: an e-mail address/,
    );
    expectApiError(await server.api('GET', '/api/users/invisible'), 404, 'ERR_USER_NOT_FOUND');
    // Letters of any script, accents and emoji are visible.
    for (const [i, username] of ['zoë', 'Ελένη', '用户', 'ana🙂', 'مريم'].entries()) {
      const res = await server.api<User>('PUT', `/api/users/visible-${i}`, {
        ...ok,
        email: `v${i}@example.com`,
        username,
      });
      assert.equal(res.status, 200, `${username}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.username, username);
    }
  });

  it('refuses user IDs that break the pattern and unknown users', async () => {
    for (const id of ['has%20space', '-leading', 'x'.repeat(65), 'caf%C3%A9']) {
      expectApiError(
        await server.api('PUT', `/api/users/${id}`, {
          type: 'email',
          email: 'a@b.c',
          roles: [{ role: ROLE_IDS.operator }],
        }),
        400,
        'ERR_INVALID_ID',
      );
    }
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      expectApiError(
        await server.api(method, '/api/users/nobody', method === 'PATCH' ? {} : undefined),
        404,
        'ERR_USER_NOT_FOUND',
      );
    }
  });

  const administrators = async (): Promise<string[]> =>
    (await server.api<{ value: User[] }>('GET', '/api/users')).body.value
      .filter((u) => u.roles.some((r) => r.role === ROLE_IDS.administrator))
      .map((u) => u.id);
  const putUser = (id: string, roles: string[], password?: string) =>
    server.api<User>('PUT', `/api/users/${id}`, {
      type: 'email',
      email: `${id}@example.com`,
      roles: roles.map((role) => ({ role })),
      ...(password === undefined ? {} : { password }),
    });

  it('concurrent demotions or deletions of the last two administrators leave one', async () => {
    // Two administrators besides `admin`, which steps down for the test.
    for (const id of ['race-a', 'race-b'])
      assert.equal((await putUser(id, [ROLE_IDS.administrator], PASSWORD)).status, 200);
    const demote = { roles: [{ role: ROLE_IDS.operator }] };
    assert.equal((await server.api('PATCH', '/api/users/admin', demote)).status, 200);
    try {
      // Each demotion hashes a new password between its check and its write.
      const demoted = await Promise.all(
        ['race-a', 'race-b'].map((id) =>
          server.api('PATCH', `/api/users/${id}`, { ...demote, password: `new-${PASSWORD}` }),
        ),
      );
      assert.deepEqual(demoted.map((r) => r.status).sort(), [200, 409], JSON.stringify(demoted));
      for (const r of demoted.filter((x) => x.status === 409)) expectApiError(r, 409, 'ERR_LAST_ADMIN');
      assert.equal((await administrators()).length, 1);

      for (const id of ['race-a', 'race-b']) await putUser(id, [ROLE_IDS.administrator]);
      const deleted = await Promise.all(
        ['race-a', 'race-b'].map((id) => server.api('DELETE', `/api/users/${id}`)),
      );
      assert.deepEqual(deleted.map((r) => r.status).sort(), [204, 409], JSON.stringify(deleted));
      assert.equal((await administrators()).length, 1);
    } finally {
      await server.api('PATCH', '/api/users/admin', { roles: [{ role: ROLE_IDS.administrator }] });
      for (const id of ['race-a', 'race-b']) await server.api('DELETE', `/api/users/${id}`);
    }
    assert.deepEqual(await administrators(), ['admin']);
  });

  it('an administrator without a password is not another administrator: it cannot sign in', async () => {
    assert.equal((await putUser('no-password-admin', [ROLE_IDS.administrator])).status, 200);
    expectApiError(
      await server.api('PATCH', '/api/users/admin', { roles: [{ role: ROLE_IDS.operator }] }),
      409,
      'ERR_LAST_ADMIN',
      /last administrator who can sign in: give another user the Administrator role and a password/,
    );
    expectApiError(await server.api('DELETE', '/api/users/admin'), 409, 'ERR_LAST_ADMIN');
    // Given a password, it counts.
    assert.equal(
      (await server.api('PATCH', '/api/users/no-password-admin', { password: PASSWORD })).status,
      200,
    );
    assert.equal(
      (await server.api('PATCH', '/api/users/admin', { roles: [{ role: ROLE_IDS.operator }] })).status,
      200,
    );
    assert.equal(
      (await server.api('PATCH', '/api/users/admin', { roles: [{ role: ROLE_IDS.administrator }] })).status,
      200,
    );
    assert.equal((await server.api('DELETE', '/api/users/no-password-admin')).status, 204);
  });

  it('concurrent PUTs creating one user answer 200 (or 409), never 500', async () => {
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => putUser('created-twice', [ROLE_IDS.operator], PASSWORD)),
    );
    for (const r of answers) assert.ok([200, 409].includes(r.status), JSON.stringify(r.body));
    assert.ok(answers.some((r) => r.status === 200));
    assert.equal((await signIn(server, 'created-twice@example.com', PASSWORD)).status, 200);
  });

  it('concurrent PUTs giving one user name to two users: one wins, the other is 409', async () => {
    const answers = await Promise.all(
      ['name-race-1', 'name-race-2', 'name-race-3'].map((id) =>
        server.api('PUT', `/api/users/${id}`, {
          type: 'email',
          email: `${id}@example.com`,
          username: 'contested',
          roles: [{ role: ROLE_IDS.operator }],
          password: PASSWORD,
        }),
      ),
    );
    assert.deepEqual(answers.map((r) => r.status).sort(), [200, 409, 409], JSON.stringify(answers));
    for (const r of answers.filter((x) => x.status === 409))
      expectApiError(r, 409, 'ERR_USERNAME_TAKEN', /'contested' belongs to another user/);
  });

  it('without credentials every users call is 401', async () => {
    const res = await fetch(`${server.baseUrl}/api/users`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('x-ms-error-code'), 'ERR_UNAUTHENTICATED');
  });
});
