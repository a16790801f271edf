/**
 * Runs the README's journey as a user types it: every marked shell block, in order, with bash,
 * in a fresh folder that stands in for the repository root (its package.json, and links to
 * packages/, examples/ and node_modules/), so `npm start` makes a fresh ./gatehouse-data and
 * `npm run example:sensor` runs the real package script. Variables and the working directory
 * carry from one block to the next, as in one terminal; background blocks are the "second
 * terminal". The only differences from a user's terminal:
 *
 * - `gatehouse` and `npx gatehouse` run this checkout's packages/cli/dist/src/main.js (a shim
 *   on PATH; the real `npx gatehouse` installs the checkout into the npx cache first);
 * - `curl` gets `--fail-with-body`, so an HTTP error fails the step instead of printing JSON;
 * - every block runs under `set -euo pipefail`: the first failing command fails the step;
 * - when another program holds port 3000, the server gets a free port through
 *   GATEHOUSE_HTTP_PORT, the CLI and the example through GATEHOUSE_URL, and `localhost:3000`
 *   in the commands becomes that port (the README documents all three).
 *
 * Ports 8883 and 443 (which the Azure SDK needs) and 3000 are taken under the lock files of the
 * fixed-port tests (port-lock.ts), and held until {@link Journey.stop}.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { extractJourney, type JourneyStep, type StepMode } from './readme-journey-extract.js';
import { acquirePortLock } from './port-lock.js';

export interface StepResult {
  name: string;
  mode: StepMode;
  /** run: exited 0; background: came up (and, after stop(), was still running); run-until: its text showed. */
  ok: boolean;
  /** Why it failed, in a sentence. */
  reason?: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number;
  /** stdout and stderr, interleaved. */
  output: string;
}

export interface JourneyOptions {
  /** The repository root: its README.md, package.json, packages/, examples/, node_modules/. */
  root: string;
  /** The README to read (default `<root>/README.md`). */
  readme?: string;
  /** Where to run (default a fresh folder under the OS temp dir). */
  workDir?: string;
  /** Progress lines. */
  log?: (line: string) => void;
  /**
   * Take the locks of ports 8883, 443 and 3000 and check they are free (default true). Only a
   * README whose blocks start no server (the runner's own tests) may say false.
   */
  fixedPorts?: boolean;
}

export interface Journey {
  workDir: string;
  /** `<workDir>/gatehouse-data`, where `npm start` keeps its data. */
  dataDir: string;
  /** Where the REST API answers, e.g. `http://localhost:3000`. */
  url: string;
  /** One result per step that ran, in order; the journey stops at the first failure. */
  steps: StepResult[];
  /** Every step ran and passed. */
  ok: boolean;
  /** Ctrl+C every background step, newest first, and wait for each; releases the ports. */
  stop(): Promise<void>;
}

const FIXED_PORTS = [8883, 443, 3000] as const;
const STOP_GRACE_MS = 20_000;

/** A shell word in single quotes. */
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '0.0.0.0', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The environment of a fresh terminal: nothing of Gatehouse's, npm's or the test runner's. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(GATEHOUSE_|IOTHUB_|npm_)/i.test(key)) continue;
    if (['INIT_CWD', 'NODE_EXTRA_CA_CERTS', 'NODE_TEST_CONTEXT'].includes(key)) continue;
    env[key] = value;
  }
  return env;
}

