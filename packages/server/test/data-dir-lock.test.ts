/**
 * The data folder lock against real pids: a live foreign pid refuses, a dead one or garbage is
 * stale and taken over, two servers inside one process share it, and release removes it.
 * (Two real `gatehouse serve` processes: the CLI's serve-lock test.)
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { pino } from 'pino';

import { acquireDataDirLock, LOCK_FILE } from '../src/lifecycle/data-dir-lock.js';

const logger = pino({ level: 'silent' });

function sleeper(): ChildProcess {
  return spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
}

describe('data folder lock', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'gatehouse-lock-'));
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('writes this pid and removes the file on release', async () => {
    const d = dir();
    const lock = await acquireDataDirLock(d, logger);
    assert.equal(readFileSync(join(d, LOCK_FILE), 'utf8'), `${process.pid}\n`);
    await lock.release();
    assert.equal(existsSync(join(d, LOCK_FILE)), false);
  });

  it('refuses while another live process holds it, naming its pid', async () => {
    const d = dir();
    const other = sleeper();
    children.push(other);
    writeFileSync(join(d, LOCK_FILE), `${other.pid}\n`);
    await assert.rejects(acquireDataDirLock(d, logger), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_DATA_DIR_LOCKED');
      assert.match(err.message, new RegExp(`pid ${other.pid}\\b`));
      return true;
    });
    assert.equal(readFileSync(join(d, LOCK_FILE), 'utf8'), `${other.pid}\n`, 'the holder keeps its lock');
  });

  for (const [name, content] of [
    ['a dead pid', 'dead'],
    ['garbage', 'not a pid\n'],
    ['an empty file', ''],
  ] as const) {
    it(`takes over a stale lock holding ${name}`, async () => {
      const d = dir();
      let text: string = content;
      if (content === 'dead') {
        const gone = sleeper();
        await new Promise((resolve) => {
          gone.once('exit', resolve);
          gone.kill('SIGKILL');
        });
        text = `${gone.pid}\n`;
      }
      writeFileSync(join(d, LOCK_FILE), text);
      const lock = await acquireDataDirLock(d, logger);
      assert.equal(readFileSync(join(d, LOCK_FILE), 'utf8'), `${process.pid}\n`);
      await lock.release();
    });
  }

  it('two servers in one process share the lock until the last releases it', async () => {
    const d = dir();
    const first = await acquireDataDirLock(d, logger);
    const second = await acquireDataDirLock(d, logger);
    await first.release();
    assert.equal(existsSync(join(d, LOCK_FILE)), true);
    await second.release();
    assert.equal(existsSync(join(d, LOCK_FILE)), false);
  });
});
