import type { Command } from 'commander';
import { addConnectionOptions, ApiClient, segment, type ConnectionFlags } from '../../api-client.js';
import type { Device } from './device.js';
import { fields, print, table } from './shared.js';

/** `DeviceGroup` as the server answers (EXPORT_RULES.md §5.1). */
export interface DeviceGroup {
  id: string;
  displayName: string;
  filter: string;
  description?: string;
  etag: string;
}

interface CreateFlags extends ConnectionFlags {
  name?: string;
  filter: string;
  description?: string;
}

const groupPath = (id: string): string => `api/deviceGroups/${segment(id)}`;

/**
 * `gatehouse device-group …`: device groups, the named device queries jobs run over. Not
 * `gatehouse group`, which is taken by enrollment groups (device connection groups).
 */
export function registerDeviceGroupCommands(program: Command): void {
  const group = program
    .command('device-group')
    .description('device groups (named device queries that jobs run over): create, list, show, delete');

  addConnectionOptions(
    group
      .command('create')
      .description('create (or replace) a device group')
      .argument('<id>', 'the group ID (letters, digits, - and _)')
      .requiredOption(
        '--filter <query>',
        'the device query, e.g. \'SELECT * FROM devices WHERE $template = "dtmi:com:example:Thermostat;1"\'',
      )
      .option('--name <displayName>', 'display name (default the ID)')
      .option('--description <text>', 'a description'),
  ).action(async (id: string, flags: CreateFlags) => {
    const client = ApiClient.fromFlags(flags);
    const g = await client.request<DeviceGroup>('PUT', groupPath(id), {
      displayName: flags.name ?? id,
      filter: flags.filter,
      ...(flags.description !== undefined ? { description: flags.description } : {}),
    });
    const devices = await client.requestAll<Device>(`${groupPath(id)}/devices?$top=100`);
    print(flags.json, g, () => [
      `Device group ${g.id} saved; it selects ${devices.length} device${devices.length === 1 ? '' : 's'} now.`,
      `Next: gatehouse job create <job-id> --group ${g.id} --property <name>=<value> (or --command <name>)`,
    ]);
  });

  addConnectionOptions(group.command('list').description('list the device groups')).action(
    async (flags: ConnectionFlags) => {
      const client = ApiClient.fromFlags(flags);
      const value = await client.requestAll<DeviceGroup>('api/deviceGroups?$top=100');
      print(flags.json, { value }, () =>
        value.length === 0
          ? [
              'No device groups yet: gatehouse device-group create <id> --filter "SELECT * FROM devices WHERE …"',
            ]
          : table(
              ['ID', 'NAME', 'FILTER'],
              value.map((g) => [g.id, g.displayName, g.filter]),
            ),
      );
    },
  );

  addConnectionOptions(
    group
      .command('show')
      .description('show a device group and the devices it selects now')
      .argument('<id>', 'the group ID'),
  ).action(async (id: string, flags: ConnectionFlags) => {
    const client = ApiClient.fromFlags(flags);
    const g = await client.request<DeviceGroup>('GET', groupPath(id));
    const devices = await client.requestAll<Device>(`${groupPath(id)}/devices?$top=100`);
    print(flags.json, { group: g, devices }, () => [
      `Device group ${g.id}`,
      ...fields([
        ['Display name', g.displayName],
        ['Filter', g.filter],
        ...(g.description !== undefined ? ([['Description', g.description]] as Array<[string, string]>) : []),
        ['Devices', String(devices.length)],
      ]),
      ...(devices.length > 0
        ? [
            '',
            ...table(
              ['ID', 'NAME', 'TEMPLATE', 'CONNECTED'],
              devices.map((d) => [
                d.id,
                d.displayName,
                d.template ?? '-',
                d.status?.connected ? 'yes' : 'no',
              ]),
            ),
          ]
        : []),
    ]);
  });

  addConnectionOptions(
    group
      .command('delete')
      .description('delete a device group (its devices are not touched)')
      .argument('<id>', 'the group ID'),
  ).action(async (id: string, flags: ConnectionFlags) => {
    const client = ApiClient.fromFlags(flags);
    await client.request('DELETE', groupPath(id));
    print(flags.json, { deleted: id }, () => [`Device group ${id} deleted.`]);
  });
}
