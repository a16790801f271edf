/**
 * A real HAProxy (Debian's /usr/sbin/haproxy) in the foreground, configured from a temp dir,
 * for the tests that put the load balancer of CLUSTER.md §6.6 in front of a real server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const HAPROXY = process.env['GATEHOUSE_HAPROXY'] ?? '/usr/sbin/haproxy';

/**
 * `false` when HAProxy is there; otherwise the one-line reason to skip. With
 * GATEHOUSE_REQUIRE_HAPROXY=1 a missing HAProxy is a failure, not a skip.
 */
export function haproxySkipReason(): string | false {
  if (existsSync(HAPROXY)) return false;
  if (process.env['GATEHOUSE_REQUIRE_HAPROXY'] === '1') return false;
  return `${HAPROXY} is missing (apt-get install haproxy; GATEHOUSE_REQUIRE_HAPROXY=1 makes this a failure)`;
}

/** A free TCP port on 127.0.0.1 (bound and released: HAProxy needs numbers in its file). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Haproxy {
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Writes `config` to a temp dir, starts HAProxy on it and waits until `port` accepts. */
export async function startHaproxy(config: string, port: number): Promise<Haproxy> {
  if (!existsSync(HAPROXY)) throw new Error(`GATEHOUSE_REQUIRE_HAPROXY=1 but ${HAPROXY} is missing`);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-haproxy-'));
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  // -db: stay in the foreground, no daemon; -W would add a master process we do not need.
  const child = spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited ${child.exitCode}: ${out}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) throw new Error(`haproxy did not listen on ${port}: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', done);
        child.kill('SIGTERM');
      }),
  };
}
