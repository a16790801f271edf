import type { Command } from 'commander';
import { addConnectionOptions, ApiClient, segment, type ConnectionFlags } from '../../api-client.js';
import { CliError } from '../../output.js';
import type { Device } from './device.js';
import { fields, print, shortTime, table } from './shared.js';

/** `Job` as the server answers (EXPORT_RULES.md §5.2). */
export interface Job {
  id: string;
  displayName?: string;
  group: string;
  data: Array<{ type: string; target: string; path: string; value?: unknown }>;
  status: string;
  progress: { total: number; pending: number; completed: number; failed: number };
  start?: string;
  end?: string;
  scheduledJobId?: string;
  rerunOf?: string;
}

interface JobDevice {
  id: string;
  status: string;
  message?: string;
}

interface CreateFlags extends ConnectionFlags {
  group: string;
  template?: string;
  property?: string[];
  cloudProperty?: string[];
  command?: string;
  request?: string;
  connectionTimeout?: string;
  name?: string;
  batch?: string;
  cancelThreshold?: string;
  wait?: boolean;
}

interface WaitFlags extends ConnectionFlags {
  wait?: boolean;
}

const jobPath = (id: string): string => `api/jobs/${segment(id)}`;
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** A command-line value: JSON when it parses (numbers, booleans, objects), the text otherwise. */
function cliValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function assignment(text: string, option: string): { path: string; value: unknown } {
  const eq = text.indexOf('=');
  if (eq <= 0) {
    throw new CliError(
      'ERR_CLI_INVALID_OPTION',
      `${option} takes <name>=<value> (or <component>.<name>=<value>), not '${text}'.`,
    );
  }
  return { path: text.slice(0, eq), value: cliValue(text.slice(eq + 1)) };
}

/** `10` → 10 devices per batch, `25%` → a quarter of them. */
function amount(text: string, option: string): { type: 'number' | 'percentage'; value: number } {
  const m = /^(\d+)(%?)$/.exec(text.trim());
  if (!m)
    throw new CliError(
      'ERR_CLI_INVALID_OPTION',
      `${option} takes a number of devices (10) or a percentage (25%), not '${text}'.`,
    );
  return { type: m[2] ? 'percentage' : 'number', value: Number(m[1]) };
}

function progressText(j: Job): string {
  const p = j.progress;
  return `${p.completed} completed, ${p.failed} failed, ${p.pending} pending of ${p.total}`;
}

function jobLines(j: Job, devices?: JobDevice[]): string[] {
  const lines = [
    `Job ${j.id}${j.displayName ? ` (${j.displayName})` : ''}: ${j.status}`,
    ...fields([
      ['Group', j.group],
      [
        'Data',
        j.data
          .map((d) => `${d.type} ${d.path}${d.value !== undefined ? ` = ${JSON.stringify(d.value)}` : ''}`)
          .join('; '),
      ],
      ['Progress', progressText(j)],
      ['Started', shortTime(j.start)],
      ['Ended', j.end ? shortTime(j.end) : '-'],
      ...(j.rerunOf ? ([['Rerun of', j.rerunOf]] as Array<[string, string]>) : []),
      ...(j.scheduledJobId ? ([['Scheduled job', j.scheduledJobId]] as Array<[string, string]>) : []),
    ]),
  ];
  if (devices && devices.length > 0) {
    lines.push(
      '',
      ...table(
        ['DEVICE', 'STATUS', 'MESSAGE'],
        devices.map((d) => [d.id, d.status, d.message ?? '']),
      ),
    );
  }
  return lines;
}

