import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { addConnectionOptions, ApiClient, type ConnectionFlags } from '../../api-client.js';
import { CliError } from '../../output.js';
import { SERVER_DEFAULTS } from '../../server-defaults.js';
import { serverTrust } from '../../server-trust.js';
import { loadParent } from '../cert/parent.js';
import { simulate, summaryLines, type SimCredential, type SimulationOptions } from './run.js';
import { TEMPLATES, type TemplateName } from './templates.js';

/** The flags of `gatehouse simulate`, as commander hands them over. */
export interface SimulateFlags extends ConnectionFlags {
  template: string;
  devices: string;
  interval: string;
  duration?: string;
  idScope?: string;
  host: string;
  mqttPort: string;
  ca?: string;
  prefix: string;
  root?: string;
  certs?: string;
  groupKey?: string;
  /** `--data` or GATEHOUSE_DATA was given (not the default): its server-ca.pem is then required. */
  dataGiven?: boolean;
}

/** The most devices one run simulates. */
export const MAX_DEVICES = 10_000;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `1s`, `1.5s`, `2m`, `1h`, or a bare number of seconds → milliseconds. */
export function parseDuration(text: string, option: string, minMs: number): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text);
  const unit = UNITS[(match?.[2] ?? 's').toLowerCase()];
  const ms = match && unit !== undefined ? Math.round(Number(match[1]) * unit) : NaN;
  if (!Number.isFinite(ms) || ms < minMs) {
    throw new CliError(
      'ERR_CLI_INVALID_OPTION',
      `${option} "${text}" is not a duration of at least ${minMs} ms: use e.g. 500ms, 1s, 2m or 1h.`,
    );
  }
  return ms;
}

function parseInteger(text: string, option: string, min: number, max: number): number {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new CliError(
      'ERR_CLI_INVALID_OPTION',
      `${option} "${text}" must be a whole number from ${min} to ${max}.`,
    );
  }
  return n;
}

function credentialFrom(flags: SimulateFlags): SimCredential {
  if (flags.root !== undefined && flags.groupKey !== undefined) {
    throw new CliError(
      'ERR_CLI_INVALID_OPTION',
      '--root and --group-key exclude each other: give one of them.',
    );
  }
  if (flags.groupKey !== undefined) {
    const groupKey = flags.groupKey.trim();
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(groupKey) || groupKey.length % 4 !== 0) {
      throw new CliError('ERR_CLI_INVALID_OPTION', '--group-key is not a base64 key.');
    }
    return { kind: 'sas', groupKey };
  }
  if (flags.root !== undefined) {
    const dir = resolve(flags.certs ?? '.');
    const parent = loadParent(dir, flags.root);
    return { kind: 'x509', issuer: parent.issuer, chain: parent.chain };
  }
  throw new CliError(
    'ERR_CLI_MISSING_OPTION',
    'How do the devices authenticate? Pass --group-key <key> (a symmetric-key enrollment group) or --root <name> (a CA of a verified X.509 enrollment group).',
  );
}

async function idScopeFrom(flags: SimulateFlags): Promise<string> {
  if (flags.idScope !== undefined && flags.idScope.trim() !== '') return flags.idScope.trim();
  let app: { idScope?: unknown };
  try {
    app = await ApiClient.fromFlags(flags).request<{ idScope?: unknown }>('GET', 'api/application');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new CliError(
      'ERR_CLI_MISSING_OPTION',
      `--id-scope is missing and the server could not tell it (${reason}). Pass --id-scope (\`gatehouse serve\` prints it).`,
    );
  }
  if (typeof app.idScope !== 'string' || app.idScope === '') {
    throw new CliError('ERR_CLI_BAD_RESPONSE', 'GET /api/application answered without an idScope.');
  }
  return app.idScope;
}

