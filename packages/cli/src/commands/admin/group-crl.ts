import { readFileSync } from 'node:fs';

import type { Command } from 'commander';

import { addConnectionOptions, ApiClient, segment, type ConnectionFlags } from '../../api-client.js';
import { CliError } from '../../output.js';
import { print, shortTime, table } from './shared.js';

/** `GET|POST /api/enrollmentGroups/{id}/crl` as the server answers. */
export interface GroupRevocation {
  groupId: string;
  crls: Array<{ issuer: string; thisUpdate: string; nextUpdate?: string; importedAt: string }>;
  revokedCertificates: Array<{ serialNumber: string; issuer: string; revocationDate: string }>;
}

/**
 * `gatehouse group crl <id> <file>`: imports the CRL of the group's CA (PEM or DER, as
 * `openssl ca -gencrl` writes it); the server checks its signature and dates, refuses the
 * serials it lists from then on and closes their live sessions.
 */
export function registerGroupCrlCommand(group: Command): void {
  addConnectionOptions(
    group
      .command('crl')
      .description(
        "import a certificate revocation list of the group's CA: its serials are refused and their live sessions closed",
      )
      .argument('<name>', 'the group ID')
      .argument('<crl_file>', 'the CRL, PEM or DER (`openssl ca -gencrl -out ca.crl`)'),
  ).action(async (name: string, file: string, flags: ConnectionFlags) => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (err) {
      throw new CliError('ERR_CLI_READ_FILE', `Cannot read ${file}: ${(err as Error).message}`);
    }
    const text = bytes.toString('latin1');
    const crl = text.includes('-----BEGIN') ? text : bytes.toString('base64');
    const client = ApiClient.fromFlags(flags);
    const result = await client.request<GroupRevocation>(
      'POST',
      `api/enrollmentGroups/${segment(name)}/crl`,
      { crl },
    );
    print(flags.json, result, () => describe(name, result));
  });
}

function describe(name: string, r: GroupRevocation): string[] {
  const lines = r.crls.map(
    (c) =>
      `${name}: CRL of ${c.issuer} from ${shortTime(c.thisUpdate)}${c.nextUpdate ? `, next update ${shortTime(c.nextUpdate)}` : ''}`,
  );
  if (r.revokedCertificates.length === 0) return [...lines, 'No revoked certificates.'];
  return [
    ...lines,
    `${r.revokedCertificates.length} revoked certificate(s): refused at provisioning and hub connect; live sessions closed.`,
    ...table(
      ['SERIAL', 'REVOKED', 'ISSUER'],
      r.revokedCertificates.map((c) => [c.serialNumber, shortTime(c.revocationDate), c.issuer]),
    ),
  ];
}
