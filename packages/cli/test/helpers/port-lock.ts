import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The lock of packages/server/test/helpers/port-lock.ts, same file and rules, held until the
 * returned function releases it: /tmp/gatehouse-port-<port>.lock holds the owner's pid, and a
 * lock whose process is dead is stale. Take several in ascending-need order (8883 before 443)
 * so two holders never wait on each other.
 */
export async function acquirePortLock(port: number, timeoutMs = 15 * 60_000): Promise<() => void> {
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
      try {
        const pid = Number(readFileSync(path, 'utf8'));
        if (pid && pid !== process.pid) {
          try {
            process.kill(pid, 0);
          } catch {
            unlinkSync(path); // stale: its process is dead
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
  let released = false;
  return () => {
    if (released) return;
    released = true;
    try {
      unlinkSync(path);
    } catch {
      /* already gone */
    }
  };
}
