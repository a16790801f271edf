/**
 * Two real `gatehouse serve` processes on one data folder: the second is refused with the
 * first's pid; after a kill -9 the leftover lock is stale and the next start takes it over;
 * a clean stop removes it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { MAIN } from './helpers/cli.js';
import { killServeProcesses, startServeProcess } from './helpers/serve-process.js';

const TOKEN = 'lock-test-token-0123456789abcdef';

describe('gatehouse serve: one process per data folder', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-lock-'));
  const lockFile = join(dataDir, 'gatehouse.pid');
  after(() => {
    killServeProcesses();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a second serve naming the running pid, recovers from kill -9, releases on exit', async () => {
    const first = await startServeProcess({ dataDir, token: TOKEN });
    assert.equal(readFileSync(lockFile, 'utf8').trim(), String(first.child.pid));

    const second = spawnSync(
      process.execPath,
      [
        MAIN,
        'serve',
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
      ],
      { encoding: 'utf8', timeout: 30_000, env: { ...process.env, GATEHOUSE_ADMIN_TOKEN: TOKEN } },
    );
    assert.equal(second.status, 1);
    assert.match(second.stderr, new RegExp(`^ERR_DATA_DIR_LOCKED: .*\\(pid ${first.child.pid}\\)`));
    assert.equal(second.stderr.trim().split('\n').length, 1, 'one line');
    assert.equal((await fetch(`${first.url}/healthz`)).status, 200, 'the first one keeps running');

    // kill -9 runs no exit handler: the lock stays behind, naming a dead pid.
    await first.stop('SIGKILL');
    assert.equal(existsSync(lockFile), true);
    const third = await startServeProcess({ dataDir, token: TOKEN });
    assert.equal(readFileSync(lockFile, 'utf8').trim(), String(third.child.pid));
    assert.match(third.out(), /stale lock of a stopped server removed/);

    assert.equal(await third.stop('SIGTERM'), 0);
    assert.equal(existsSync(lockFile), false, 'released on exit');
  });
});
