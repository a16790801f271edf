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
    .description('create and check test certificates (root, intermediate, device, verification, show, verify)');
  registerRoot(cert);
  registerIntermediate(cert);
  registerDevice(cert);
  registerVerification(cert);
  registerShow(cert);
  registerVerify(cert);
}