/** Polls until the job is neither pending nor running, printing its progress as it changes. */
async function waitForJob(client: ApiClient, id: string, json: boolean | undefined): Promise<Job> {
  let last = '';
  for (;;) {
    const j = await client.request<Job>('GET', jobPath(id));
    const line = `${j.status}: ${progressText(j)}`;
    if (!json && line !== last) process.stderr.write(`${line}\n`);
    last = line;
    if (j.status !== 'pending' && j.status !== 'running') return j;
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function finish(client: ApiClient, id: string, flags: WaitFlags, intro: string): Promise<void> {
  const j = flags.wait
    ? await waitForJob(client, id, flags.json)
    : await client.request<Job>('GET', jobPath(id));
  const devices = flags.wait
    ? (await client.request<{ value: JobDevice[] }>('GET', `${jobPath(id)}/devices`)).value
    : undefined;
  print(flags.json, devices ? { job: j, devices } : j, () => [
    intro,
    ...jobLines(j, devices),
    ...(flags.wait ? [] : [`Follow it with: gatehouse job show ${j.id}`]),
  ]);
}

/** `gatehouse job …`: jobs over a device group (properties, cloud properties, commands). */
export function registerJobCommands(program: Command): void {
  const job = program
    .command('job')
    .description(
      'jobs over a device group: create (properties, cloud properties, a command), list, show, stop, resume, rerun',
    );

  addConnectionOptions(
    job
      .command('create')
      .description('create a job and run it at once over the devices the group selects')
      .argument('<id>', 'the job ID (letters, digits, - and _)')
      .requiredOption('--group <id>', 'the device group (gatehouse device-group list)')
      .option(
        '--property <name=value>',
        'set a writable property (repeatable; the value is JSON or text)',
        collect,
      )
      .option('--cloud-property <name=value>', 'set a cloud property (repeatable)', collect)
      .option('--command <name>', 'run a command (component.name for a component command)')
      .option('--request <json>', "the command's request payload")
      .option(
        '--connection-timeout <seconds>',
        'command: wait up to this long (0–30 s) for an offline device',
      )
      .option(
        '--template <id>',
        "the device template the data belongs to (default: the group's devices' template)",
      )
      .option('--name <displayName>', 'display name')
      .option('--batch <n|n%>', 'run in batches of n devices or n% of them')
      .option(
        '--cancel-threshold <n|n%[:batch]>',
        'cancel when n (or n%) devices failed, in the whole job or (":batch") per batch',
      )
      .option('--wait', 'wait until the job ends, showing its progress'),
  ).action(async (id: string, flags: CreateFlags) => {
    const kinds = [flags.property?.length, flags.cloudProperty?.length, flags.command].filter(Boolean).length;
    if (kinds !== 1) {
      throw new CliError(
        'ERR_CLI_MISSING_OPTION',
        'Give one kind of operation: --property (repeatable), --cloud-property (repeatable) or --command.',
      );
    }
    const client = ApiClient.fromFlags(flags);
    let target = flags.template;
    if (target === undefined) {
      const devices = await client.requestAll<Device>(
        `api/deviceGroups/${segment(flags.group)}/devices?$top=100`,
      );
      const templates = [
        ...new Set(devices.map((d) => d.template).filter((t): t is string => t !== undefined)),
      ];
      if (templates.length !== 1) {
        throw new CliError(
          'ERR_CLI_MISSING_OPTION',
          templates.length === 0
            ? `The group '${flags.group}' selects no device with a template: give --template <id>.`
            : `The group '${flags.group}' selects devices of ${templates.length} templates (${templates.join(', ')}): give --template <id>.`,
        );
      }
      target = templates[0]!;
    }
    const data = flags.command
      ? [
          {
            type: 'command',
            target,
            path: flags.command,
            ...(flags.request !== undefined ? { value: cliValue(flags.request) } : {}),
            ...(flags.connectionTimeout !== undefined
              ? { connectionTimeout: Number(flags.connectionTimeout) }
              : {}),
          },
        ]
      : [
          ...(flags.property ?? []).map((p) => ({
            type: 'property',
            target,
            ...assignment(p, '--property'),
          })),
          ...(flags.cloudProperty ?? []).map((p) => ({
            type: 'cloudProperty',
            target,
            ...assignment(p, '--cloud-property'),
          })),
        ];
    let cancellationThreshold: Record<string, unknown> | undefined;
    if (flags.cancelThreshold !== undefined) {
      const [n = '', scope] = flags.cancelThreshold.split(':');
      cancellationThreshold = { ...amount(n, '--cancel-threshold'), batch: scope === 'batch' };
    }
    const created = await client.request<Job>('PUT', jobPath(id), {
      group: flags.group,
      data,
      ...(flags.name !== undefined ? { displayName: flags.name } : {}),
      ...(flags.batch !== undefined ? { batch: amount(flags.batch, '--batch') } : {}),
      ...(cancellationThreshold ? { cancellationThreshold } : {}),
    });
    await finish(
      client,
      created.id,
      flags,
      `Job ${created.id} started over ${created.progress.total} device${created.progress.total === 1 ? '' : 's'}.`,
    );
  });

  addConnectionOptions(
    job.command('list').description('list the jobs of the last 30 days, newest first'),
  ).action(async (flags: ConnectionFlags) => {
    const client = ApiClient.fromFlags(flags);
    const { value } = await client.request<{ value: Job[] }>('GET', 'api/jobs');
    print(flags.json, { value }, () =>
      value.length === 0
        ? ['No jobs yet: gatehouse job create <id> --group <group> --property <name>=<value>']
        : table(
            ['ID', 'NAME', 'GROUP', 'STATUS', 'PROGRESS'],
            value.map((j) => [
              j.id,
              j.displayName ?? '-',
              j.group,
              j.status,
              `${j.progress.completed}/${j.progress.failed}/${j.progress.pending} of ${j.progress.total}`,
            ]),
          ),
    );
  });

  addConnectionOptions(
    job
      .command('show')
      .description("show a job, its progress and every device's status")
      .argument('<id>', 'the job ID'),
  ).action(async (id: string, flags: ConnectionFlags) => {
    const client = ApiClient.fromFlags(flags);
    const j = await client.request<Job>('GET', jobPath(id));
    const { value } = await client.request<{ value: JobDevice[] }>('GET', `${jobPath(id)}/devices`);
    print(flags.json, { job: j, devices: value }, () => jobLines(j, value));
  });

  addConnectionOptions(
    job
      .command('stop')
      .description('stop a pending or running job (no further device is started)')
      .argument('<id>', 'the job ID'),
  ).action(async (id: string, flags: ConnectionFlags) => {
    const client = ApiClient.fromFlags(flags);
    await client.request('POST', `${jobPath(id)}/stop`);
    await finish(client, id, {}, `Job ${id} stopped; gatehouse job resume ${id} goes on where it stopped.`);
  });

  addConnectionOptions(
    job
      .command('resume')
      .description('resume a stopped job where it stopped')
      .argument('<id>', 'the job ID')
      .option('--wait', 'wait until the job ends, showing its progress'),
  ).action(async (id: string, flags: WaitFlags) => {
    const client = ApiClient.fromFlags(flags);
    await client.request('POST', `${jobPath(id)}/resume`);
    await finish(client, id, flags, `Job ${id} resumed.`);
  });

  addConnectionOptions(
    job
      .command('rerun')
      .description('run an ended job again on its failed devices, as a new job')
      .argument('<id>', 'the job ID')
      .argument('<rerun-id>', 'the ID of the new job')
      .option('--wait', 'wait until the new job ends, showing its progress'),
  ).action(async (id: string, rerunId: string, flags: WaitFlags) => {
    const client = ApiClient.fromFlags(flags);
    const created = await client.request<Job>('PUT', `${jobPath(id)}/rerun/${segment(rerunId)}`);
    await finish(
      client,
      created.id,
      flags,
      `Job ${created.id} reruns ${id} on its ${created.progress.total} failed device${created.progress.total === 1 ? '' : 's'}.`,
    );
  });
}
