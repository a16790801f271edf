/**
 * `gatehouse serve --database-url` with a URL it cannot use: the process exits non-zero
 * before listening, with one line that starts with the error code and says what to fix
 * (docs/errors.md, "Database"). Needs no PostgreSQL: nothing listens on the port used, and
 * the other cases fail before connecting.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { MAIN } from './helpers/cli.js';

/** A loopback port nothing listens on (bound, read, released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('gatehouse serve --database-url with a bad URL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-serve-db-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function serve(env: NodeJS.ProcessEnv, ...args: string[]) {
    const r = spawnSync(
      process.execPath,
      [
        MAIN,
        'serve',
        '--data',
        dir,
        '--bind',
        '127.0.0.1',
        '--mqtt-port',
        '0',
        '--http-port',
        '0',
        '--https-port',
        '0',
        ...args,
      ],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'silent', ...env } },
    );
    return { status: r.status, stderr: r.stderr, stdout: r.stdout };
  }

  it('an unreachable server: ERR_DATABASE_UNREACHABLE, the host and port, how to check', async () => {
    const port = await closedPort();
    const r = serve({}, '--database-url', `postgres://gatehouse@127.0.0.1:${port}/gatehouse`);
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0]!,
      new RegExp(`^ERR_DATABASE_UNREACHABLE: Cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port} `),
    );
    assert.match(lines[0]!, /pg_isready/);
    assert.equal(r.stdout, '', 'no banner: nothing started');
  });

  it('GATEHOUSE_DATABASE_URL works like the flag, and a password never reaches the output', async () => {
    const port = await closedPort();
    const r = serve({ GATEHOUSE_DATABASE_URL: `postgres://gatehouse:s3cret@127.0.0.1:${port}/gatehouse` });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^ERR_DATABASE_UNREACHABLE: /);
    assert.doesNotMatch(r.stderr, /s3cret/);
  });

  it('not a PostgreSQL URL: ERR_DATABASE_URL_INVALID with the expected form', () => {
    for (const url of ['mysql://u@h/db', 'not a url', 'postgres://127.0.0.1:5432']) {
      const r = serve({}, '--database-url', url);
      assert.equal(r.status, 1, url);
      assert.match(r.stderr, /^ERR_DATABASE_URL_INVALID: .*postgres:\/\/USER@HOST:PORT\/DATABASE/, url);
    }
  });
});
