import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Certificate, Issued } from '@gatehouse/pki';

/** A throwaway folder for one test run's certificates (STYLE.md §10). */
export async function tempDir(prefix = 'gatehouse-pki-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Write `<name>_cert.pem`, `<name>_key.pem` and `<name>_fullchain.pem` like `gatehouse cert` does. */
export async function writeIssued(
  dir: string,
  name: string,
  issued: Issued,
): Promise<{ cert: string; key: string; fullchain: string }> {
  const cert = join(dir, `${name}_cert.pem`);
  const key = join(dir, `${name}_key.pem`);
  const fullchain = join(dir, `${name}_fullchain.pem`);
  await writeFile(cert, issued.certificate.pem);
  await writeFile(key, issued.privateKey.toPem(), { mode: 0o600 });
  await writeFile(fullchain, issued.chain.map((c: Certificate) => c.pem).join(''));
  return { cert, key, fullchain };
}

/** The Azure CLI's upload form: base64 of the whole PEM text (CENTRAL_API.md §2.1). */
export function base64Pem(c: Certificate): string {
  return Buffer.from(c.pem).toString('base64');
}
