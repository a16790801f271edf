import type { Command } from 'commander';
import type { KeySpec } from '@gatehouse/pki';
import { CliError } from '../../output.js';

/** The options every command that creates a certificate takes, as commander hands them over. */
export interface CreateFlags {
  out?: string;
  keyType?: string;
  curve?: string;
  bits?: string;
  days?: string;
  force?: boolean;
  json?: boolean;
}

/** What the flags mean once checked. */
export interface CreateOptions {
  outDir: string;
  /** Whether the user named the folder (then messages show paths, else bare file names). */
  outGiven: boolean;
  keySpec: KeySpec;
  days: number | undefined;
  force: boolean;
  json: boolean;
}

/** 100 years: far beyond any sensible test certificate, and well inside X.509 GeneralizedTime. */
const MAX_DAYS = 36500;

export function addCreateOptions(command: Command, defaultDays: number): Command {
  return command
    .option('--out <dir>', 'folder to write into (and to find the parent in); default the current folder')
    .option('--key-type <type>', 'key type: ec or rsa (default ec)')
    .option('--curve <curve>', 'EC curve: P-256 or P-384 (default P-256)')
    .option('--bits <bits>', 'RSA key size: 2048, 3072 or 4096 (default 2048)')
    .option('--days <n>', `validity in days (default ${defaultDays})`)
    .option('--force', 'overwrite existing files')
    .option('--json', 'print a JSON object instead of text');
}

function invalid(message: string): CliError {
  return new CliError('ERR_CLI_INVALID_OPTION', message);
}

/**
 * `--curve` alone implies `--key-type ec`, `--bits` alone implies `rsa`; a contradiction is an
 * error rather than a silent choice.
 */
export function parseKeySpec(flags: CreateFlags): KeySpec {
  const type = flags.keyType?.toLowerCase() ?? (flags.bits !== undefined ? 'rsa' : 'ec');
  if (type === 'ec') {
    if (flags.bits !== undefined) throw invalid('--bits applies to RSA keys only; use --key-type rsa.');
    if (flags.curve === undefined) return { type: 'ec' };
    const curve = flags.curve.toUpperCase();
    if (curve !== 'P-256' && curve !== 'P-384') {
      throw invalid(`--curve must be P-256 or P-384, not "${flags.curve}".`);
    }
    return { type: 'ec', curve };
  }
  if (type === 'rsa') {
    if (flags.curve !== undefined) throw invalid('--curve applies to EC keys only; use --key-type ec.');
    if (flags.bits === undefined) return { type: 'rsa', bits: 2048 };
    const bits = flags.bits.trim();
    if (bits !== '2048' && bits !== '3072' && bits !== '4096') {
      throw invalid(`--bits must be 2048, 3072 or 4096, not "${flags.bits}".`);
    }
    return { type: 'rsa', bits: Number(bits) as 2048 | 3072 | 4096 };
  }
  throw invalid(`--key-type must be ec or rsa, not "${flags.keyType}".`);
}

export function parseDays(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const days = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(days) || days < 1 || days > MAX_DAYS) {
    throw invalid(`--days must be a whole number from 1 to ${MAX_DAYS}, not "${value}".`);
  }
  return days;
}

/** Checks every option; nothing is read or written before this passes. */
export function parseCreateOptions(flags: CreateFlags): CreateOptions {
  return {
    outDir: flags.out ?? '.',
    outGiven: flags.out !== undefined,
    keySpec: parseKeySpec(flags),
    days: parseDays(flags.days),
    force: flags.force === true,
    json: flags.json === true,
  };
}
