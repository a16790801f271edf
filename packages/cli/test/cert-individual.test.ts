import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCertificate, readCertificates } from '@gatehouse/pki';
import { gatehouse, listing, ok, tempDirs } from './helpers/cli.js';
import { NO_OPENSSL, createTestCertStyle } from './helpers/openssl.js';

const dirs = tempDirs();
after(dirs.cleanup);

/**
 * Azure's individual-enrollment how-to runs `create_test_cert.js device mytestprimarycert` and
 * then `create_test_cert.js device mytestsecondarycert mytestprimarycert`: the secondary is
 * issued by the self-signed primary, which is not a CA. The same two commands work here; every
 * other non-CA parent is still refused.
 */
describe('cert device: the how-to’s individual enrollment, verbatim', () => {
  let dir: string;
  let primaryOut = '';
  let secondaryOut = '';
  before(() => {
    dir = dirs.make();
    primaryOut = ok(dir, 'cert', 'device', 'mytestprimarycert');
    secondaryOut = ok(dir, 'cert', 'device', 'mytestsecondarycert', 'mytestprimarycert');
  });
  const read = (file: string): string => readFileSync(join(dir, file), 'utf8');

  it('issues the secondary from the self-signed primary', () => {
    const primary = readCertificate(read('mytestprimarycert_cert.pem'));
    const secondary = readCertificate(read('mytestsecondarycert_cert.pem'));
    assert.equal(primary.isCA, false);
    assert.equal(primary.isSelfIssued, true);
    assert.equal(secondary.subject, 'CN=mytestsecondarycert');
    assert.equal(secondary.issuer, 'CN=mytestprimarycert');
    assert.equal(secondary.isCA, false);
    assert.ok(secondary.isSignedBy(primary));
    assert.deepEqual(
      readCertificates(read('mytestsecondarycert_fullchain.pem')).map((c) => c.subject),
      ['CN=mytestsecondarycert', 'CN=mytestprimarycert'],
    );
  });

  it('says so in one line, and what to do with the secondary', () => {
    const notes = secondaryOut.split('\n').filter((l) => l.startsWith('Note: '));
    assert.equal(notes.length, 1, secondaryOut);
    assert.match(notes[0] ?? '', /"mytestprimarycert" is a self-signed device certificate, not a CA/);
    assert.match(secondaryOut, /Next: upload mytestsecondarycert_cert\.pem as the secondary certificate/);
    assert.doesNotMatch(primaryOut, /Note:/);
  });

  it('--json carries the note', () => {
    const json = JSON.parse(ok(dir, 'cert', 'device', 'third', 'mytestprimarycert', '--json')) as {
      note?: string;
      issuer?: string;
    };
    assert.equal(json.issuer, 'CN=mytestprimarycert');
    assert.match(json.note ?? '', /not a CA/);
  });

  it('uses a create_test_cert.js self-signed device as the parent', { skip: NO_OPENSSL }, () => {
    const other = dirs.make();
    createTestCertStyle(other, 'ctcprimary', 'device');
    ok(other, 'cert', 'device', 'ctcsecondary', 'ctcprimary');
    const secondary = readCertificate(readFileSync(join(other, 'ctcsecondary_cert.pem'), 'utf8'));
    const primary = readCertificate(readFileSync(join(other, 'ctcprimary_cert.pem'), 'utf8'));
    assert.ok(secondary.isSignedBy(primary));
  });
});

/** Every other non-CA parent is refused as before: nothing written, the code first. */
describe('cert: a non-CA parent that is not self-signed is refused', () => {
  let dir: string;
  before(() => {
    dir = dirs.make();
    ok(dir, 'cert', 'root');
    ok(dir, 'cert', 'device', 'leaf', 'root');
    ok(dir, 'cert', 'device', 'solo');
  });

  const refusals: Array<[string, string[]]> = [
    ['a device certificate issued by a CA, as the parent of a device', ['cert', 'device', 'd1', 'leaf']],
    [
      'a device certificate issued by a CA, as the parent of an intermediate',
      ['cert', 'intermediate', 'i1', 'leaf'],
    ],
    [
      'a self-signed device certificate, as the parent of an intermediate',
      ['cert', 'intermediate', 'i2', 'solo'],
    ],
    [
      'a self-signed device certificate, for a verification certificate',
      ['cert', 'verification', '--ca', 'solo_cert.pem', '--key', 'solo_key.pem', '--nonce', 'ABC123'],
    ],
  ];
  for (const [what, args] of refusals) {
    it(`refuses ${what}`, () => {
      const before = listing(dir);
      const r = gatehouse(dir, ...args);
      assert.notEqual(r.status, 0);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^ERR_PKI_NOT_A_CA: [^\n]+\n$/);
      assert.deepEqual(listing(dir), before, 'no file written');
    });
  }

  it('refuses a self-signed parent whose key does not match', () => {
    const other = dirs.make();
    ok(other, 'cert', 'device', 'p1');
    ok(other, 'cert', 'device', 'p2');
    // p1's certificate with p2's key.
    copyFileSync(join(other, 'p1_cert.pem'), join(other, 'px_cert.pem'));
    copyFileSync(join(other, 'p2_key.pem'), join(other, 'px_key.pem'));
    const before = listing(other);
    const bad = gatehouse(other, 'cert', 'device', 'd2', 'px');
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /^ERR_PKI_KEY_MISMATCH: [^\n]+\n$/);
    assert.deepEqual(listing(other), before, 'no file written');
  });
});
