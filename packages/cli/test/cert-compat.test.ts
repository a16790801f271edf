import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCertificates } from '@gatehouse/pki';
import { ok, tempDirs } from './helpers/cli.js';
import { NO_OPENSSL, createTestCertStyle, openssl } from './helpers/openssl.js';

// Files made the way create_test_cert.js makes them (PROTOCOL.md §8) must work as parents and as
// input to show/verify/verification: PKCS#1 RSA keys, `null` lines in fullchains, no keyUsage.
describe('cert: reads create_test_cert.js and openssl files', { skip: NO_OPENSSL }, () => {
  const dirs = tempDirs();
  let dir: string;
  before(() => {
    dir = dirs.make();
    createTestCertStyle(dir, 'ctcroot', 'root');
    createTestCertStyle(dir, 'ctcinter', 'intermediate', 'ctcroot');
    createTestCertStyle(dir, 'ctcdev', 'device', 'ctcinter');
  });
  after(dirs.cleanup);

  const read = (file: string): string => readFileSync(join(dir, file), 'utf8');

  it('the fixtures look like create_test_cert.js output', () => {
    assert.match(read('ctcroot_key.pem'), /^-----BEGIN RSA PRIVATE KEY-----/);
    assert.match(read('ctcinter_fullchain.pem'), /\nnull$/);
  });

  it('uses a create_test_cert root as parent (fullchain with a trailing null line)', () => {
    ok(dir, 'cert', 'intermediate', 'inter', 'ctcroot');
    assert.equal(read('inter_fullchain.pem'), read('inter_cert.pem') + read('ctcroot_cert.pem'));
    assert.doesNotMatch(read('inter_fullchain.pem'), /null/);
  });

  it('uses a create_test_cert intermediate as parent and openssl accepts the result', () => {
    ok(dir, 'cert', 'device', 'dev', 'ctcinter', '--key-type', 'rsa');
    const chain = readCertificates(read('dev_fullchain.pem')).map((c) => c.subject);
    assert.deepEqual(chain, ['CN=dev', 'CN=ctcinter', 'CN=ctcroot']);
    assert.doesNotMatch(read('dev_fullchain.pem'), /null/);
    const r = openssl(
      dir,
      'verify',
      '-CAfile',
      'ctcroot_cert.pem',
      '-untrusted',
      'ctcinter_cert.pem',
      'dev_cert.pem',
    );
    assert.equal(r.status, 0, r.output);
  });

  it('uses a parent without a fullchain: the parent certificate alone is its chain', () => {
    const other = dirs.make();
    createTestCertStyle(other, 'lone', 'root');
    rmSync(join(other, 'lone_fullchain.pem'));
    ok(other, 'cert', 'device', 'ld', 'lone');
    const file = (f: string): string => readFileSync(join(other, f), 'utf8');
    assert.equal(file('ld_fullchain.pem'), file('ld_cert.pem') + file('lone_cert.pem'));
  });

  it('makes a verification certificate from a create_test_cert root', () => {
    const out = ok(
      dir,
      'cert',
      'verification',
      '--ca',
      'ctcroot_cert.pem',
      '--key',
      'ctcroot_key.pem',
      '--nonce',
      'Nonce42',
    );
    assert.match(out, /verification_cert\.pem/);
    const [cert] = readCertificates(read('verification_cert.pem'));
    assert.equal(cert?.subjectCN, 'Nonce42');
    assert.equal(cert?.issuer, 'CN=ctcroot');
    const r = openssl(dir, 'verify', '-CAfile', 'ctcroot_cert.pem', 'verification_cert.pem');
    assert.equal(r.status, 0, r.output);
  });

  it('shows and verifies create_test_cert files', () => {
    const shown = JSON.parse(ok(dir, 'cert', 'show', 'ctcinter_fullchain.pem', '--json')) as {
      certificates: { subject: string; isCA: boolean }[];
    };
    assert.deepEqual(
      shown.certificates.map((c) => c.subject),
      ['CN=ctcinter', 'CN=ctcroot'],
    );
    assert.match(
      ok(
        dir,
        'cert',
        'verify',
        'ctcdev_cert.pem',
        '--ca',
        'ctcroot_cert.pem',
        '--chain',
        'ctcinter_fullchain.pem',
      ),
      /^OK/,
    );
    assert.match(ok(dir, 'cert', 'verify', 'ctcdev_fullchain.pem', '--ca', 'ctcroot_cert.pem'), /^OK/);
  });

  it('shows a DER certificate', () => {
    const r = openssl(dir, 'x509', '-in', 'ctcroot_cert.pem', '-outform', 'DER', '-out', 'ctcroot_cert.der');
    assert.equal(r.status, 0, r.output);
    assert.match(ok(dir, 'cert', 'show', 'ctcroot_cert.der'), /Subject\s+CN=ctcroot[\s\S]*CA\s+yes/);
  });

  it('uses openssl EC (SEC1) and PKCS#8 keys as parents', () => {
    const other = dirs.make();
    const r1 = openssl(
      other,
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ecroot_key.pem',
      '-out',
      'ecroot_cert.pem',
      '-subj',
      '/CN=ecroot',
      '-days',
      '2',
      '-addext',
      'basicConstraints=critical,CA:true',
    );
    assert.equal(r1.status, 0, r1.output);
    ok(other, 'cert', 'device', 'ecdev', 'ecroot');
    const sec1 = openssl(other, 'ecparam', '-name', 'prime256v1', '-genkey', '-out', 'secroot_key.pem');
    assert.equal(sec1.status, 0, sec1.output);
    assert.match(readFileSync(join(other, 'secroot_key.pem'), 'utf8'), /EC PARAMETERS[\s\S]*EC PRIVATE KEY/);
    const r2 = openssl(
      other,
      'req',
      '-x509',
      '-new',
      '-key',
      'secroot_key.pem',
      '-out',
      'secroot_cert.pem',
      '-subj',
      '/CN=secroot',
      '-days',
      '2',
      '-addext',
      'basicConstraints=critical,CA:true',
    );
    assert.equal(r2.status, 0, r2.output);
    ok(other, 'cert', 'intermediate', 'secinter', 'secroot');
    const r3 = openssl(other, 'verify', '-CAfile', 'secroot_cert.pem', 'secinter_cert.pem');
    assert.equal(r3.status, 0, r3.output);
  });
});
