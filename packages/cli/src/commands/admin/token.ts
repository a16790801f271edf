import { Option, type Command } from 'commander';
import { addConnectionOptions, ApiClient, segment, type ConnectionFlags } from '../../api-client.js';
import { print } from './shared.js';

/** The built-in roles' fixed IDs (CENTRAL_API.md §1.2). */
export const ROLES = {
  administrator: { id: 'ca310b8d-2f4a-44e0-a36e-957c202cd8d4', name: 'Administrator' },
  builder: { id: '344138e9-8de4-4497-8c54-5237e96d6aaf', name: 'Builder' },
  operator: { id: 'ae2c9854-393b-4f97-8c42-479d70ce626e', name: 'Operator' },
} as const;

type RoleName = keyof typeof ROLES;

interface CreatedToken {
  id: string;
  roles: Array<{ role: string }>;
  expiry: string;
  token: string;
}

interface TokenFlags extends ConnectionFlags {
  role: RoleName;
}

/** `gatehouse token create`: API tokens for scripts and other tools. */
export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('API tokens for scripts and tools (Administrator only)');
  addConnectionOptions(
    token
      .command('create')
      .description('create (or replace) an API token and print its secret, once')
      .argument('<id>', 'the token ID (letters, digits, - and _, 1–48 characters)')
      .addOption(
        new Option(
          '--role <role>',
          'administrator: everything; builder: everything but API tokens; operator: read and operate devices',
        )
          .choices(Object.keys(ROLES))
          .default('operator'),
      ),
  ).action(async (id: string, flags: TokenFlags) => {
    const role = ROLES[flags.role];
    const client = ApiClient.fromFlags(flags);
    const created = await client.request<CreatedToken>('PUT', `api/apiTokens/${segment(id)}`, {
      roles: [{ role: role.id }],
    });
    print(flags.json, created, () => [
      `API token ${created.id} (${role.name}, expires ${created.expiry}). It is shown only now:`,
      `  ${created.token}`,
      'Send it whole as the Authorization header, or use it here with:',
      `  GATEHOUSE_TOKEN='${created.token}' gatehouse …`,
    ]);
  });
}
