/**
 * One `gatehouse serve` per data folder. Two processes on one SQLite file and one server CA
 * key would both accept devices, each with its own in-memory connection registry, and
 * corrupt each other's view (two "connected" sessions, commands sent to the wrong process).
 * The folder holds `gatehouse.pid` with the owner's pid, created with O_EXCL so exactly one
 * start wins. A lock whose pid is no longer running (kill -9, a crash, a reboot) is stale
 * and taken over; the owner removes it when it stops. Servers started twice inside one
 * process (tests restart on the same folder) share the lock.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { link, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

import type { Logger } from 'pino';

import { lifecycleError } from './errors.js';

export const LOCK_FILE = 'gatehouse.pid';

export interface DataDirLock {
  readonly path: string;
  /** Removes the lock (once the last holder in this process releases it). */
  release(): Promise<void>;
}

/** Locks held by this process, by path, with how many servers share each. */
const held = new Map<string, number>();
let exitHook = false;

/** Whether a process with this pid exists (EPERM: it exists, under another user). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function pidIn(text: string): number | undefined {
  const pid = Number(text.trim().split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

async function readPid(path: string): Promise<number | undefined> {
  try {
    return pidIn(await readFile(path, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** O_EXCL create; false when the file exists. */
async function create(path: string): Promise<boolean> {
  try {
    const file = await open(path, 'wx', 0o644);
    await file.writeFile(`${process.pid}\n`);
    await file.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Moves a stale lock aside. Renaming is atomic: if another start replaced the stale file with
 * its own lock in the meantime, the renamed file shows a live pid and is put back.
 */
async function removeStale(path: string, stalePid: number | undefined): Promise<void> {
  const aside = `${path}.${process.pid}.stale`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if ((await readPid(aside)) !== stalePid) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

/**
 * Takes the data folder's lock or throws `ERR_DATA_DIR_LOCKED` naming the running pid.
 *
 * @example
 * const lock = await acquireDataDirLock('./gatehouse-data', logger);
 * // … serve …
 * await lock.release();
 */
export async function acquireDataDirLock(dataDir: string, logger: Logger): Promise<DataDirLock> {
  const path = join(dataDir, LOCK_FILE);
  let taken = false;
  try {
    for (let attempt = 0; attempt < 5 && !taken; attempt++) {
      if (await create(path)) {
        taken = true;
        break;
      }
      const pid = await readPid(path);
      if (pid === process.pid && held.has(path)) {
        held.set(path, held.get(path)! + 1);
        return lockHandle(path);
      }
      if (pid !== undefined && pid !== process.pid && isRunning(pid))
        throw lifecycleError(
          'ERR_DATA_DIR_LOCKED',
          `the data folder ${dataDir} is in use by another gatehouse serve (pid ${pid}); stop it or choose another --data`,
          { detail: { pid, lockFile: path } },
        );
      logger.warn({ lockFile: path, stalePid: pid ?? null }, 'stale lock of a stopped server removed');
      await removeStale(path, pid);
    }
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_DATA_DIR_LOCKED') throw err;
    throw lifecycleError(
      'ERR_DATA_DIR_LOCK_FAILED',
      `cannot lock the data folder ${dataDir}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (!taken)
    throw lifecycleError(
      'ERR_DATA_DIR_LOCK_FAILED',
      `cannot lock the data folder ${dataDir}: it kept changing`,
    );
  held.set(path, 1);
  // A crash that still runs exit handlers (an uncaught exception) leaves no lock behind.
  if (!exitHook) process.on('exit', removeOnExit);
  exitHook = true;
  return lockHandle(path);
}

function lockHandle(path: string): DataDirLock {
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      const count = (held.get(path) ?? 1) - 1;
      if (count > 0) {
        held.set(path, count);
        return;
      }
      held.delete(path);
      if ((await readPid(path).catch(() => undefined)) === process.pid)
        await unlink(path).catch(() => undefined);
    },
  };
}

function removeOnExit(): void {
  for (const path of held.keys()) {
    try {
      if (pidIn(readFileSync(path, 'utf8')) === process.pid) unlinkSync(path);
    } catch {
      /* already gone */
    }
  }
}
