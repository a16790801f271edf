import type { Command } from 'commander';
import { validateChain, type Certificate } from '@gatehouse/pki';
import { CliError } from '../../output.js';
import { readCertificateFile } from './read.js';

interface VerifyFlags {
  ca?: string;
  chain?: string;
  json?: boolean;
}

/**
 * `cert verify <leaf> --ca <anchor> [--chain <pem>]`: the chain check the server makes for an
 * X.509 attestation (RFC 5280 §6.1), so a refusal can be reproduced offline with its code.
 */
export function registerVerify(cert: Command): void {
  cert
    .command('verify')
    .argument('<leaf>', 'the certificate to check; further certificates in the file count as presented chain')
    .description('check that <leaf> chains to a trusted --ca certificate, as the server does')
    .option('--ca <pem>', 'trusted certificate(s): the enrollment group or verified CA certificate')
    .option('--chain <pem>', 'intermediate certificates the device presents')
    .option('--json', 'print a JSON object instead of text')
    .action((leafFile: string, flags: VerifyFlags) => {
      if (flags.ca === undefined) throw new CliError('ERR_CLI_MISSING_OPTION', '--ca is required.');
      const [leaf, ...rest] = readCertificateFile(leafFile, 'the certificate');
      const anchors = readCertificateFile(flags.ca, 'the trusted certificate');
      const presented: Certificate[] = [
        ...rest,
        ...(flags.chain !== undefined ? readCertificateFile(flags.chain, 'the chain') : []),
      ];
      if (!leaf) throw new CliError('ERR_CLI_READ_FILE', `${leafFile} holds no certificate.`);
      // Throws PkiError (ERR_PKI_NO_PATH, ERR_PKI_EXPIRED, ...): printed as `<code>: <message>`, exit 1.
      const { path } = validateChain({ leaf, presented, anchors });
      if (flags.json) {
        const out = {
          ok: true,
          path: path.map((c) => ({
            subject: c.subject,
            issuer: c.issuer,
            sha256Thumbprint: c.sha256Thumbprint,
          })),
        };
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        return;
      }
      const lines = [`OK: ${leafFile} chains to a trusted certificate (${path.length} certificates).`];
      path.forEach((c, i) => {
        const role = i === 0 ? 'leaf' : i === path.length - 1 ? 'trusted' : 'intermediate';
        lines.push(
          `  ${String(i + 1)}. ${c.subject.padEnd(24)} ${role.padEnd(12)} SHA-256 ${c.sha256Thumbprint}`,
        );
      });
      process.stdout.write(lines.join('\n') + '\n');
    });
}