/** Turns the flags into checked options; every refusal happens here, before any connection. */
export async function simulationOptions(flags: SimulateFlags): Promise<SimulationOptions> {
  if (!(TEMPLATES as readonly string[]).includes(flags.template)) {
    throw new CliError(
      'ERR_CLI_INVALID_OPTION',
      `--template "${flags.template}" is not a template: use ${TEMPLATES.join(' or ')}.`,
    );
  }
  const devices = parseInteger(flags.devices, '--devices', 1, MAX_DEVICES);
  const intervalMs = parseDuration(flags.interval, '--interval', 10);
  const durationMs =
    flags.duration === undefined ? undefined : parseDuration(flags.duration, '--duration', 1);
  const port = parseInteger(flags.mqttPort, '--mqtt-port', 1, 65_535);
  const prefix = flags.prefix;
  if (!/^[a-z0-9][a-z0-9-]{0,50}$/.test(prefix)) {
    throw new CliError(
      'ERR_CLI_INVALID_OPTION',
      `--prefix "${prefix}" must be 1 to 51 lower-case letters, digits or hyphens, starting with a letter or digit.`,
    );
  }
  const host = flags.host.trim();
  if (host === '') throw new CliError('ERR_CLI_INVALID_OPTION', '--host must not be empty.');
  const credential = credentialFrom(flags);
  const trust = serverTrust({ ca: flags.ca, data: flags.dataGiven === true ? flags.data : undefined });
  const idScope = await idScopeFrom(flags);
  return {
    template: flags.template as TemplateName,
    devices,
    intervalMs,
    durationMs,
    idScope,
    host,
    port,
    ca: trust.ca,
    trustSource: trust.source,
    prefix,
    json: flags.json === true,
    credential,
  };
}

/**
 * `gatehouse simulate`: provisions and connects N simulated devices of a template, streams their
 * telemetry, answers their commands and writable properties, and prints a summary at the end.
 */
export function registerSimulateCommand(program: Command): void {
  addConnectionOptions(
    program
      .command('simulate')
      .description(
        'provision and connect simulated devices that send telemetry and answer commands, until --duration ends or Ctrl-C',
      )
      .addOption(
        new Option('--template <name>', 'what the devices are')
          .choices([...TEMPLATES])
          .default('environmental-sensor'),
      )
      .option('--devices <n>', 'how many devices to simulate', '1')
      .option('--interval <time>', 'time between two messages of a device (e.g. 500ms, 1s, 1m)', '5s')
      .option('--duration <time>', 'stop after this time (default: run until Ctrl-C)')
      .option('--id-scope <scope>', 'ID scope of the provisioning service (default: asked from the REST API)')
      .option('--host <name>', 'host name of the Gatehouse MQTT endpoint', SERVER_DEFAULTS.hostName)
      .option('--mqtt-port <port>', 'its MQTT/TLS port', String(SERVER_DEFAULTS.mqttPort))
      .option(
        '--ca <file>',
        'CA certificate of the server (default: GATEHOUSE_CA, <data>/server-ca.pem, NODE_EXTRA_CA_CERTS, ./gatehouse-data/server-ca.pem)',
      )
      .option('--prefix <prefix>', 'device IDs are <prefix>-1 … <prefix>-N', 'sim')
      .option('--root <name>', 'issue device certificates from <name>_cert.pem/<name>_key.pem (X.509 group)')
      .option('--certs <dir>', 'the folder of the --root files (default: the current folder)')
      .option('--group-key <key>', 'primary key of a symmetric-key enrollment group (SAS)'),
  ).action(async (flags: SimulateFlags, command: Command) => {
    const source = command.getOptionValueSource('data');
    const options = await simulationOptions({ ...flags, dataGiven: source === 'cli' || source === 'env' });
    const summary = await simulate(options);
    if (options.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    else process.stdout.write(summaryLines(summary).join('\n') + '\n');
    if (summary.connected < summary.devices && summary.stoppedBy !== 'signal') process.exitCode = 1;
  });
}
