/**
 * CRLs made by OpenSSL itself (`openssl ca -revoke`, `openssl ca -gencrl`), for CAs made with
 * @gatehouse/pki: the revocation tests check Gatehouse against the tool operators use.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { Certificate, Issued } from '@gatehouse/pki';

import { tempDir } from './pki-files.js';

const run = promisify(execFile);

export interface OpensslCa {
  /** Adds the certificate to the CA's database as revoked (`openssl ca -revoke`). */
  revoke(certificate: Certificate): Promise<void>;
  /**
   * A CRL of everything revoked so far; `lastUpdate`/`nextUpdate` override the dates
   * (`-crl_lastupdate`/`-crl_nextupdate`, OpenSSL ≥ 3.0).
   */
  crl(options?: { lastUpdate?: Date; nextUpdate?: Date; der?: boolean }): Promise<Buffer>;
}

/** `YYYYMMDDHHMMSSZ`, the GeneralizedTime form OpenSSL's date options take. */
function asn1Time(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

export async function opensslCa(ca: Issued): Promise<OpensslCa> {
  const dir = await tempDir('gatehouse-openssl-ca-');
  const cert = join(dir, 'ca.pem');
  const key = join(dir, 'ca.key');
  const config = join(dir, 'ca.cnf');
  await writeFile(cert, ca.certificate.pem);
  await writeFile(key, ca.privateKey.toPem(), { mode: 0o600 });
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'crlnumber'), '01\n');
  await writeFile(
    config,
    [
      '[ ca ]',
      'default_ca = CA_default',
      '[ CA_default ]',
      `dir = ${dir}`,
      'database = $dir/index.txt',
      'crlnumber = $dir/crlnumber',
      'default_md = sha256',
      'default_crl_days = 1',
      '',
    ].join('\n'),
  );
  const base = ['-config', config, '-cert', cert, '-keyfile', key];
  let n = 0;
  return {
    async revoke(certificate) {
      const file = join(dir, `revoked-${++n}.pem`);
      await writeFile(file, certificate.pem);
      await run('openssl', ['ca', ...base, '-revoke', file]);
    },
    async crl(options = {}) {
      const out = join(dir, `crl-${++n}.pem`);
      await run('openssl', [
        'ca',
        ...base,
        '-gencrl',
        '-out',
        out,
        ...(options.lastUpdate ? ['-crl_lastupdate', asn1Time(options.lastUpdate)] : []),
        ...(options.nextUpdate ? ['-crl_nextupdate', asn1Time(options.nextUpdate)] : []),
      ]);
      if (!options.der) return readFile(out);
      const der = join(dir, `crl-${n}.der`);
      await run('openssl', ['crl', '-in', out, '-outform', 'DER', '-out', der]);
      return readFile(der);
    },
  };
}
