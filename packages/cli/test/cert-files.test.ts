import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkOutputDir, refuseExisting, writeFilesAtomically } from '../src/files.js';
import { listing, tempDirs } from './helpers/cli.js';

const dirs = tempDirs();
after(dirs.cleanup);

const files = [
  { name: 'x_cert.pem', contents: 'cert', mode: 0o644 },
  { name: 'x_key.pem', contents: 'key', mode: 0o600 },
  { name: 'x_fullchain.pem', contents: 'chain', mode: 0o644 },
];

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('cert files: all or nothing', () => {
  it('writes every file with its mode', () => {
    const dir = dirs.make();
    const written = writeFilesAtomically(dir, files, { force: false });
    assert.deepEqual(
      written,
      files.map((f) => join(dir, f.name)),
    );
    assert.deepEqual(listing(dir), ['x_cert.pem', 'x_fullchain.pem', 'x_key.pem']);
    assert.equal(readFileSync(join(dir, 'x_key.pem'), 'utf8'), 'key');
    assert.equal(statSync(join(dir, 'x_key.pem')).mode & 0o777, 0o600);
  });

  it('takes back the files it put in place when a later one cannot be written', () => {
    const dir = dirs.make();
    // Something appeared at the second name after the existence check.
    mkdirSync(join(dir, 'x_key.pem'));
    assert.equal(
      code(() => writeFilesAtomically(dir, files, { force: false })),
      'ERR_CLI_FILE_EXISTS',
    );
    assert.deepEqual(listing(dir), ['x_key.pem']);
  });

  it('takes back created files under --force too', () => {
    const dir = dirs.make();
    mkdirSync(join(dir, 'x_key.pem'));
    writeFileSync(join(dir, 'x_key.pem', 'blocker'), '');
    assert.equal(
      code(() => writeFilesAtomically(dir, files, { force: true })),
      'ERR_CLI_WRITE_FILE',
    );
    assert.deepEqual(listing(dir), ['x_key.pem']);
  });

  it('leaves no temporary behind when staging fails', () => {
    const dir = dirs.make();
    const bad = [...files, { name: 'missing-folder/x', contents: '', mode: 0o644 }];
    assert.equal(
      code(() => writeFilesAtomically(dir, bad, { force: false })),
      'ERR_CLI_WRITE_FILE',
    );
    assert.deepEqual(listing(dir), []);
  });

  it('refuses existing files unless forced, and unusable folders', () => {
    const dir = dirs.make();
    writeFileSync(join(dir, 'x_cert.pem'), '');
    assert.equal(
      code(() => refuseExisting(dir, ['x_cert.pem', 'x_key.pem'], false)),
      'ERR_CLI_FILE_EXISTS',
    );
    assert.equal(
      code(() => refuseExisting(dir, ['x_cert.pem'], true)),
      undefined,
    );
    assert.equal(checkOutputDir(dir), dir);
    assert.equal(
      code(() => checkOutputDir(join(dir, 'x_cert.pem', 'sub'))),
      'ERR_CLI_OUTPUT_DIR',
    );
    assert.equal(
      code(() => checkOutputDir('')),
      'ERR_CLI_OUTPUT_DIR',
    );
  });
});
