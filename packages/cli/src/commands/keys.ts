import type { Command } from 'commander';
import { deriveDeviceKey, isValidRegistrationId } from '@gatehouse/protocol';
import { CliError } from '../output.js';

interface DeriveFlags {
  groupKey: string;
  id: string;
  json?: boolean;
}

/**
 * `gatehouse keys derive --group-key K --id ID`: the device key of a device in a
 * symmetric-key enrollment group, base64(HMAC-SHA256(groupKey, ID)) — what IoT
 * Central's `compute-device-key` prints (PROTOCOL.md §6.2).
 */
export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('symmetric keys for SAS devices');
  keys
    .command('derive')
    .description("derive a device's key from its enrollment group key (IoT Central's compute-device-key)")
    .requiredOption('--group-key <key>', "the group's primary or secondary key (base64)")
    .requiredOption('--id <registrationId>', 'the device (registration) ID')
    .option('--json', 'machine-readable output')
    .action((flags: DeriveFlags) => {
      const key = flags.groupKey.trim();
      if (
        !/^[A-Za-z0-9+/]+={0,2}$/.test(key) ||
        key.length % 4 !== 0 ||
        Buffer.from(key, 'base64').length < 16
      ) {
        throw new CliError(
          'ERR_CLI_INVALID_OPTION',
          '--group-key must be a base64 key of at least 16 bytes (copy it from the group page or GET /api/enrollmentGroups/{id}).',
        );
      }
      if (!isValidRegistrationId(flags.id)) {
        throw new CliError(
          'ERR_CLI_INVALID_OPTION',
          `--id '${flags.id}' is not a valid registration ID (letters, digits, - . _ :, at most 128 characters).`,
        );
      }
      const deviceKey = deriveDeviceKey(key, flags.id);
      process.stdout.write(
        flags.json ? JSON.stringify({ registrationId: flags.id, deviceKey }) + '\n' : deviceKey + '\n',
      );
    });
}
