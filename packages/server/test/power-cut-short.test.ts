/**
 * D2 at CI size (`npm run fuzz -- power-cut` runs it long): the data folder on an ext4 loop
 * device, the server stopped at random points of a QoS 1 stream and the block device copied as
 * a power cut would leave it; the copy, mounted and opened, must pass PRAGMA integrity_check
 * and hold every acknowledged message. First, the model itself: a file written without fsync is
 * missing from such a copy and an fsynced one is there, so the check can see a lost write.
 * Needs root and loop devices: skipped with a reason otherwise, required in CI.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { crashLoop } from '../fuzz/crash-loop.js';

const required = process.env['CI'] === 'true' || process.env['GATEHOUSE_REQUIRE_LOOP'] === '1';

function loopMount(image: string, dir: string, options = 'loop'): void {
  execFileSync('mount', ['-o', options, image, dir], { stdio: 'pipe' });
}

describe('power cut (D2), at CI size', { timeout: 180_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-power-test-'));
  const image = join(root, 'i.img');
  const live = join(root, 'live');
  const copy = join(root, 'copy');
  let skip: string | undefined;
  before(() => {
    mkdirSync(live);
    mkdirSync(copy);
    try {
      execFileSync('truncate', ['-s', '64M', image]);
      execFileSync('mkfs.ext4', ['-q', image], { stdio: 'pipe' });
      // Journal commits a minute apart: the un-fsynced file below cannot reach the disk by a
      // periodic commit (every 5 s by default) between its write and the copy.
      loopMount(image, live, 'loop,commit=60');
    } catch (err) {
      skip = `cannot mount an ext4 loop device (needs root and /dev/loop*): ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
      if (required) throw new Error(skip);
    }
  });
  after(() => {
    if (!skip) execFileSync('umount', [live]);
    rmSync(root, { recursive: true, force: true });
  });

  it('the model: a copy of the block device keeps an fsynced file and loses an un-fsynced one', (t) => {
    if (skip) return t.skip(skip);
    execFileSync('sync');
    const fd = openSync(join(live, 'durable'), 'w');
    writeSync(fd, 'fsynced');
    fsyncSync(fd);
    closeSync(fd);
    const dir = openSync(live, 'r');
    fsyncSync(dir);
    closeSync(dir);
    writeFileSync(join(live, 'volatile'), 'only in the page cache');
    execFileSync('cp', ['--sparse=always', image, join(root, 'copy.img')]);
    loopMount(join(root, 'copy.img'), copy);
    try {
      assert.equal(readFileSync(join(copy, 'durable'), 'utf8'), 'fsynced');
      assert.throws(() => readFileSync(join(copy, 'volatile')), /ENOENT/);
    } finally {
      execFileSync('umount', [copy]);
    }
  });

  it('2 power cuts at random points of a QoS 1 stream: integrity ok, nothing acknowledged lost', async (t) => {
    if (skip) return t.skip(skip);
    const report = await crashLoop({ iterations: 2, seed: 20261205, powerCut: true });
    assert.deepEqual(report.findings, [], JSON.stringify(report.findings, null, 2));
    assert.equal(report['powerCut'], true);
    assert.equal(report['integrityOk'], 2);
    assert.ok((report['acknowledged'] as number) > 0, 'messages were acknowledged before the cuts');
  });
});
