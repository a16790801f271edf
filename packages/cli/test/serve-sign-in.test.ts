/**
 * The web UI's first sign-in as `gatehouse serve` gives it: on a fresh data folder the
 * banner prints a generated password for the user `admin` once (also saved 0600 in
 * <data>/admin-password); later starts print only where it is; GATEHOUSE_ADMIN_PASSWORD
 * chooses it instead, and a too-short one stops the server with ERR_PASSWORD_WEAK.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { killServeProcesses, startServeProcess } from './helpers/serve-process.js';

async function signIn(url: string, username: string, password: string): Promise<number> {
  const res = await fetch(`${url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  return res.status;
}

describe('gatehouse serve: the administrator sign-in', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'gatehouse-signin-'));
    dirs.push(d);
    return d;
  };
  after(() => {
    killServeProcesses();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('prints a generated password once, next to the token, and it signs in', async () => {
    const dataDir = dir();
    const s = await startServeProcess({ dataDir, token: '', env: { GATEHOUSE_ADMIN_PASSWORD: '' } });
    const password = s.generatedPassword;
    assert.ok(password, `the banner shows the password:\n${s.out()}`);
    assert.ok(s.generatedToken && s.generatedToken !== password);
    assert.match(
      s.out(),
      /Web UI sign-in: user admin, password \(shown once; also saved in .*admin-password, mode 0600\)/,
    );
    const file = join(dataDir, 'admin-password');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readFileSync(file, 'utf8'), `${password}\n`);
    assert.equal(await signIn(s.url, 'admin', password), 200);
    assert.equal(await s.stop(), 0);

    const again = await startServeProcess({ dataDir, token: '', env: { GATEHOUSE_ADMIN_PASSWORD: '' } });
    assert.equal(again.generatedPassword, undefined);
    assert.ok(!again.out().includes(password), 'the password is not printed again');
    assert.match(
      again.out(),
      /Web UI sign-in: user admin, password in .*admin-password \(or GATEHOUSE_ADMIN_PASSWORD\)/,
    );
    assert.equal(await signIn(again.url, 'admin', password), 200);
    assert.equal(await again.stop(), 0);
  });

  it('GATEHOUSE_ADMIN_PASSWORD sets the password, which is neither printed nor saved', async () => {
    const dataDir = dir();
    const chosen = 'chosen-by-the-operator';
    const s = await startServeProcess({ dataDir, token: '', env: { GATEHOUSE_ADMIN_PASSWORD: chosen } });
    assert.equal(s.generatedPassword, undefined);
    assert.ok(!s.out().includes(chosen));
    assert.ok(!existsSync(join(dataDir, 'admin-password')));
    assert.equal(await signIn(s.url, 'admin', chosen), 200);
    assert.equal(await signIn(s.url, 'admin', 'something-else'), 401);
    assert.equal(await s.stop(), 0);
  });

  it('a GATEHOUSE_ADMIN_PASSWORD under 8 characters stops the server with ERR_PASSWORD_WEAK', async () => {
    await assert.rejects(
      startServeProcess({ dataDir: dir(), token: '', env: { GATEHOUSE_ADMIN_PASSWORD: 'short' } }),
      /serve exited early: [\s\S]*ERR_PASSWORD_WEAK: The administrator password \(GATEHOUSE_ADMIN_PASSWORD\) is too short/,
    );
  });
});
