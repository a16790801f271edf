import type { Command } from 'commander';
import { addConnectionOptions, ApiClient, segment, type ConnectionFlags } from '../../api-client.js';
import { CliError } from '../../output.js';
import { base64Pem, fields, keyPair, print, readFirstCertificate, shortTime, table } from './shared.js';

/** `Device` as the server answers (CENTRAL_API.md §3, plus Gatehouse's live `status`). */
export interface Device {
  id: string;
  displayName: string;
  template?: string;
  enabled: boolean;
  provisioned: boolean;
  simulated?: boolean;
  status?: { connected: boolean; lastActivity: string | null; lastConnected: string | null };
}

interface CertificateInfo {
  info?: { sha1Thumbprint: string; subject?: string; notAfter?: string };
}

type X509Certificates = { clientCertificates: { primary?: CertificateInfo; secondary?: CertificateInfo } };

export interface DeviceCredentials {
  idScope: string;
  symmetricKey?: { primaryKey: string; secondaryKey: string };
  x509?: X509Certificates;
}

type Attestation =
  | { type: 'x509'; x509: X509Certificates }
  | { type: 'symmetricKey'; symmetricKey: { primaryKey: string; secondaryKey: string } };

interface TelemetryRecord {
  enqueuedTime: string;
  component?: string | null;
  body?: unknown;
}

interface ListFlags extends ConnectionFlags {
  filter?: string;
}

interface CreateFlags extends ConnectionFlags {
  name?: string;
  template?: string;
}

interface AttestFlags extends ConnectionFlags {
  primary?: string;
  secondary?: string;
  sas?: boolean;
  primaryKey?: string;
  secondaryKey?: string;
}

const devicePath = (id: string): string => `api/devices/${segment(id)}`;

function x509Lines(x509: X509Certificates | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const entry of ['primary', 'secondary'] as const) {
    const c = x509?.clientCertificates[entry];
    if (!c?.info) continue;
    out.push([
      `X.509 ${entry}`,
      `${c.info.sha1Thumbprint}${c.info.subject ? `, ${c.info.subject}` : ''}${c.info.notAfter ? `, valid until ${c.info.notAfter.slice(0, 10)}` : ''}`,
    ]);
  }
  return out;
}

