import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The Azure SDKs hard-code port 8883 (MQTT) and 443 (HTTPS/WSS), so tests that
 * drive them cannot use port 0. Test files run in parallel processes; this
 * lock file serialises the ones that need a fixed port (STYLE.md §8).
 */
export async function withPortLock<T>(
  port: number,
  fn: () => Promise<T>,
  timeoutMs = 15 * 60_000,
): Promise<T> {
  const path = join(tmpdir(), `gatehouse-port-${port}.lock`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock left by a dead process is stale.
      try {
        const pid = Number(readFileSync(path, 'utf8'));
        if (pid && pid !== process.pid) {
          try {
            process.kill(pid, 0);
          } catch {
            unlinkSync(path);
            continue;
          }
        }
      } catch {
        /* raced with its removal */
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the port ${port} lock (${path})`);
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    try {
      unlinkSync(path);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Takes the lock of `port` for longer than one call (a whole `describe`, from `before` to
 * `after`): resolves with the function that releases it. Take 8883 before 443, always.
 */
export function holdPortLock(port: number): Promise<() => void> {
  return new Promise((ready, fail) => {
    withPortLock(port, () => new Promise<void>((done) => ready(done))).catch(fail);
  });
}
