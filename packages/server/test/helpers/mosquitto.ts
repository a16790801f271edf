/**
 * A mosquitto (Debian's package) of the test's own on loopback, with three listeners: plain
 * anonymous, plain with a password file, and TLS that requires a client certificate from the
 * test's CA. Without mosquitto a suite is skipped with a one-line reason (CI installs it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { freePort } from './redis.js';

export function skipWithoutMosquitto(): string | false {
  const r = spawnSync('mosquitto', ['-h'], { stdio: 'ignore' });
  return r.error ? 'mosquitto not found: install mosquitto (Debian: apt-get install mosquitto)' : false;
}

export interface TestMosquitto {
  /** Anonymous, plain. */
  plainPort: number;
  /** Plain, user name and password from `users`. */
  passwordPort: number;
  /** TLS, client certificate required. */
  tlsPort: number;
  /** Stops the broker (SIGTERM) and waits for it. */
  stop(): Promise<void>;
  /** Starts it again on the same ports. */
  start(): Promise<void>;
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

export async function startTestMosquitto(
  dir: string,
  users: Record<string, string>,
  tls: { cafile: string; certfile: string; keyfile: string },
): Promise<TestMosquitto> {
  const [plainPort, passwordPort, tlsPort] = [await freePort(), await freePort(), await freePort()];
  const passwordFile = join(dir, 'mosquitto.passwd');
  await writeFile(passwordFile, '');
  for (const [user, password] of Object.entries(users)) {
    const r = spawnSync('mosquitto_passwd', ['-b', passwordFile, user, password], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr}`);
  }
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [
      'user root',
      'per_listener_settings true',
      'persistence false',
      'log_type error',
      `listener ${plainPort} 127.0.0.1`,
      'allow_anonymous true',
      `listener ${passwordPort} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${passwordFile}`,
      `listener ${tlsPort} 127.0.0.1`,
      'allow_anonymous true',
      `cafile ${tls.cafile}`,
      `certfile ${tls.certfile}`,
      `keyfile ${tls.keyfile}`,
      'require_certificate true',
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  const start = async () => {
    const proc = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!(await listening(tlsPort)) || !(await listening(plainPort))) {
      if (proc.exitCode !== null) throw new Error(`mosquitto exited: ${stderr.slice(0, 500)}`);
      if (Date.now() > deadline) throw new Error(`mosquitto did not start: ${stderr.slice(0, 500)}`);
      await sleep(30);
    }
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
  };
  await start();
  return { plainPort, passwordPort, tlsPort, stop, start };
}
