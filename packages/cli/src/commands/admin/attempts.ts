import type { Command } from 'commander';
import { addConnectionOptions, ApiClient, type ConnectionFlags } from '../../api-client.js';
import { CliError } from '../../output.js';
import { print, shortTime, table } from './shared.js';

/** One refused provisioning attempt, as `GET /api/provisioning/attempts` returns it. */
export interface ProvisioningAttempt {
  id: number;
  time: string;
  registrationId: string;
  transport?: string;
  certificate?: { subject: string | null; issuer: string | null; sha1Thumbprint: string | null };
  reason: { code: string; message: string };
}

interface AttemptsFlags extends ConnectionFlags {
  id?: string;
  limit: string;
}

/** The server's range for `limit`. */
const MAX_LIMIT = 1000;

function parseLimit(text: string): number {
  const n = /^\d{1,4}$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
    throw new CliError(
      'ERR_CLI_INVALID_OPTION',
      `--limit must be a whole number from 1 to ${MAX_LIMIT}, not "${text}".`,
    );
  }
  return n;
}

/**
 * `gatehouse attempts`: why devices were refused. The device itself only ever sees an opaque
 * 401002; the reason is kept for the operator.
 */
export function registerAttemptsCommand(program: Command): void {
  addConnectionOptions(
    program
      .command('attempts')
      .description('refused provisioning attempts, newest first, with the reason the device never sees')
      .option('--id <registrationId>', 'only the attempts of this registration (device) ID')
      .option('--limit <n>', `at most this many (1–${MAX_LIMIT})`, '20'),
  ).action(async (flags: AttemptsFlags) => {
    const limit = parseLimit(flags.limit);
    const query = new URLSearchParams({ limit: String(limit) });
    if (flags.id !== undefined && flags.id !== '') query.set('registrationId', flags.id);
    const client = ApiClient.fromFlags(flags);
    const { value } = await client.request<{ value: ProvisioningAttempt[] }>(
      'GET',
      `api/provisioning/attempts?${query.toString()}`,
    );
    print(flags.json, { value }, () =>
      value.length === 0
        ? [
            flags.id
              ? `No refused provisioning attempts for ${flags.id}.`
              : 'No refused provisioning attempts.',
          ]
        : table(
            ['TIME', 'REGISTRATION ID', 'CODE', 'MESSAGE'],
            value.map((a) => [shortTime(a.time), a.registrationId, a.reason.code, a.reason.message]),
          ),
    );
  });
}
