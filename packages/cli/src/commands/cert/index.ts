import type { Command } from 'commander';
import { registerDevice } from './device.js';
import { registerIntermediate } from './intermediate.js';
import { registerRoot } from './root.js';
import { registerShow } from './show.js';
import { registerVerification } from './verification.js';
import { registerVerify } from './verify.js';

/**
 * `gatehouse cert …`: test certificates compatible with create_test_cert.js (PROTOCOL.md §8),
 * plus offline inspection and chain checks.
 */
export function registerCertCommands(program: Command): void {
  const cert = program
    .command('cert')
    .description(
      'create and check test certificates (root, intermediate, device, verification, show, verify)',
    )
    .addHelpText(
      'after',
      [
        '',
        'Example: a chain for X.509 enrollment groups, and proof of possession for the root',
        '  gatehouse cert root myroot',
        '  gatehouse cert intermediate myinter myroot',
        '  gatehouse cert device mydevice myinter',
        '  gatehouse cert verification --ca myroot_cert.pem --key myroot_key.pem --nonce <code>',
        '  gatehouse cert verify mydevice_fullchain.pem --ca myroot_cert.pem',
      ].join('\n'),
    );
  registerRoot(cert);
  registerIntermediate(cert);
  registerDevice(cert);
  registerVerification(cert);
  registerShow(cert);
  registerVerify(cert);
}
