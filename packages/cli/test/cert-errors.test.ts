import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRootCa } from '@gatehouse/pki';
import { gatehouse, listing, ok, tempDirs } from './helpers/cli.js';

const dirs = tempDirs();
after(dirs.cleanup);

/**
 * Runs a command that must fail: non-zero exit, exactly one line `<code>: <message>` on stderr,
 * nothing on stdout, and the folder exactly as before (no file, no temporary left behind).
 */
function refused(dir: string, code: string, ...args: string[]): string {
  const before = listing(dir);
  const r = gatehouse(dir, ...args);
  assert.notEqual(r.status, 0, `gatehouse ${args.join(' ')} should fail`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^${code}: [^\\n]+\\n$`), `gatehouse ${args.join(' ')}`);
  assert.deepEqual(listing(dir), before, 'no file written');
  return r.stderr;
}

describe('cert: bad input is refused before anything is written', () => {
  let dir: string;
  before(() => {
    dir = dirs.make();
    ok(dir, 'cert', 'root');
    ok(dir, 'cert', 'device', 'leaf', 'root');
    ok(dir, 'cert', 'root', 'other');
    writeFileSync(join(dir, 'notes.txt'), 'not a certificate\n');
  });

  const badNames = [
    ['upper case', 'MyRoot'],
    ['a space', 'my root'],
    ['a dot', 'my.root'],
    ['a slash', '../root'],
    ['an underscore', 'my_root'],
    ['65 characters', 'a'.repeat(65)],
    ['nothing', ''],
  ];
  for (const [what, name = ''] of badNames) {
    it(`refuses a name with ${what}`, () => {
      refused(dir, 'ERR_CLI_INVALID_NAME', 'cert', 'root', name);
      refused(dir, 'ERR_CLI_INVALID_NAME', 'cert', 'intermediate', name, 'root');
      refused(dir, 'ERR_CLI_INVALID_NAME', 'cert', 'device', name);
    });
  }

  it('accepts a name of exactly 64 characters', () => {
    const other = dirs.make();
    ok(other, 'cert', 'device', 'a'.repeat(64));
  });

  it('refuses a parent name that could leave the folder', () => {
    refused(dir, 'ERR_CLI_INVALID_NAME', 'cert', 'device', 'd1', '../root');
    refused(dir, 'ERR_CLI_INVALID_NAME', 'cert', 'device', 'd1', 'root.x');
    refused(dir, 'ERR_CLI_INVALID_NAME', 'cert', 'device', 'd1', 'd1');
  });

  it('refuses a missing parent', () => {
    const message = refused(dir, 'ERR_CLI_PARENT_NOT_FOUND', 'cert', 'intermediate', 'i1', 'nosuch');
    assert.match(message, /nosuch_cert\.pem/);
    refused(dir, 'ERR_CLI_PARENT_NOT_FOUND', 'cert', 'device', 'd1', 'nosuch');
  });

  it('refuses a parent whose key file is missing', () => {
    const other = dirs.make();
    copyFileSync(join(dir, 'root_cert.pem'), join(other, 'root_cert.pem'));
    const message = refused(other, 'ERR_CLI_PARENT_NOT_FOUND', 'cert', 'device', 'd1', 'root');
    assert.match(message, /root_key\.pem/);
  });

  it('refuses a parent key that does not match the parent certificate', () => {
    const other = dirs.make();
    copyFileSync(join(dir, 'root_cert.pem'), join(other, 'root_cert.pem'));
    copyFileSync(join(dir, 'other_key.pem'), join(other, 'root_key.pem'));
    refused(other, 'ERR_PKI_KEY_MISMATCH', 'cert', 'device', 'd1', 'root');
    refused(other, 'ERR_PKI_KEY_MISMATCH', 'cert', 'intermediate', 'i1', 'root');
  });

  it('refuses a parent that is not a CA', () => {
    refused(dir, 'ERR_PKI_NOT_A_CA', 'cert', 'device', 'd1', 'leaf');
    refused(dir, 'ERR_PKI_NOT_A_CA', 'cert', 'intermediate', 'i1', 'leaf');
  });

  it('refuses an expired parent', async () => {
    const other = dirs.make();
    const expired = await createRootCa({
      commonName: 'old',
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      days: 1,
    });
    writeFileSync(join(other, 'old_cert.pem'), expired.certificate.pem);
    writeFileSync(join(other, 'old_key.pem'), expired.privateKey.toPem());
    refused(other, 'ERR_PKI_EXPIRED', 'cert', 'device', 'd1', 'old');
    refused(
      other,
      'ERR_PKI_EXPIRED',
      'cert',
      'verification',
      '--ca',
      'old_cert.pem',
      '--key',
      'old_key.pem',
      '--nonce',
      'abc',
    );
  });

  it('refuses a file that is not a certificate', () => {
    refused(dir, 'ERR_PKI_NOT_A_CERTIFICATE', 'cert', 'show', 'notes.txt');
    refused(dir, 'ERR_PKI_NOT_A_CERTIFICATE', 'cert', 'show', 'root_key.pem');
    refused(dir, 'ERR_PKI_NOT_A_CERTIFICATE', 'cert', 'verify', 'notes.txt', '--ca', 'root_cert.pem');
    refused(dir, 'ERR_PKI_NOT_A_CERTIFICATE', 'cert', 'verify', 'leaf_cert.pem', '--ca', 'notes.txt');
    refused(
      dir,
      'ERR_PKI_NOT_A_CERTIFICATE',
      'cert',
      'verification',
      '--ca',
      'root_key.pem',
      '--key',
      'root_key.pem',
      '--nonce',
      'abc',
    );
    const other = dirs.make();
    writeFileSync(join(other, 'p_cert.pem'), 'hello\n');
    copyFileSync(join(dir, 'root_key.pem'), join(other, 'p_key.pem'));
    const message = refused(other, 'ERR_PKI_NOT_A_CERTIFICATE', 'cert', 'device', 'd1', 'p');
    assert.match(message, /p_cert\.pem/, 'the message names the file');
  });

  it('refuses a key file that holds no key', () => {
    const other = dirs.make();
    copyFileSync(join(dir, 'root_cert.pem'), join(other, 'root_cert.pem'));
    copyFileSync(join(dir, 'root_cert.pem'), join(other, 'root_key.pem'));
    refused(other, 'ERR_PKI_MALFORMED_KEY', 'cert', 'device', 'd1', 'root');
  });

  it('refuses a parent fullchain that belongs to another certificate', () => {
    const other = dirs.make();
    for (const f of ['root_cert.pem', 'root_key.pem']) copyFileSync(join(dir, f), join(other, f));
    copyFileSync(join(dir, 'other_fullchain.pem'), join(other, 'root_fullchain.pem'));
    refused(other, 'ERR_CLI_CHAIN_MISMATCH', 'cert', 'device', 'd1', 'root');
  });

  it('refuses a file that cannot be read', () => {
    refused(dir, 'ERR_CLI_READ_FILE', 'cert', 'show', 'missing.pem');
    refused(dir, 'ERR_CLI_READ_FILE', 'cert', 'verify', 'leaf_cert.pem', '--ca', 'missing.pem');
    refused(
      dir,
      'ERR_CLI_READ_FILE',
      'cert',
      'verification',
      '--ca',
      'missing.pem',
      '--key',
      'root_key.pem',
      '--nonce',
      'abc',
    );
    refused(
      dir,
      'ERR_CLI_READ_FILE',
      'cert',
      'verification',
      '--ca',
      'root_cert.pem',
      '--key',
      'missing.pem',
      '--nonce',
      'abc',
    );
  });

  const badNonces = [
    ['empty', ''],
    ['a hyphen', 'abc-123'],
    ['a space', 'abc 123'],
    ['a non-ASCII letter', 'äbc'],
    ['65 characters', 'a'.repeat(65)],
  ];
  for (const [what, nonce = ''] of badNonces) {
    it(`refuses a nonce that is ${what}`, () => {
      refused(
        dir,
        'ERR_PKI_INVALID_NONCE',
        'cert',
        'verification',
        '--ca',
        'root_cert.pem',
        '--key',
        'root_key.pem',
        '--nonce',
        nonce,
      );
    });
  }

  it('accepts a 64-character nonce', () => {
    const other = dirs.make();
    ok(
      dir,
      'cert',
      'verification',
      '--ca',
      'root_cert.pem',
      '--key',
      'root_key.pem',
      '--nonce',
      'A1'.repeat(32),
      '--out',
      other,
    );
  });

  it('refuses a verification without --ca, --key or --nonce', () => {
    const message = refused(dir, 'ERR_CLI_MISSING_OPTION', 'cert', 'verification', '--ca', 'root_cert.pem');
    assert.match(message, /--key, --nonce/);
    refused(dir, 'ERR_CLI_MISSING_OPTION', 'cert', 'verify', 'leaf_cert.pem');
  });

  it('refuses to overwrite existing files without --force', () => {
    const before = readFileSync(join(dir, 'root_cert.pem'), 'utf8');
    refused(dir, 'ERR_CLI_FILE_EXISTS', 'cert', 'root');
    refused(dir, 'ERR_CLI_FILE_EXISTS', 'cert', 'device', 'leaf', 'root');
    assert.equal(readFileSync(join(dir, 'root_cert.pem'), 'utf8'), before);
    const other = dirs.make();
    writeFileSync(join(other, 'x_key.pem'), 'precious');
    refused(other, 'ERR_CLI_FILE_EXISTS', 'cert', 'device', 'x');
    assert.equal(readFileSync(join(other, 'x_key.pem'), 'utf8'), 'precious');
    copyFileSync(join(dir, 'root_cert.pem'), join(other, 'verification_cert.pem'));
    refused(
      other,
      'ERR_CLI_FILE_EXISTS',
      'cert',
      'verification',
      '--ca',
      join(dir, 'root_cert.pem'),
      '--key',
      join(dir, 'root_key.pem'),
      '--nonce',
      'abc',
    );
  });

  it('refuses an output folder it cannot use', () => {
    // Tests may run as root, which can write anywhere: a path under a regular file fails for everyone.
    refused(dir, 'ERR_CLI_OUTPUT_DIR', 'cert', 'root', 'r2', '--out', 'notes.txt/sub');
    refused(dir, 'ERR_CLI_OUTPUT_DIR', 'cert', 'root', 'r2', '--out', 'notes.txt');
    refused(dir, 'ERR_CLI_OUTPUT_DIR', 'cert', 'root', 'r2', '--out', 'no-such-folder');
    refused(dir, 'ERR_CLI_OUTPUT_DIR', 'cert', 'device', 'd2', 'root', '--out', 'notes.txt/sub');
    refused(
      dir,
      'ERR_CLI_OUTPUT_DIR',
      'cert',
      'verification',
      '--ca',
      'root_cert.pem',
      '--key',
      'root_key.pem',
      '--nonce',
      'abc',
      '--out',
      'notes.txt/sub',
    );
  });

  const badOptions = [
    ['--key-type', 'dsa'],
    ['--curve', 'P-521'],
    ['--bits', '1024'],
    ['--days', '0'],
    ['--days', '-3'],
    ['--days', '1.5'],
    ['--days', 'ten'],
  ];
  for (const [option = '', value = ''] of badOptions) {
    it(`refuses ${option} ${value}`, () => {
      refused(dir, 'ERR_CLI_INVALID_OPTION', 'cert', 'root', 'r3', `${option}=${value}`);
    });
  }

  it('refuses contradictory key options', () => {
    refused(dir, 'ERR_CLI_INVALID_OPTION', 'cert', 'root', 'r3', '--key-type', 'ec', '--bits', '2048');
    refused(dir, 'ERR_CLI_INVALID_OPTION', 'cert', 'root', 'r3', '--key-type', 'rsa', '--curve', 'P-256');
  });
});
