/**
 * `gatehouse serve` cluster options: --redis-url alone is refused (a cluster shares one
 * PostgreSQL database), Redis unreachable at start exits non-zero with ERR_BUS_UNREACHABLE and
 * the fix, a bad --node-id is refused. One line on stderr each, code first.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { MAIN } from './helpers/cli.js';

function serve(env: NodeJS.ProcessEnv, ...args: string[]) {
  const clean = { ...process.env };
  for (const name of ['GATEHOUSE_DATABASE_URL', 'GATEHOUSE_REDIS_URL', 'GATEHOUSE_NODE_ID'])
    delete clean[name];
  const r = spawnSync(process.execPath, [MAIN, 'serve', ...args], {
    cwd: tmpdir(),
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...clean, ...env },
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('gatehouse serve: cluster options', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-serve-cluster-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  const common = [
    '--data',
    dataDir,
    '--bind',
    '127.0.0.1',
    '--mqtt-port',
    '0',
    '--http-port',
    '0',
    '--https-port',
    '0',
  ];

  it('refuses --redis-url without --database-url (ERR_CLI_REDIS_WITHOUT_DATABASE), from the flag or the environment', () => {
    for (const [env, args] of [
      [{}, ['--redis-url', 'redis://127.0.0.1:6379']],
      [{ GATEHOUSE_REDIS_URL: 'redis://127.0.0.1:6379' }, []],
    ] as const) {
      const r = serve(env, ...common, ...args);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^ERR_CLI_REDIS_WITHOUT_DATABASE: .*--database-url/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.deepEqual(readdirSync(dataDir), [], 'refused before touching the data folder');
  });

  it('exits non-zero with ERR_BUS_UNREACHABLE and the fix when Redis is not there', async () => {
    const port = await closedPort();
    const r = serve(
      { GATEHOUSE_DATABASE_URL: 'postgres://127.0.0.1:1/gatehouse', GATEHOUSE_LOG_LEVEL: 'silent' },
      ...common,
      '--redis-url',
      `redis://127.0.0.1:${port}`,
    );
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      new RegExp(`^ERR_BUS_UNREACHABLE: Redis at redis://127\\.0\\.0\\.1:${port}.*--redis-url`),
    );
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });

  it('refuses a node ID that does not fit a channel name', () => {
    const r = serve({}, ...common, '--node-id', 'two words');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /^ERR_CLI_(INVALID_OPTION|USAGE): .*node ID/);
  });
});
