import { join } from 'node:path';
import type { Certificate, Issuer } from '@gatehouse/pki';
import { fileExists } from '../../files.js';
import { CliError } from '../../output.js';
import { certFiles } from './names.js';
import { readCertificateFile, readKeyFile } from './read.js';

/** A parent CA found beside the new files: what signs, and the chain to append. */
export interface Parent {
  issuer: Issuer;
  /** The parent's certificate, then its own parents up to the root. */
  chain: Certificate[];
}

/**
 * Loads `<parent>_cert.pem`, `<parent>_key.pem` and, when present, `<parent>_fullchain.pem` from
 * `dir` (create_test_cert.js's lookup, PROTOCOL.md §8). Whether the key matches and the
 * certificate is a valid CA is checked by the pki generators before anything is signed.
 */
export function loadParent(dir: string, parent: string): Parent {
  const files = certFiles(parent);
  const certPath = join(dir, files.cert);
  const keyPath = join(dir, files.key);
  const missing = [files.cert, files.key].filter((f) => !fileExists(join(dir, f)));
  if (missing.length > 0) {
    throw new CliError(
      'ERR_CLI_PARENT_NOT_FOUND',
      `Parent "${parent}" not found: ${missing.join(' and ')} missing in ${dir}.`,
    );
  }
  const [certificate] = readCertificateFile(certPath, `the parent certificate`);
  const privateKey = readKeyFile(keyPath, `the parent key`);
  if (!certificate) throw new CliError('ERR_CLI_READ_FILE', `${files.cert} holds no certificate.`);

  const fullchainPath = join(dir, files.fullchain);
  // create_test_cert.js ends every fullchain with a `null` line; readCertificates skips it.
  const chain = fileExists(fullchainPath)
    ? readCertificateFile(fullchainPath, 'the parent chain')
    : [certificate];
  checkChain(chain, certificate, files.fullchain, files.cert);
  return { issuer: { certificate, privateKey }, chain };
}

/** The fullchain must start with the parent and each certificate must be issued by the next. */
function checkChain(
  chain: Certificate[],
  certificate: Certificate,
  fullchainName: string,
  certName: string,
): void {
  if (chain[0]?.sha256Thumbprint !== certificate.sha256Thumbprint) {
    throw new CliError(
      'ERR_CLI_CHAIN_MISMATCH',
      `${fullchainName} does not start with the certificate in ${certName}.`,
    );
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i];
    const issuer = chain[i + 1];
    if (child && issuer && !child.isSignedBy(issuer)) {
      throw new CliError(
        'ERR_CLI_CHAIN_MISMATCH',
        `${fullchainName} is not a chain: certificate ${i + 2} did not issue certificate ${i + 1}.`,
      );
    }
  }
}
