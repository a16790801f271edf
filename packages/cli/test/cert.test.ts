import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkProofOfPossession, readCertificate, readCertificates } from '@gatehouse/pki';
import { gatehouse, ok, tempDirs } from './helpers/cli.js';
import { NO_OPENSSL, openssl } from './helpers/openssl.js';

const dirs = tempDirs();
after(dirs.cleanup);

const PEM_LINE = /^(-----(BEGIN|END) CERTIFICATE-----|[A-Za-z0-9+/]{1,64}={0,2})$/;

function read(dir: string, file: string): string {
  return readFileSync(join(dir, file), 'utf8');
}

describe('cert: the create_test_cert.js journey', () => {
  let dir: string;
  const outputs: Record<string, string> = {};
  before(() => {
    dir = dirs.make();
  });

  it('creates a root, an intermediate, a device under it, a self-signed device and a verification certificate', () => {
    outputs.root = ok(dir, 'cert', 'root');
    outputs.inter = ok(dir, 'cert', 'intermediate', 'inter', 'root');
    outputs.dev = ok(dir, 'cert', 'device', 'dev', 'inter');
    outputs.solo = ok(dir, 'cert', 'device', 'solo');
    outputs.verification = ok(
      dir,
      'cert',
      'verification',
      '--ca',
      'root_cert.pem',
      '--key',
      'root_key.pem',
      '--nonce',
      'AAEC1DA657F1B63F',
    );
    for (const name of ['root', 'inter', 'dev', 'solo']) {
      for (const suffix of ['cert', 'key', 'fullchain'])
        assert.ok(statSync(join(dir, `${name}_${suffix}.pem`)).isFile());
    }
    assert.ok(statSync(join(dir, 'verification_cert.pem')).isFile());
    assert.ok(statSync(join(dir, 'verification_key.pem')).isFile());
  });

  it('says which files were written and what to do next', () => {
    assert.match(outputs.root ?? '', /root_cert\.pem/);
    assert.match(outputs.root ?? '', /root_key\.pem/);
    assert.match(
      outputs.root ?? '',
      /Next: upload root_cert\.pem as the primary certificate of an enrollment group/,
    );
    assert.match(outputs.inter ?? '', /Next: .*gatehouse cert device <name> inter/);
    assert.match(outputs.solo ?? '', /self-signed/);
    assert.match(outputs.verification ?? '', /upload verification_cert\.pem to finish proof of possession/i);
  });

  it('builds a chain openssl accepts', { skip: NO_OPENSSL }, () => {
    const r = openssl(
      dir,
      'verify',
      '-CAfile',
      'root_cert.pem',
      '-untrusted',
      'inter_cert.pem',
      'dev_cert.pem',
    );
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /dev_cert\.pem: OK/);
  });

  it(
    'writes private keys with mode 0600',
    { skip: process.platform === 'win32' ? 'no POSIX modes' : false },
    () => {
      for (const name of ['root', 'inter', 'dev', 'solo', 'verification']) {
        assert.equal(statSync(join(dir, `${name}_key.pem`)).mode & 0o777, 0o600, `${name}_key.pem`);
      }
    },
  );

  it('writes the fullchain as the certificate, then its parents up to the root, and nothing else', () => {
    assert.equal(
      read(dir, 'dev_fullchain.pem'),
      read(dir, 'dev_cert.pem') + read(dir, 'inter_cert.pem') + read(dir, 'root_cert.pem'),
    );
    assert.equal(read(dir, 'inter_fullchain.pem'), read(dir, 'inter_cert.pem') + read(dir, 'root_cert.pem'));
    assert.equal(read(dir, 'root_fullchain.pem'), read(dir, 'root_cert.pem'));
    assert.equal(read(dir, 'solo_fullchain.pem'), read(dir, 'solo_cert.pem'));
    for (const file of ['root', 'inter', 'dev', 'solo'].map((n) => `${n}_fullchain.pem`)) {
      const lines = read(dir, file).split('\n');
      assert.equal(lines.pop(), '', `${file} ends with a newline`);
      for (const line of lines) assert.match(line, PEM_LINE, `${file}: junk line ${JSON.stringify(line)}`);
    }
  });

  it('names the certificates and marks CAs', () => {
    const [dev, inter, root] = readCertificates(read(dir, 'dev_fullchain.pem'));
    assert.equal(dev?.subject, 'CN=dev');
    assert.equal(dev?.issuer, 'CN=inter');
    assert.equal(dev?.isCA, false);
    assert.equal(inter?.isCA, true);
    assert.equal(root?.isCA, true);
    assert.equal(root?.isSelfIssued, true);
    const solo = readCertificate(read(dir, 'solo_cert.pem'));
    assert.equal(solo.isSelfIssued, true);
    assert.equal(solo.isCA, false);
  });

  it('makes a verification certificate that proves possession of the root key', () => {
    const verificationCertificate = readCertificate(read(dir, 'verification_cert.pem'));
    assert.equal(verificationCertificate.subjectCN, 'AAEC1DA657F1B63F');
    checkProofOfPossession({
      verificationCertificate,
      caCertificate: readCertificate(read(dir, 'root_cert.pem')),
      code: 'AAEC1DA657F1B63F',
    });
  });

  it('cert show prints every certificate of a file with both thumbprints', () => {
    const out = ok(dir, 'cert', 'show', 'dev_fullchain.pem');
    const certs = readCertificates(read(dir, 'dev_fullchain.pem'));
    assert.match(out, /Certificate 1 of 3/);
    for (const c of certs) {
      assert.ok(out.includes(c.sha1Thumbprint), `SHA-1 of ${c.subject}`);
      assert.ok(out.includes(c.sha256Thumbprint), `SHA-256 of ${c.subject}`);
    }
    assert.match(out, /Subject\s+CN=dev/);
    assert.match(out, /Issuer\s+CN=inter/);
    assert.match(out, /CA\s+no/);
    assert.match(out, /CA\s+yes/);
    assert.match(out, /\(36[45] days left\)/);
  });

  it('cert show --json parses', () => {
    const shown = JSON.parse(ok(dir, 'cert', 'show', 'inter_fullchain.pem', '--json')) as {
      certificates: {
        subject: string;
        isCA: boolean;
        daysLeft: number;
        sha1Thumbprint: string;
        status: string;
      }[];
    };
    assert.equal(shown.certificates.length, 2);
    assert.deepEqual(
      shown.certificates.map((c) => [c.subject, c.isCA, c.status]),
      [
        ['CN=inter', true, 'valid'],
        ['CN=root', true, 'valid'],
      ],
    );
    assert.equal(
      shown.certificates[0]?.sha1Thumbprint,
      readCertificate(read(dir, 'inter_cert.pem')).sha1Thumbprint,
    );
  });

  it('cert verify prints the path', () => {
    const out = ok(
      dir,
      'cert',
      'verify',
      'dev_cert.pem',
      '--ca',
      'root_cert.pem',
      '--chain',
      'inter_cert.pem',
    );
    assert.match(out, /^OK/);
    assert.match(out, /CN=dev[\s\S]*CN=inter[\s\S]*CN=root/);
    const json = JSON.parse(
      ok(dir, 'cert', 'verify', 'dev_fullchain.pem', '--ca', 'root_cert.pem', '--json'),
    ) as {
      ok: boolean;
      path: { subject: string }[];
    };
    assert.equal(json.ok, true);
    assert.deepEqual(
      json.path.map((c) => c.subject),
      ['CN=dev', 'CN=inter', 'CN=root'],
    );
    // An intermediate is a valid trust anchor too (an enrollment group on the intermediate).
    assert.match(ok(dir, 'cert', 'verify', 'dev_cert.pem', '--ca', 'inter_cert.pem'), /^OK/);
  });

  it('cert verify refuses a chain with its code and a non-zero exit', () => {
    const r = gatehouse(dir, 'cert', 'verify', 'dev_cert.pem', '--ca', 'solo_cert.pem');
    assert.notEqual(r.status, 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^ERR_PKI_NO_PATH: .+\n$/);
    const noChain = gatehouse(dir, 'cert', 'verify', 'dev_cert.pem', '--ca', 'root_cert.pem');
    assert.match(noChain.stderr, /^ERR_PKI_NO_PATH: /);
    const json = gatehouse(dir, 'cert', 'verify', 'dev_cert.pem', '--ca', 'solo_cert.pem', '--json');
    assert.notEqual(json.status, 0);
    const error = (JSON.parse(json.stderr) as { error: { code: string } }).error;
    assert.equal(error.code, 'ERR_PKI_NO_PATH');
  });
});

