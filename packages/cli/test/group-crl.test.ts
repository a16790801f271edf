/**
 * `gatehouse group crl <id> <file>` as a user runs it: the built binary against a real
 * `gatehouse serve` process, with certificates made by `gatehouse cert` and CRLs made by
 * `openssl ca -revoke` / `-gencrl`. A CRL of the group's root is imported (PEM and DER) and its
 * serial listed; a CRL of another CA is refused with its code first and a non-zero exit.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { readCertificate } from '@gatehouse/pki';

import { MAIN } from './helpers/cli.js';
import { startServeProcess, type ServeProcess } from './helpers/serve-process.js';

const TOKEN = 'crl-test-token-0123456789abcdef';
const exec = promisify(execFile);

interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

function gatehouse(cwd: string, env: NodeJS.ProcessEnv, args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { cwd, env: { ...process.env, GATEHOUSE_TOKEN: TOKEN, ...env }, encoding: 'utf8', timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** `openssl ca` over a CA made by `gatehouse cert root <name>` in `dir`. */
async function opensslCrl(dir: string, name: string, revoke: string[], der = false): Promise<string> {
  const home = join(dir, `${name}-ca`);
  if (!existsSync(home)) {
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'index.txt'), '');
    writeFileSync(join(home, 'crlnumber'), '01\n');
  }
  const config = join(home, 'ca.cnf');
  writeFileSync(
    config,
    `[ ca ]\ndefault_ca = d\n[ d ]\ndatabase = ${home}/index.txt\ncrlnumber = ${home}/crlnumber\ndefault_md = sha256\ndefault_crl_days = 1\n`,
  );
  const base = [
    '-config',
    config,
    '-cert',
    join(dir, `${name}_cert.pem`),
    '-keyfile',
    join(dir, `${name}_key.pem`),
  ];
  for (const file of revoke) await exec('openssl', ['ca', ...base, '-revoke', join(dir, file)]);
  const pem = join(home, 'crl.pem');
  await exec('openssl', ['ca', ...base, '-gencrl', '-out', pem]);
  if (!der) return pem;
  const out = join(home, 'crl.der');
  await exec('openssl', ['crl', '-in', pem, '-outform', 'DER', '-out', out]);
  return out;
}

describe('gatehouse group crl', () => {
  let serve: ServeProcess;
  let home: string;
  let certs: string;
  const admin = (...args: string[]) => gatehouse(home, { GATEHOUSE_URL: serve.url }, args);

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'gatehouse-crl-'));
    const dataDir = join(home, 'gatehouse-data');
    mkdirSync(dataDir);
    serve = await startServeProcess({ dataDir, token: TOKEN });
    certs = join(home, 'certs');
    mkdirSync(certs);
    for (const args of [['root'], ['root', 'other'], ['device', 'dev1', 'root']]) {
      const r = await gatehouse(certs, {}, ['cert', ...args]);
      assert.equal(r.status, 0, r.stderr);
    }
    const created = await admin(
      'group',
      'create',
      'CrlGroup',
      '--x509',
      join(certs, 'root_cert.pem'),
      '--verify-with',
      join(certs, 'root_key.pem'),
    );
    assert.equal(created.status, 0, created.stderr);
  });

  after(async () => {
    await serve?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('imports a PEM CRL of the group root and lists the revoked serial; group show counts it', async () => {
    const serial = readCertificate(readFileSync(join(certs, 'dev1_cert.pem'))).serialNumber.replace(
      /^0+/,
      '',
    );
    const crl = await opensslCrl(certs, 'root', ['dev1_cert.pem']);
    const r = await admin('group', 'crl', 'CrlGroup', crl);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /1 revoked certificate\(s\)/);
    assert.match(r.stdout, new RegExp(`^${serial}\\s`, 'm'));
    const show = await admin('group', 'show', 'CrlGroup');
    assert.match(show.stdout, /Revoked\s+1 certificate\(s\)/);
  });

  it('imports the DER form of a newer CRL with --json', async () => {
    const crl = await opensslCrl(certs, 'root', [], true);
    const r = await admin('group', 'crl', 'CrlGroup', crl, '--json');
    assert.equal(r.status, 0, r.stderr);
    const body = JSON.parse(r.stdout) as { revokedCertificates: unknown[]; crls: unknown[] };
    assert.equal(body.revokedCertificates.length, 1);
    assert.equal(body.crls.length, 1);
  });

  it('refuses a CRL of another CA: the code first, exit non-zero', async () => {
    const crl = await opensslCrl(certs, 'other', []);
    const r = await admin('group', 'crl', 'CrlGroup', crl);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /^ERR_CRL_WRONG_ISSUER: /);
  });

  it('refuses a file that is not a CRL, and a missing file', async () => {
    const notCrl = await admin('group', 'crl', 'CrlGroup', join(certs, 'root_cert.pem'));
    assert.notEqual(notCrl.status, 0);
    assert.match(notCrl.stderr, /^ERR_CRL_MALFORMED: /);
    const missing = await admin('group', 'crl', 'CrlGroup', join(certs, 'nope.crl'));
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /^ERR_CLI_READ_FILE: /);
  });
});
