import type { Command } from 'commander';

/** An error the CLI reports as `<code>: <message>` and exits non-zero. */
export class CliError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Errors from our packages all carry a stable `code` (ERR_*). */
function errorCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string' && err.code.startsWith('ERR_')) {
    return err.code;
  }
  return undefined;
}

/** Print an error the way every command does: the code first, one line, to stderr. */
export function printError(err: unknown, json = false): void {
  const code = errorCode(err) ?? 'ERR_UNEXPECTED';
  const message = err instanceof Error ? err.message : String(err);
  if (json) process.stderr.write(JSON.stringify({ error: { code, message } }) + '\n');
  else process.stderr.write(`${code}: ${message}\n`);
}

export async function runMain(program: Command, argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const json = argv.includes('--json');
    printError(err, json);
    process.exitCode = err instanceof CliError ? err.exitCode : 1;
  }
}
