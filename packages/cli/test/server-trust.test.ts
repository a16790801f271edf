import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createRootCa } from '@gatehouse/pki';
import { CliError } from '../src/output.js';
import { serverTrust, type ServerTrustInput } from '../src/server-trust.js';

/** Which CA a connecting command trusts, in the documented order (server-trust.ts). */
describe('serverTrust: where the server CA comes from', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-trust-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const pem = async (name: string): Promise<string> => {
    const path = join(dir, `${name}.pem`);
    writeFileSync(path, (await createRootCa({ commonName: name })).certificate.pem);
    return path;
  };
  const flag = await pem('flag');
  const env = await pem('env');
  const extra = await pem('extra');
  mkdirSync(join(dir, 'data'));
  writeFileSync(
    join(dir, 'data', 'server-ca.pem'),
    (await createRootCa({ commonName: 'data' })).certificate.pem,
  );
  // A folder with ./gatehouse-data/server-ca.pem, and one without.
  const withLocal = join(dir, 'with-local');
  mkdirSync(join(withLocal, 'gatehouse-data'), { recursive: true });
  writeFileSync(
    join(withLocal, 'gatehouse-data', 'server-ca.pem'),
    (await createRootCa({ commonName: 'local' })).certificate.pem,
  );
  const bare = join(dir, 'bare');
  mkdirSync(bare);
  writeFileSync(join(dir, 'not-a-cert.pem'), 'hello\n');

  const cases: Array<[string, ServerTrustInput, RegExp, 'pem' | 'node']> = [
    [
      '--ca wins over everything',
      {
        ca: flag,
        data: join(dir, 'data'),
        env: { GATEHOUSE_CA: env, NODE_EXTRA_CA_CERTS: extra },
        cwd: withLocal,
      },
      /^--ca .*flag\.pem$/,
      'pem',
    ],
    [
      'GATEHOUSE_CA comes next',
      { data: join(dir, 'data'), env: { GATEHOUSE_CA: env, NODE_EXTRA_CA_CERTS: extra }, cwd: withLocal },
      /^GATEHOUSE_CA \(.*env\.pem\)$/,
      'pem',
    ],
    [
      'then a --data folder the user gave',
      { data: join(dir, 'data'), env: { NODE_EXTRA_CA_CERTS: extra }, cwd: withLocal },
      /data\/server-ca\.pem$/,
      'pem',
    ],
    [
      'then NODE_EXTRA_CA_CERTS, through Node’s own store',
      { env: { NODE_EXTRA_CA_CERTS: extra }, cwd: bare },
      /^Node's CA store with NODE_EXTRA_CA_CERTS \(.*extra\.pem\)$/,
      'node',
    ],
    [
      'and ./gatehouse-data/server-ca.pem beside Node’s store with NODE_EXTRA_CA_CERTS',
      { env: { NODE_EXTRA_CA_CERTS: extra }, cwd: withLocal },
      /with-local\/gatehouse-data\/server-ca\.pem and Node's CA store with NODE_EXTRA_CA_CERTS/,
      'pem',
    ],
    [
      'and ./gatehouse-data/server-ca.pem beside Node’s store',
      { env: {}, cwd: withLocal },
      /with-local\/gatehouse-data\/server-ca\.pem and Node's CA store$/,
      'pem',
    ],
    ['else Node’s store alone', { env: {}, cwd: bare }, /^Node's CA store \(no --ca/, 'node'],
    [
      'empty values count as unset',
      { ca: ' ', data: '', env: { GATEHOUSE_CA: '', NODE_EXTRA_CA_CERTS: '' }, cwd: bare },
      /^Node's CA store/,
      'node',
    ],
  ];
  for (const [what, input, source, kind] of cases) {
    it(what, () => {
      const trust = serverTrust(input);
      assert.match(trust.source, source);
      if (kind === 'pem') assert.match(trust.ca?.toString('utf8') ?? '', /-----BEGIN CERTIFICATE-----/);
      else assert.equal(trust.ca, undefined);
    });
  }

  it('puts the local CA beside Node’s roots and NODE_EXTRA_CA_CERTS, since `ca` replaces the store', () => {
    const trust = serverTrust({ env: { NODE_EXTRA_CA_CERTS: extra }, cwd: withLocal });
    const pems = trust.ca?.toString('utf8').match(/-----BEGIN CERTIFICATE-----/g) ?? [];
    assert.equal(pems.length, rootCertificates.length + 2);
    const text = trust.ca?.toString('utf8') ?? '';
    for (const file of [extra, join(withLocal, 'gatehouse-data', 'server-ca.pem')]) {
      assert.ok(text.includes(readFileSync(file, 'utf8').trim()), file);
    }
  });

  const refusals: Array<[string, ServerTrustInput, RegExp]> = [
    ['a --ca file that is missing', { ca: join(dir, 'nope.pem'), env: {}, cwd: bare }, /--ca.*ENOENT/],
    [
      'a --ca file that holds no certificate',
      { ca: join(dir, 'not-a-cert.pem'), env: {}, cwd: bare },
      /holds no PEM certificate/,
    ],
    [
      'a GATEHOUSE_CA file that is missing',
      { env: { GATEHOUSE_CA: join(dir, 'nope.pem') }, cwd: bare },
      /GATEHOUSE_CA/,
    ],
    ['a --data folder without server-ca.pem', { data: bare, env: {}, cwd: bare }, /--data/],
    [
      'a NODE_EXTRA_CA_CERTS file that is missing',
      { env: { NODE_EXTRA_CA_CERTS: join(dir, 'nope.pem') }, cwd: bare },
      /NODE_EXTRA_CA_CERTS/,
    ],
  ];
  for (const [what, input, message] of refusals) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => serverTrust(input),
        (err: unknown) =>
          err instanceof CliError && err.code === 'ERR_CLI_READ_FILE' && message.test(err.message),
      );
    });
  }
});
