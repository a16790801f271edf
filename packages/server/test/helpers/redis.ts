/**
 * Redis for tests: the shared server named by GATEHOUSE_TEST_REDIS_URL, or a redis-server of
 * the test's own (for tests that kill and restart it). Without Redis a suite is skipped with a
 * one-line reason, unless GATEHOUSE_REQUIRE_REDIS=1 (CI), where missing Redis is a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export const REDIS_NOT_CONFIGURED =
  'Redis not configured: set GATEHOUSE_TEST_REDIS_URL (scripts/test-services.mjs starts one)';
const REDIS_SERVER_MISSING =
  'redis-server not found: install redis-server (Debian: apt-get install redis-server)';

const required = process.env['GATEHOUSE_REQUIRE_REDIS'] === '1';

/** The shared test Redis, if configured. */
export function testRedisUrl(): string | undefined {
  return process.env['GATEHOUSE_TEST_REDIS_URL'] || undefined;
}

/**
 * `skip` option for a suite that needs the shared Redis: the reason when it is absent, or false.
 * With GATEHOUSE_REQUIRE_REDIS=1 it never skips (the suite then fails on the missing URL).
 */
export function skipWithoutRedis(): string | false {
  if (testRedisUrl() || required) return false;
  return REDIS_NOT_CONFIGURED;
}

/** The shared test Redis URL, or a failure that says how to get one. */
export function requireRedisUrl(): string {
  const url = testRedisUrl();
  if (!url) throw new Error(REDIS_NOT_CONFIGURED);
  return url;
}

/** Where redis-server is, if installed. */
export function redisServerBinary(): string | undefined {
  for (const candidate of [process.env['GATEHOUSE_REDIS_SERVER'], '/usr/bin/redis-server', 'redis-server']) {
    if (!candidate) continue;
    const r = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return candidate;
  }
  return undefined;
}

/** `skip` option for a suite that starts its own redis-server. */
export function skipWithoutRedisServer(): string | false {
  if (redisServerBinary() || required) return false;
  return REDIS_SERVER_MISSING;
}

/** A free TCP port on 127.0.0.1 (a redis-server cannot be told to pick port 0 and report it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface OwnRedis {
  url: string;
  port: number;
  /** SIGKILL, like a crash; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: --save ''). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `redis-server --port <free> --save '' --bind 127.0.0.1`, owned by the test. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const binary = redisServerBinary();
  if (!binary) throw new Error(REDIS_SERVER_MISSING);
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async () => {
    const proc = spawn(
      binary,
      [
        '--port',
        String(port),
        '--save',
        '',
        '--appendonly',
        'no',
        '--bind',
        '127.0.0.1',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    let output = '';
    proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    // Ready when it accepts a PING over a plain socket.
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited: ${output.trim().slice(0, 500)}`);
      if (await answersPing(port)) return;
      if (Date.now() > deadline)
        throw new Error(`redis-server not ready on ${port}: ${output.slice(0, 500)}`);
      await sleep(20);
    }
  };
  const kill = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, kill, start, stop: kill };
}

async function answersPing(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      data += d.toString();
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
  });
}
