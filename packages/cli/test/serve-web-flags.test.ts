/**
 * `gatehouse serve --sign-in-ip-limit`, `--sign-in-account-limit`, `--session-idle-timeout` and
 * `--http-trust-proxy` (and
 * their GATEHOUSE_* variables), with the built binary: bad values stop the start with one line
 * naming the flag, before the data folder is touched; good ones take effect on the real
 * server (a client address refused after its allowance, each forwarded client counted apart).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { serveRefused } from './helpers/cli.js';
import { killServeProcesses, startServeProcess } from './helpers/serve-process.js';

async function signIn(url: string, username: string, forwardedFor?: string): Promise<Response> {
  return fetch(`${url}/api/session`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
    },
    body: JSON.stringify({ username, password: 'a wrong password' }),
  });
}

describe('gatehouse serve: the web sign-in flags', () => {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-web-flags-'));
  after(() => {
    killServeProcesses();
    rmSync(root, { recursive: true, force: true });
  });

  const refusals: Array<{ args: string[]; env?: NodeJS.ProcessEnv; message: RegExp }> = [
    { args: ['--sign-in-ip-limit', '0'], message: /--sign-in-ip-limit: '0' is not a whole number from 1/ },
    { args: ['--sign-in-ip-limit', 'many'], message: /--sign-in-ip-limit: 'many' is not a whole number/ },
    {
      args: ['--sign-in-account-limit', '2.5'],
      message: /--sign-in-account-limit: '2.5' is not a whole number/,
    },
    { args: [], env: { GATEHOUSE_SIGN_IN_ACCOUNT_LIMIT: '-1' }, message: /--sign-in-account-limit: '-1'/ },
    {
      args: ['--http-trust-proxy', 'proxy.example'],
      message: /--http-trust-proxy: 'proxy.example' is not an address or CIDR/,
    },
    { args: [], env: { GATEHOUSE_HTTP_TRUST_PROXY: '10.0.0.0/8,*' }, message: /--http-trust-proxy: '\*'/ },
    {
      args: ['--session-idle-timeout', '0'],
      message: /--session-idle-timeout: '0' is not a whole number of minutes from 1 to 720/,
    },
    { args: ['--session-idle-timeout', '721'], message: /--session-idle-timeout: '721'/ },
    { args: ['--session-idle-timeout', '30m'], message: /--session-idle-timeout: '30m'/ },
    { args: [], env: { GATEHOUSE_SESSION_IDLE_TIMEOUT: '1.5' }, message: /--session-idle-timeout: '1.5'/ },
  ];
  for (const [i, c] of refusals.entries()) {
    it(`refuses ${c.args.join(' ') || JSON.stringify(c.env)}`, () => {
      const data = join(root, `refused-${i}`);
      const r = serveRefused(data, c.args, c.env);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /ERR_CLI_INVALID_OPTION/);
      assert.match(r.stderr, c.message);
      assert.equal(existsSync(data), false, 'the data folder is not created');
    });
  }

  it('--sign-in-ip-limit 2 with --http-trust-proxy 127.0.0.1: the third failure of one client is 429, another client goes on', async () => {
    const s = await startServeProcess({
      dataDir: join(root, 'limits'),
      token: '',
      args: ['--sign-in-ip-limit', '2'],
      env: { GATEHOUSE_HTTP_TRUST_PROXY: '127.0.0.1' },
    });
    assert.equal((await signIn(s.url, 'a', '192.0.2.1')).status, 401);
    assert.equal((await signIn(s.url, 'b', '192.0.2.1')).status, 401);
    const third = await signIn(s.url, 'c', '192.0.2.1');
    assert.equal(third.status, 429);
    assert.equal(third.headers.get('x-ms-error-code'), 'ERR_SIGNIN_IP_THROTTLED');
    assert.ok(Number(third.headers.get('retry-after')) >= 1);
    assert.equal(
      (await signIn(s.url, 'c', '192.0.2.2')).status,
      401,
      'another forwarded client is not refused',
    );
    assert.equal(await s.stop(), 0);
  });

  it('GATEHOUSE_SESSION_IDLE_TIMEOUT=5: a session says it ends after 300 s without a request', async () => {
    const password = 'idle-timeout-flag-Qx7-walnut';
    const s = await startServeProcess({
      dataDir: join(root, 'idle'),
      token: '',
      env: { GATEHOUSE_SESSION_IDLE_TIMEOUT: '5', GATEHOUSE_ADMIN_PASSWORD: password },
    });
    const signedIn = await fetch(`${s.url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    });
    assert.equal(signedIn.status, 200);
    const { token } = (await signedIn.json()) as { token: string };
    const me = await fetch(`${s.url}/api/session`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { idleTimeoutSeconds: number }).idleTimeoutSeconds, 300);
    assert.equal(await s.stop(), 0);
  });
});
