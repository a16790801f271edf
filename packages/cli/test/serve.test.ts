/**
 * `gatehouse serve` as a user runs it: a real process, a fresh data folder,
 * the banner, the REST API with the printed token, SIGTERM, and a second start
 * that reuses the ID scope, the server CA and the token.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SERVER_DEFAULTS as SERVER_SIDE } from '@gatehouse/server';
import { SERVER_DEFAULTS as CLI_SIDE } from '../src/server-defaults.js';
import { gatehouse } from './helpers/cli.js';
import { killServeProcesses, startServeProcess, type ServeProcess } from './helpers/serve-process.js';

interface Started {
  child: ServeProcess['child'];
  out: () => string;
  httpPort: number;
  idScope: string;
  caPath: string;
  token: string | undefined;
}

async function startServe(
  dataDir: string,
  env: NodeJS.ProcessEnv = {},
  extra: string[] = [],
): Promise<Started> {
  const { GATEHOUSE_ADMIN_TOKEN: token = '', ...rest } = env;
  const s = await startServeProcess({ dataDir, token, env: rest, args: extra });
  return {
    child: s.child,
    out: s.out,
    httpPort: s.httpPort,
    idScope: s.idScope,
    caPath: s.caPath,
    token: s.generatedToken,
  };
}

function stop(s: Started, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  return new Promise((resolve) => {
    s.child.once('exit', (code) => resolve(code));
    s.child.kill(signal);
  });
}

describe('gatehouse serve', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-serve-'));
  after(() => {
    killServeProcesses();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts on a fresh data folder, prints what devices need, serves the API, stops on SIGTERM with 0', async () => {
    const s = await startServe(dataDir);
    assert.match(s.idScope, /^0ne[0-9A-F]{8}$/);
    assert.equal(s.caPath, join(dataDir, 'server-ca.pem'));
    assert.ok(s.token, 'the generated admin token is printed once');
    assert.match(s.out(), /mqtts:\/\/localhost:\d+/);
    assert.equal(statSync(join(dataDir, 'admin-token')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dataDir, 'server-key.pem')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dataDir, 'server-ca-key.pem')).mode & 0o777, 0o600);
    const health = await fetch(`http://127.0.0.1:${s.httpPort}/healthz`);
    assert.equal(health.status, 200);
    const app = await fetch(`http://127.0.0.1:${s.httpPort}/api/application`, {
      headers: { authorization: `Bearer ${s.token}` },
    });
    assert.equal(app.status, 200);
    assert.equal(((await app.json()) as { idScope: string }).idScope, s.idScope);
    const anonymous = await fetch(`http://127.0.0.1:${s.httpPort}/api/application`);
    assert.equal(anonymous.status, 401);
    assert.equal(await stop(s), 0);

    // A second start reuses the scope, the CA and the token, and prints no secret.
    const ca = readFileSync(s.caPath, 'utf8');
    const again = await startServe(dataDir);
    assert.equal(again.idScope, s.idScope);
    assert.equal(readFileSync(again.caPath, 'utf8'), ca);
    assert.equal(again.token, undefined);
    assert.ok(!again.out().includes(s.token!), 'the secret is not printed again');
    const stillValid = await fetch(`http://127.0.0.1:${again.httpPort}/api/application`, {
      headers: { authorization: `Bearer ${s.token}` },
    });
    assert.equal(stillValid.status, 200);
    assert.equal(await stop(again, 'SIGINT'), 0);
  });

  it('GATEHOUSE_ADMIN_TOKEN sets the administrator secret', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-serve-'));
    try {
      const s = await startServe(dir, { GATEHOUSE_ADMIN_TOKEN: 'ci-token-0123456789abcdef' });
      const app = await fetch(`http://127.0.0.1:${s.httpPort}/api/application`, {
        headers: { authorization: 'Bearer ci-token-0123456789abcdef' },
      });
      assert.equal(app.status, 200);
      assert.equal(await stop(s), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bad port with ERR_CLI_INVALID_OPTION and a taken port with ERR_CLI_LISTEN', async () => {
    const bad = gatehouse(tmpdir(), 'serve', '--mqtt-port', 'abc');
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /^ERR_CLI_(INVALID_OPTION|USAGE): /);

    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-serve-'));
    try {
      const taken = gatehouse(
        tmpdir(),
        'serve',
        '--data',
        dir,
        '--bind',
        '127.0.0.1',
        '--mqtt-port',
        '0',
        '--http-port',
        String(port),
        '--https-port',
        '0',
        '--log-level',
        'silent',
      );
      assert.equal(taken.status, 1);
      assert.match(taken.stderr, /^ERR_CLI_LISTEN: /m);
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps running when the HTTPS device port cannot be bound, and says why in one line', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-serve-'));
    try {
      const s = await startServe(dir, {}, ['--https-port', String(port)]);
      assert.match(
        s.out(),
        new RegExp(`Devices \\(HTTPS, WSS\\)  not listening: \\S*${port} is already in use.*--https-port`),
      );
      const health = await fetch(`http://127.0.0.1:${s.httpPort}/healthz`);
      assert.equal(health.status, 200);
      assert.equal(await stop(s), 0);
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("mirrors the server's defaults in --help without loading the server", () => {
    assert.deepEqual(CLI_SIDE, SERVER_SIDE);
    const help = gatehouse(tmpdir(), 'serve', '--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--mqtt-port/);
  });
});
