import type { Command } from 'commander';
import { readCertificateFile } from './read.js';
import { formatSummary, summarize } from './describe.js';

/** `cert show <file>`: every certificate in the file, with what an operator needs to upload it. */
export function registerShow(cert: Command): void {
  cert
    .command('show')
    .argument('<file>', 'a certificate file: PEM (one or a bundle), DER or base64')
    .description('print subject, issuer, validity, CA flag and thumbprints of every certificate in a file')
    .option('--json', 'print a JSON object instead of text')
    .action((file: string, flags: { json?: boolean }) => {
      const certificates = readCertificateFile(file, 'the certificate file').map((c) => summarize(c));
      if (flags.json) {
        process.stdout.write(JSON.stringify({ file, certificates }, null, 2) + '\n');
        return;
      }
      const lines: string[] = [];
      certificates.forEach((summary, index) => {
        if (index > 0) lines.push('');
        lines.push(
          certificates.length > 1 ? `Certificate ${index + 1} of ${certificates.length}` : 'Certificate',
        );
        lines.push(...formatSummary(summary));
      });
      process.stdout.write(lines.join('\n') + '\n');
    });
}
