import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Why openssl tests are skipped, or false when the binary is there. */
export const NO_OPENSSL: string | false = (() => {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return r.status === 0 ? false : 'openssl is not on PATH';
})();

export function openssl(cwd: string, ...args: string[]): { status: number | null; output: string } {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function must(cwd: string, ...args: string[]): void {
  const r = openssl(cwd, ...args);
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.output}`);
}

/**
 * Files as create_test_cert.js writes them (PROTOCOL.md §8): RSA 2048 PKCS#1 keys from
 * `openssl genrsa -traditional`, a CSR with only CN, extensions from a `[v3_req]` section, and a
 * fullchain of the certificate, a newline and the parent's fullchain — `null` for none.
 */
export function createTestCertStyle(
  dir: string,
  name: string,
  kind: 'root' | 'intermediate' | 'device',
  parent?: string,
): void {
  const ext = join(dir, `${name}.cnf`);
  writeFileSync(
    ext,
    kind === 'device'
      ? '[v3_req]\nextendedKeyUsage = critical, clientAuth\n'
      : '[v3_req]\nbasicConstraints = critical, CA:true\n',
  );
  must(dir, 'genrsa', '-traditional', '-out', `${name}_key.pem`, '2048');
  must(dir, 'req', '-new', '-key', `${name}_key.pem`, '-subj', `/CN=${name}`, '-out', `${name}.csr`);
  const signing = parent
    ? [
        '-CA',
        `${parent}_cert.pem`,
        '-CAkey',
        `${parent}_key.pem`,
        '-set_serial',
        String(Math.floor(Math.random() * 1e9)),
      ]
    : ['-signkey', `${name}_key.pem`];
  must(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    ...signing,
    '-days',
    '1',
    '-sha256',
    '-extfile',
    ext,
    '-extensions',
    'v3_req',
    '-out',
    `${name}_cert.pem`,
  );
  const cert = readFileSync(join(dir, `${name}_cert.pem`), 'utf8');
  const parentChain = parent ? readFileSync(join(dir, `${parent}_fullchain.pem`), 'utf8') : 'null';
  writeFileSync(join(dir, `${name}_fullchain.pem`), `${cert}\n${parentChain}`);
}
