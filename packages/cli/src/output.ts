import { CommanderError, type Command } from 'commander';

/** An error the CLI reports as `<code>: <message>` and exits non-zero. */
export class CliError extends Error {
  readonly code: string;
  readonly exitCode: number;
  /** The `details` of the server's error envelope, when it sent one (e.g. an import's plan). */
  details: Record<string, unknown> | undefined;
  constructor(code: string, message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Errors from our packages all carry a stable `code` (ERR_*). */
function errorCode(err: unknown): string | undefined {
  if (
    err &&
    typeof err === 'object' &&
    'code' in err &&
    typeof err.code === 'string' &&
    err.code.startsWith('ERR_')
  ) {
    return err.code;
  }
  return undefined;
}

/** Print an error the way every command does: the code first, one line, to stderr. */
export function printError(err: unknown, json = false): void {
  const code = errorCode(err) ?? 'ERR_UNEXPECTED';
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
  if (json) process.stderr.write(JSON.stringify({ error: { code, message } }) + '\n');
  else process.stderr.write(`${code}: ${message}\n`);
}

/**
 * Commander's own usage errors (unknown option, missing argument) become
 * `ERR_CLI_USAGE: …` like every other refusal; help and version exit 0.
 */
function configure(command: Command): void {
  command.exitOverride();
  command.configureOutput({ writeErr: () => undefined, outputError: () => undefined });
  for (const sub of command.commands) configure(sub);
}

export async function runMain(program: Command, argv: string[]): Promise<void> {
  configure(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.exitCode === 0 ||
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      ) {
        process.exitCode = 0;
        return;
      }
      printError(
        new CliError('ERR_CLI_USAGE', `${err.message.replace(/^error: /, '')} (see --help)`),
        argv.includes('--json'),
      );
      process.exitCode = 2;
      return;
    }
    printError(err, argv.includes('--json'));
    process.exitCode = err instanceof CliError ? err.exitCode : 1;
  }
}
