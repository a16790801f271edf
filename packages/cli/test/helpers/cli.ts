import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built binary: dist/test/helpers/cli.js → dist/src/main.js. */
export const MAIN =
  process.env.GATEHOUSE_CLI_MAIN ?? fileURLToPath(new URL('../../src/main.js', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `gatehouse <args>` with the built binary, as a user would, in `cwd`. */
export function gatehouse(cwd: string, ...args: string[]): CliResult {
  const result = spawnSync(process.execPath, [MAIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a command that must succeed and returns its stdout. */
export function ok(cwd: string, ...args: string[]): string {
  const r = gatehouse(cwd, ...args);
  if (r.status !== 0) throw new Error(`gatehouse ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** A fresh folder under the OS temp dir; `cleanup()` removes every folder made so far. */
export function tempDirs(): { make: () => string; cleanup: () => void } {
  const made: string[] = [];
  return {
    make: () => {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cert-'));
      made.push(dir);
      return dir;
    },
    cleanup: () => made.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })),
  };
}

/** The folder's entries, sorted, temporaries included: to prove a failed run wrote nothing. */
export function listing(dir: string): string[] {
  return readdirSync(dir).sort();
}

/**
 * `gatehouse serve` on `data` with every port 0 and the extra `args` / environment, waiting for
 * it to exit: for flags that must stop the start before anything listens or is written.
 */
export function serveRefused(data: string, args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(
    process.execPath,
    [MAIN, 'serve', '--data', data, '--mqtt-port', '0', '--http-port', '0', '--https-port', '0', ...args],
    { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env } },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