/** A folder that looks like a fresh checkout to npm and to the README's relative paths. */
function prepareWorkDir(root: string, workDir: string, main: string): string {
  copyFileSync(join(root, 'package.json'), join(workDir, 'package.json'));
  for (const entry of ['packages', 'examples', 'node_modules'])
    symlinkSync(join(root, entry), join(workDir, entry));
  const state = join(workDir, '.journey');
  const bin = join(state, 'bin');
  mkdirSync(bin, { recursive: true });
  const node = quote(process.execPath);
  writeFileSync(join(bin, 'gatehouse'), `#!/bin/sh\nexec ${node} ${quote(main)} "$@"\n`, { mode: 0o755 });
  writeFileSync(
    join(bin, 'npx'),
    [
      '#!/bin/sh',
      '# In the repository, `npx gatehouse` runs its own bin, packages/cli/dist/src/main.js.',
      `if [ "$1" = gatehouse ]; then shift; exec ${node} ${quote(main)} "$@"; fi`,
      'echo "the README journey check runs only \\`npx gatehouse\\`; teach .journey/bin/npx about: npx $*" >&2',
      'exit 127',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  writeFileSync(join(state, 'cwd'), workDir);
  return state;
}

/** The block, wrapped so that variables and the working directory reach the next block. */
function stepScript(state: string, step: JourneyStep, script: string): string {
  const env = quote(join(state, 'env.sh'));
  const cwd = quote(join(state, 'cwd'));
  return [
    'set -a', // every variable a block sets is exported, so `export -p` carries it on
    `if [ -f ${env} ]; then . ${env}; fi`,
    `cd "$(cat ${cwd})"`,
    'curl() { command curl --fail-with-body "$@"; }',
    // Only blocks that run to the end hand on their state; a background block ends later.
    ...(step.mode === 'run' ? [`trap 'pwd > ${cwd}; export -p > ${env}' EXIT`] : []),
    'set -euo pipefail',
    script,
    '',
  ].join('\n');
}

interface Running {
  child: ChildProcess;
  result: StepResult;
  started: number;
  exited: Promise<void>;
}

const groups = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of groups) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the whole group, as Ctrl+C in a terminal
  } catch {
    /* already gone */
  }
}

function start(
  step: JourneyStep,
  file: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  logFile: string,
): Running {
  const child = spawn('bash', [file], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  groups.add(child);
  const result: StepResult = {
    name: step.name,
    mode: step.mode,
    ok: false,
    exitCode: null,
    signal: null,
    durationMs: 0,
    output: '',
  };
  const started = Date.now();
  const onData = (d: Buffer): void => {
    result.output += d.toString();
    appendFileSync(logFile, d);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) =>
    child.once('close', (code, signal) => {
      groups.delete(child);
      result.exitCode = code;
      result.signal = signal;
      result.durationMs = Date.now() - started;
      resolve();
    }),
  );
  return { child, result, started, exited };
}

const isDone = (r: Running): boolean => r.child.exitCode !== null || r.child.signalCode !== null;

/** Waits until `done()` or the process ends or the step's time is up; says which. */
async function until(
  r: Running,
  step: JourneyStep,
  done: () => boolean,
): Promise<'done' | 'exited' | 'timeout'> {
  const deadline = r.started + step.timeoutMs;
  for (;;) {
    if (done()) return 'done';
    if (isDone(r)) {
      await r.exited;
      return done() ? 'done' : 'exited';
    }
    if (Date.now() > deadline) return 'timeout';
    await Promise.race([r.exited, sleep(50)]);
  }
}

/** Ctrl+C, then SIGKILL if it has not ended after a grace period. */
async function interrupt(r: Running): Promise<void> {
  killGroup(r.child, 'SIGINT');
  const killed = await Promise.race([r.exited.then(() => false), sleep(STOP_GRACE_MS).then(() => true)]);
  if (killed) {
    killGroup(r.child, 'SIGKILL');
    await r.exited;
  }
}

/**
 * Takes the fixed ports' locks (8883 before 443, as every holder does) into `releases` and
 * checks that no other program holds them; answers the REST API's port: 3000, or a free one.
 */
