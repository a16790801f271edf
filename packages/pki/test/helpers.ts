import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { Certificate, type Issued, type PrivateKey } from '../src/index.js';
import { signatureAlgorithmFor, toSigningCryptoKey } from '../src/keys.js';
import { x509 } from '../src/webcrypto.js';

export const HAS_OPENSSL = spawnSync('openssl', ['version']).status === 0;

/** Skips the test when openssl is missing; returns true when it did. */
export function skipWithoutOpenssl(t: TestContext): boolean {
  if (HAS_OPENSSL) return false;
  t.skip('openssl is not on PATH');
  return true;
}

/** Runs openssl and returns stdout; throws with stderr when it fails. */
export function openssl(args: string[], input?: string): string {
  const result = spawnSync('openssl', args, { input, encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** A temporary directory removed after the test. */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pki-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function writeTemp(dir: string, name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** packages/pki/test/fixtures/create-test-cert, from the compiled dist/test/ folder. */
export const FIXTURES = fileURLToPath(new URL('../../test/fixtures/create-test-cert/', import.meta.url));

export function fixture(name: string): Buffer {
  return readFileSync(join(FIXTURES, name));
}

/** Inside the fixtures' validity (they start 2026-11-29, see NOTES.md). */
export const FIXTURE_TIME = new Date('2027-06-01T00:00:00Z');

export const DAY = 24 * 60 * 60 * 1000;

/**
 * Signs an arbitrary certificate, bypassing the package's generators, to build shapes they
 * refuse to make (leaves as issuers, odd extensions).
 */
export async function forge(o: {
  commonName: string;
  key: PrivateKey;
  issuer?: Issued;
  extensions?: x509.Extension[];
  notBefore?: Date;
  notAfter?: Date;
}): Promise<Certificate> {
  const signer = o.issuer?.privateKey ?? o.key;
  const subject = new x509.Name([{ CN: [o.commonName] }]);
  const issuerName = o.issuer ? new x509.X509Certificate(o.issuer.certificate.der).subjectName : subject;
  const generated = await x509.X509CertificateGenerator.create({
    subject,
    issuer: issuerName,
    notBefore: o.notBefore ?? new Date(Date.now() - 60_000),
    notAfter: o.notAfter ?? new Date(Date.now() + 365 * DAY),
    publicKey: new Uint8Array(o.key.publicKey.export({ type: 'spki', format: 'der' })),
    signingKey: await toSigningCryptoKey(signer.keyObject),
    signingAlgorithm: signatureAlgorithmFor(signer.keyObject),
    extensions: o.extensions ?? [],
  });
  return new Certificate(new Uint8Array(generated.rawData));
}

export { x509 };
