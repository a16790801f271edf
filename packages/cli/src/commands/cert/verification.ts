import type { Command } from 'commander';
import { createVerificationCertificate, isValidNonce, PkiError } from '@gatehouse/pki';
import { CliError } from '../../output.js';
import { finish, prepare } from './create.js';
import { addCreateOptions, type CreateFlags } from './options.js';
import { readCertificateFile, readKeyFile } from './read.js';

interface VerificationFlags extends CreateFlags {
  ca?: string;
  key?: string;
  nonce?: string;
}

/**
 * `cert verification --ca --key --nonce`: the proof-of-possession certificate for an uploaded CA,
 * CN = the verification code, signed by the CA's key (create_test_cert.js `verification`).
 */
export function registerVerification(cert: Command): void {
  addCreateOptions(
    cert
      .command('verification')
      .description('create verification_cert.pem: proof that you hold the key of an uploaded CA')
      .option('--ca <pem>', 'the CA certificate (the first certificate of the file is used)')
      .option('--key <pem>', "the CA's private key")
      .option('--nonce <code>', 'the verification code the server gave you (letters and digits)'),
    1,
  ).action(async (flags: VerificationFlags) => {
    const missing = (['ca', 'key', 'nonce'] as const)
      .filter((o) => flags[o] === undefined)
      .map((o) => `--${o}`);
    if (missing.length > 0) {
      throw new CliError(
        'ERR_CLI_MISSING_OPTION',
        `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} required.`,
      );
    }
    const { ca = '', key = '', nonce = '' } = flags;
    if (!isValidNonce(nonce)) {
      throw new PkiError(
        'ERR_PKI_INVALID_NONCE',
        `"${nonce}" is not a verification code: use 1 to 64 letters or digits.`,
      );
    }
    const run = prepare(flags, { cert: 'verification_cert.pem', key: 'verification_key.pem' });
    const [certificate] = readCertificateFile(ca, 'the CA certificate');
    const privateKey = readKeyFile(key, 'the CA key');
    if (!certificate) throw new CliError('ERR_CLI_READ_FILE', `${ca} holds no certificate.`);
    const issued = await createVerificationCertificate({
      nonce,
      ca: { certificate, privateKey },
      keySpec: run.options.keySpec,
      days: run.options.days,
    });
    finish(run, issued, {
      command: 'verification',
      title: `Created verification certificate for "${certificate.subjectCN ?? certificate.subject}" with code ${nonce}`,
      next: (show) => `upload ${show(run.files.cert)} to finish proof of possession`,
    });
  });
}