describe('cert: options', () => {
  it('--json prints the new certificate and absolute file paths', () => {
    const dir = dirs.make();
    const root = JSON.parse(ok(dir, 'cert', 'root', 'ca1', '--json')) as {
      command: string;
      subject: string;
      isCA: boolean;
      sha1Thumbprint: string;
      sha256Thumbprint: string;
      files: { cert: string; key: string; fullchain: string };
      next: string;
    };
    assert.equal(root.command, 'root');
    assert.equal(root.subject, 'CN=ca1');
    assert.equal(root.isCA, true);
    assert.equal(root.files.cert, join(dir, 'ca1_cert.pem'));
    assert.equal(root.files.key, join(dir, 'ca1_key.pem'));
    assert.equal(root.files.fullchain, join(dir, 'ca1_fullchain.pem'));
    assert.equal(root.sha256Thumbprint, readCertificate(read(dir, 'ca1_cert.pem')).sha256Thumbprint);
    assert.match(root.next, /enrollment group/);
    const dev = JSON.parse(ok(dir, 'cert', 'device', 'd1', 'ca1', '--json')) as {
      chain: string[];
      isCA: boolean;
    };
    assert.deepEqual(dev.chain, ['CN=d1', 'CN=ca1']);
    assert.equal(dev.isCA, false);
    const v = JSON.parse(
      ok(
        dir,
        'cert',
        'verification',
        '--ca',
        'ca1_cert.pem',
        '--key',
        'ca1_key.pem',
        '--nonce',
        'abc123',
        '--json',
      ),
    ) as { subject: string; files: Record<string, string> };
    assert.equal(v.subject, 'CN=abc123');
    assert.deepEqual(Object.keys(v.files), ['cert', 'key']);
  });

  it('--key-type rsa --bits 2048 and --curve P-384 choose the key', () => {
    const dir = dirs.make();
    ok(dir, 'cert', 'root', 'rsaroot', '--key-type', 'rsa', '--bits', '2048');
    assert.equal(readCertificate(read(dir, 'rsaroot_cert.pem')).keyType, 'RSA 2048');
    ok(dir, 'cert', 'device', 'ecdev', 'rsaroot', '--curve', 'P-384');
    assert.equal(readCertificate(read(dir, 'ecdev_cert.pem')).keyType, 'EC P-384');
    ok(dir, 'cert', 'device', 'defdev', 'rsaroot');
    assert.equal(readCertificate(read(dir, 'defdev_cert.pem')).keyType, 'EC P-256');
    assert.match(ok(dir, 'cert', 'verify', 'ecdev_cert.pem', '--ca', 'rsaroot_cert.pem'), /^OK/);
  });

  it('--days sets the validity', () => {
    const dir = dirs.make();
    ok(dir, 'cert', 'device', 'short', '--days', '30');
    const days = (readCertificate(read(dir, 'short_cert.pem')).notAfter.getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days <= 30, `${days} days`);
    ok(dir, 'cert', 'root', 'default-root');
    const rootDays =
      (readCertificate(read(dir, 'default-root_cert.pem')).notAfter.getTime() - Date.now()) / 86_400_000;
    assert.ok(rootDays > 3649, `root default ${rootDays} days`);
  });

  it('--out writes into another folder and finds the parent there', () => {
    const cwd = dirs.make();
    const out = dirs.make();
    ok(cwd, 'cert', 'root', 'r1', '--out', out);
    ok(cwd, 'cert', 'device', 'd1', 'r1', '--out', out);
    assert.equal(read(out, 'd1_fullchain.pem'), read(out, 'd1_cert.pem') + read(out, 'r1_cert.pem'));
    assert.equal(
      gatehouse(cwd, 'cert', 'device', 'd2', 'r1').stderr.split(':')[0],
      'ERR_CLI_PARENT_NOT_FOUND',
    );
  });

  it('--force overwrites existing files', () => {
    const dir = dirs.make();
    ok(dir, 'cert', 'root');
    const before = read(dir, 'root_cert.pem');
    ok(dir, 'cert', 'root', '--force');
    assert.notEqual(read(dir, 'root_cert.pem'), before);
    assert.equal(statSync(join(dir, 'root_key.pem')).mode & 0o777, 0o600);
    const key = readFileSync(join(dir, 'root_key.pem'), 'utf8');
    assert.match(key, /^-----BEGIN PRIVATE KEY-----\n/);
  });
});

describe('cert intermediate --path-len', () => {
  const dirs = tempDirs();
  after(() => dirs.cleanup());

  it('sets the path length constraint, and refuses a bad value', () => {
    const dir = dirs.make();
    assert.equal(gatehouse(dir, 'cert', 'root', 'r').status, 0);
    const made = gatehouse(dir, 'cert', 'intermediate', 'i', 'r', '--path-len', '0');
    assert.equal(made.status, 0, made.stderr);
    assert.equal(readCertificate(readFileSync(join(dir, 'i_cert.pem'))).pathLen, 0);
    const bad = gatehouse(dir, 'cert', 'intermediate', 'j', 'r', '--path-len', '-1');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^ERR_CLI_INVALID_OPTION: /);
  });
});