async function takePorts(releases: Array<() => void>, log: (line: string) => void): Promise<number> {
  try {
    for (const port of FIXED_PORTS) releases.push(await acquirePortLock(port));
    for (const port of [8883, 443]) {
      if (!(await portFree(port))) {
        throw new Error(`port ${port} is in use by another program; the Azure SDK connects to no other port`);
      }
    }
    if (await portFree(3000)) return 3000;
    const port = await freePort();
    log(`port 3000 is in use: the REST API gets ${port} (GATEHOUSE_HTTP_PORT)`);
    return port;
  } catch (err) {
    releases.splice(0).forEach((r) => r());
    throw err;
  }
}

const exitText = (r: StepResult): string => (r.signal ? `was killed by ${r.signal}` : `exited ${r.exitCode}`);

/** Runs the README's journey; see the file comment. Call `stop()` when done, even after a failure. */
export async function runJourney(options: JourneyOptions): Promise<Journey> {
  const log = options.log ?? (() => {});
  const steps = extractJourney(readFileSync(options.readme ?? join(options.root, 'README.md'), 'utf8'));
  const main = join(options.root, 'packages', 'cli', 'dist', 'src', 'main.js');

  const releases: Array<() => void> = [];
  const background: Running[] = [];
  const release = (): void => releases.splice(0).forEach((r) => r());
  const stop = async (): Promise<void> => {
    for (const r of background.splice(0).reverse()) {
      const wasRunning = !isDone(r);
      await interrupt(r);
      if (!wasRunning && r.result.ok) {
        r.result.ok = false;
        r.result.reason = `it ${exitText(r.result)} before the journey ended`;
      }
    }
    release();
  };

  const httpPort = options.fixedPorts === false ? 3000 : await takePorts(releases, log);

  const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'gatehouse-journey-'));
  const state = prepareWorkDir(options.root, workDir, main);
  const url = `http://localhost:${httpPort}`;
  const env: NodeJS.ProcessEnv = {
    ...cleanEnv(),
    PATH: `${join(state, 'bin')}:${process.env['PATH'] ?? ''}`,
    ...(httpPort !== 3000 ? { GATEHOUSE_HTTP_PORT: String(httpPort), GATEHOUSE_URL: url } : {}),
  };
  const results: StepResult[] = [];
  let ok = true;

  for (const [index, step] of steps.entries()) {
    const script =
      httpPort === 3000 ? step.script : step.script.replaceAll('localhost:3000', `localhost:${httpPort}`);
    const base = `${String(index + 1).padStart(2, '0')}-${step.name}`;
    const file = join(state, `${base}.sh`);
    writeFileSync(file, stepScript(state, step, script));
    const r = start(step, file, workDir, env, join(state, `${base}.log`));
    results.push(r.result);
    const seen = (): boolean => step.text !== undefined && r.result.output.includes(step.text);

    if (step.mode === 'run') {
      const outcome = await until(r, step, () => false);
      if (outcome === 'timeout') {
        await interrupt(r);
        r.result.reason = `still running after ${step.timeoutMs / 1000} s`;
      } else if (r.result.exitCode === 0) {
        r.result.ok = true;
      } else {
        r.result.reason = `it ${exitText(r.result)}`;
      }
    } else {
      const outcome = await until(r, step, seen);
      if (outcome === 'done') {
        r.result.ok = true;
        r.result.durationMs = Date.now() - r.started;
        if (step.mode === 'background') background.push(r);
        else await interrupt(r); // run-until: what it was run for has happened; Ctrl+C
      } else {
        if (outcome === 'timeout') await interrupt(r);
        r.result.reason =
          outcome === 'timeout'
            ? `"${step.text}" did not show within ${step.timeoutMs / 1000} s`
            : `it ${exitText(r.result)} before "${step.text}" showed`;
      }
    }
    log(
      `${r.result.ok ? 'ok  ' : 'FAIL'} ${step.name} (${step.mode}, ${r.result.durationMs} ms)` +
        (r.result.reason ? `: ${r.result.reason}` : ''),
    );
    if (!r.result.ok) {
      ok = false;
      break;
    }
  }

  return { workDir, dataDir: join(workDir, 'gatehouse-data'), url, steps: results, ok, stop };
}
