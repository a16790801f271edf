/**
 * A probe loaded into `gatehouse serve` for the memory figures of the idle benchmark and the
 * soak: started with `nodeArgs` below (`--expose-gc`, `--import` of a data: URL), the server
 * answers SIGUSR2 with `process.memoryUsage()` after a full collection, written to
 * $GATEHOUSE_BENCH_MEMORY_FILE, and a V8 heap snapshot in $GATEHOUSE_BENCH_SNAPSHOT_DIR when
 * asked for one. Nothing is added to the server's own code.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';

const PROBE = [
  "import { readFileSync, renameSync, writeFileSync } from 'node:fs';",
  "import { writeHeapSnapshot } from 'node:v8';",
  "process.on('SIGUSR2', () => {",
  '  globalThis.gc?.(); globalThis.gc?.();',
  '  const m = process.memoryUsage();',
  '  const file = process.env.GATEHOUSE_BENCH_MEMORY_FILE;',
  '  const dir = process.env.GATEHOUSE_BENCH_SNAPSHOT_DIR;',
  "  const wanted = dir && readFileSync(file + '.snapshot', 'utf8') === '1';",
  "  const snapshot = wanted ? writeHeapSnapshot(dir + '/idle-' + process.pid + '.heapsnapshot') : undefined;",
  "  writeFileSync(file + '.tmp', JSON.stringify({ ...m, snapshot }));",
  "  renameSync(file + '.tmp', file);",
  '});',
].join('\n');

/** Node.js options that load the probe into the server (with GATEHOUSE_BENCH_MEMORY_FILE set). */
export const MEMORY_PROBE_NODE_ARGS = [
  '--expose-gc',
  `--import=data:text/javascript,${encodeURIComponent(PROBE)}`,
];

export interface Memory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  snapshot?: string;
}

/** Asks the server `pid` for its memory after a full GC (and a heap snapshot if `snapshot`). */
export async function probeMemory(pid: number, file: string, snapshot = false): Promise<Memory> {
  await rm(file, { force: true });
  await writeFile(`${file}.snapshot`, snapshot ? '1' : '0');
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 1200; i++) {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as Memory;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('the memory probe did not answer');
}
