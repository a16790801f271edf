import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface Mosquitto {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

export function mosquittoAvailable(): boolean {
  return spawnSync('mosquitto', ['-h'], { stdio: 'ignore' }).error === undefined;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * mosquitto (Debian's package) with a TLS listener that requires client
 * certificates issued by `cafile`, in memory (no persistence), queues large
 * enough to drop nothing: the baseline of the telemetry benchmark.
 */
export async function startMosquitto(
  dir: string,
  files: { cafile: string; certfile: string; keyfile: string },
): Promise<Mosquitto> {
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [
      'user root',
      'per_listener_settings false',
      'allow_anonymous true',
      'persistence false',
      'max_inflight_messages 0',
      'max_queued_messages 0',
      'log_type error',
      `listener ${port} 127.0.0.1`,
      `cafile ${files.cafile}`,
      `certfile ${files.certfile}`,
      `keyfile ${files.keyfile}`,
      'require_certificate true',
      '',
    ].join('\n'),
  );
  // Its stderr is noise here (a warning about root, one line per client that hangs up).
  const child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  // Wait until it accepts connections.
  const { connect } = await import('node:net');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error('mosquitto did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