function bodyText(body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/** `gatehouse device …`: create, show and attest devices. */
export function registerDeviceCommands(program: Command): void {
  const device = program
    .command('device')
    .description(
      'devices: list, create, show (with credentials and last telemetry), attest (individual enrollment)',
    );

  addConnectionOptions(
    device
      .command('list')
      .description('list the devices with their status, optionally filtered')
      .option(
        '--filter <odata>',
        'an OData filter, e.g. "connected eq true" or "indexof(displayName,\'sensor\') ge 0"',
      ),
  ).action(async (flags: ListFlags) => {
    const client = ApiClient.fromFlags(flags);
    // Pages of 100, so a large fleet never comes in one answer.
    const filter = flags.filter !== undefined ? `&$filter=${encodeURIComponent(flags.filter)}` : '';
    const value = await client.requestAll<Device>(`api/devices?$top=100${filter}`);
    print(flags.json, { value }, () =>
      value.length === 0
        ? [
            flags.filter !== undefined
              ? 'No device matches the filter.'
              : 'No devices yet: gatehouse device create <id>, or let a device register through an enrollment group.',
          ]
        : table(
            ['ID', 'NAME', 'TEMPLATE', 'STATUS', 'LAST ACTIVITY'],
            value.map((d) => [
              d.id,
              d.displayName,
              d.template ?? '-',
              !d.enabled
                ? 'blocked'
                : d.status?.connected
                  ? 'connected'
                  : d.provisioned
                    ? 'provisioned'
                    : 'registered',
              shortTime(d.status?.lastActivity ?? null),
            ]),
          ),
    );
  });

  addConnectionOptions(
    device
      .command('create')
      .description('create (or replace) a device, so it is known before it first connects')
      .argument('<id>', 'the device ID (letters, digits, - . _ :, at most 128 characters)')
      .option('--name <displayName>', 'display name (default the ID)')
      .option('--template <id>', 'device template ID (a DTMI)'),
  ).action(async (id: string, flags: CreateFlags) => {
    const client = ApiClient.fromFlags(flags);
    const d = await client.request<Device>('PUT', devicePath(id), {
      ...(flags.name !== undefined ? { displayName: flags.name } : {}),
      ...(flags.template !== undefined ? { template: flags.template } : {}),
    });
    print(flags.json, d, () => [
      `Device ${d.id} saved.`,
      ...fields([
        ['Display name', d.displayName],
        ['Template', d.template ?? 'none'],
        ['Enabled', d.enabled ? 'yes' : 'no'],
        ['Provisioned', d.provisioned ? 'yes' : 'no'],
      ]),
      `Next: gatehouse device attest ${d.id} --primary <cert.pem>  (or --sas), or let it register through an enrollment group`,
    ]);
  });

  addConnectionOptions(
    device
      .command('show')
      .description('show a device, its credentials (ID scope, keys or certificates) and its last telemetry')
      .argument('<id>', 'the device ID'),
  ).action(async (id: string, flags: ConnectionFlags) => {
    const client = ApiClient.fromFlags(flags);
    const d = await client.request<Device>('GET', devicePath(id));
    const credentials = await client.request<DeviceCredentials>('GET', `${devicePath(id)}/credentials`);
    const history = await client.request<{ value: TelemetryRecord[] }>(
      'GET',
      `${devicePath(id)}/telemetry?limit=1`,
    );
    const last = history.value[history.value.length - 1];
    print(flags.json, { device: d, credentials, lastTelemetry: last ?? null }, () => {
      const entries: Array<[string, string]> = [
        ['Display name', d.displayName],
        ['Template', d.template ?? 'none'],
        ['Enabled', d.enabled ? 'yes' : 'no'],
        ['Provisioned', d.provisioned ? 'yes' : 'no'],
      ];
      if (d.status) {
        entries.push([
          'Connected',
          `${d.status.connected ? 'yes' : 'no'} (last activity ${shortTime(d.status.lastActivity)})`,
        ]);
      }
      entries.push(['ID scope', credentials.idScope]);
      if (credentials.symmetricKey) {
        entries.push(['Primary key', credentials.symmetricKey.primaryKey]);
        entries.push(['Secondary key', credentials.symmetricKey.secondaryKey]);
      }
      entries.push(...x509Lines(credentials.x509));
      if (!credentials.symmetricKey && !credentials.x509) entries.push(['Credentials', 'none']);
      entries.push([
        'Last telemetry',
        last
          ? `${shortTime(last.enqueuedTime)}${last.component ? ` [${last.component}]` : ''} ${bodyText(last.body)}`
          : 'none',
      ]);
      return [`Device ${d.id}`, ...fields(entries)];
    });
  });

  addConnectionOptions(
    device
      .command('attest')
      .description(
        'give a device its own credentials (individual enrollment): X.509 certificates or symmetric keys',
      )
      .argument('<id>', 'the device ID (created if it does not exist)')
      .option('--primary <cert.pem>', "X.509: the device's certificate (its CN must be the device ID)")
      .option('--secondary <cert.pem>', 'X.509: a second certificate, for rolling over')
      .option('--sas', 'symmetric keys instead (generated unless given)')
      .option('--primary-key <key>', 'SAS: the primary key (base64, 16–64 bytes)')
      .option('--secondary-key <key>', 'SAS: the secondary key'),
  ).action(async (id: string, flags: AttestFlags) => {
    const x509 = flags.primary !== undefined || flags.secondary !== undefined;
    if (x509 && flags.sas) {
      throw new CliError('ERR_CLI_INVALID_OPTION', 'Choose one of --primary <cert.pem> and --sas, not both.');
    }
    if (!x509 && !flags.sas) {
      throw new CliError(
        'ERR_CLI_MISSING_OPTION',
        'Say how the device authenticates: --primary <cert.pem> [--secondary <cert.pem>] or --sas.',
      );
    }
    let body: unknown;
    if (flags.sas) {
      const keys = keyPair(flags.primaryKey, flags.secondaryKey);
      body = { type: 'symmetricKey', ...(keys ? { symmetricKey: keys } : {}) };
    } else {
      if (flags.primaryKey !== undefined || flags.secondaryKey !== undefined) {
        throw new CliError(
          'ERR_CLI_INVALID_OPTION',
          '--primary-key and --secondary-key apply to --sas only.',
        );
      }
      if (flags.primary === undefined) {
        throw new CliError('ERR_CLI_MISSING_OPTION', '--secondary needs --primary <cert.pem> as well.');
      }
      const primary = readFirstCertificate(flags.primary, 'the primary certificate');
      const secondary =
        flags.secondary !== undefined
          ? readFirstCertificate(flags.secondary, 'the secondary certificate')
          : undefined;
      body = {
        type: 'x509',
        x509: {
          clientCertificates: {
            primary: { certificate: base64Pem(primary) },
            ...(secondary ? { secondary: { certificate: base64Pem(secondary) } } : {}),
          },
        },
      };
    }
    const client = ApiClient.fromFlags(flags);
    const a = await client.request<Attestation>('PUT', `${devicePath(id)}/attestation`, body);
    print(flags.json, a, () =>
      a.type === 'symmetricKey'
        ? [
            `Device ${id} now authenticates with its own symmetric keys (individual enrollment):`,
            ...fields([
              ['Primary key', a.symmetricKey.primaryKey],
              ['Secondary key', a.symmetricKey.secondaryKey],
            ]),
            'Keep them secret. The ID scope: gatehouse device show ' + id,
          ]
        : [
            `Device ${id} now authenticates with X.509 certificates (individual enrollment):`,
            ...fields(x509Lines(a.x509)),
            `It registers with registration ID ${id}, presenting the primary (or secondary) certificate.`,
          ],
    );
  });
}
