import { spawn, type ChildProcess } from 'node:child_process';
import { MAIN } from './cli.js';

/** A `gatehouse serve` child process on loopback, as a user starts it, and what its banner said. */
export interface ServeProcess {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  out(): string;
  dataDir: string;
  httpPort: number;
  mqttPort: number;
  /** `http://127.0.0.1:<httpPort>` */
  url: string;
  idScope: string;
  caPath: string;
  /** The administrator token the banner printed, when it generated one. */
  generatedToken: string | undefined;
  /** The password of the user `admin` the banner printed, when it generated one. */
  generatedPassword: string | undefined;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface ServeProcessOptions {
  dataDir: string;
  /** GATEHOUSE_ADMIN_TOKEN; '' lets the server generate one and print it. */
  token: string;
  /** The environment to start from (default this process's). */
  baseEnv?: NodeJS.ProcessEnv;
  /** Environment on top of it. */
  env?: NodeJS.ProcessEnv;
  /** More flags, after the defaults (a later flag wins). */
  args?: string[];
}

const running = new Set<ChildProcess>();

/**
 * Starts `gatehouse serve` on 127.0.0.1 with every port 0 (unless `args` says otherwise) and
 * waits for its banner. Every process started here is killed by {@link killServeProcesses},
 * even when a test failed before stopping it.
 */
export async function startServeProcess(o: ServeProcessOptions): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'serve',
      '--data',
      o.dataDir,
      '--bind',
      '127.0.0.1',
      '--mqtt-port',
      '0',
      '--http-port',
      '0',
      '--https-port',
      '0',
      '--log-level',
      'warn',
      ...(o.args ?? []),
    ],
    {
      env: { ...(o.baseEnv ?? process.env), ...o.env, GATEHOUSE_ADMIN_TOKEN: o.token },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 30_000;
  while (!/Administrator API token/.test(out)) {
    if (child.exitCode !== null) throw new Error(`serve exited early: ${out}`);
    if (Date.now() > deadline) throw new Error(`serve printed no banner: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // The rest of the banner follows in the same write or the next one.
  await new Promise((r) => setTimeout(r, 100));
  const httpPort = Number(/http:\/\/localhost:(\d+)\//.exec(out)?.[1]);
  return {
    child,
    out: () => out,
    dataDir: o.dataDir,
    httpPort,
    mqttPort: Number(/mqtts:\/\/localhost:(\d+)/.exec(out)?.[1]),
    url: `http://127.0.0.1:${httpPort}`,
    idScope: /ID scope\s+(\S+)/.exec(out)?.[1] ?? '',
    caPath: /NODE_EXTRA_CA_CERTS=(\S+)/.exec(out)?.[1] ?? '',
    generatedToken: /API token \(shown once[^\n]*\n\s+(\S+)/.exec(out)?.[1],
    generatedPassword: /sign-in: user admin, password \(shown once[^\n]*\n\s+(\S+)/.exec(out)?.[1],
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}

/** Kills every serve process still running (for `after` hooks). */
export function killServeProcesses(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}
