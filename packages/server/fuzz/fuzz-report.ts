/**
 * What a fuzz run counts and prints, the same for every target: inputs, rate, the slowest
 * input, and every finding with what replays it (`--seed` and the input's index).
 */
import { performance } from 'node:perf_hooks';

export interface Finding {
  kind: string;
  detail: string;
  /** The run's seed and the input's index in it: `--seed S --replay I` runs it alone. */
  seed: number;
  index: number;
  /** The input, hex (first 2,048 bytes) or text (first 4,096 characters). */
  input?: string;
}

export interface FuzzReport {
  target: string;
  seed: number;
  inputs: number;
  seconds: number;
  perSecond: number;
  slowestMs: number;
  findings: Finding[];
  /** Counts per finding kind. */
  counts: Record<string, number>;
  [extra: string]: unknown;
}

export class FuzzRecorder {
  readonly findings: Finding[] = [];
  readonly counts: Record<string, number> = {};
  inputs = 0;
  slowestMs = 0;
  private readonly start = performance.now();
  private current = -1;
  private readonly onUncaught = (err: unknown) => this.add('uncaught-exception', describe(err), this.current);
  private readonly onRejection = (err: unknown) =>
    this.add('unhandled-rejection', describe(err), this.current);

  constructor(
    readonly target: string,
    readonly seed: number,
    private readonly keep = 20,
  ) {
    process.on('uncaughtException', this.onUncaught);
    process.on('unhandledRejection', this.onRejection);
  }

  /** The input being run now (findings raised asynchronously are attributed to it). */
  begin(index: number): void {
    this.current = index;
    this.inputs++;
  }

  time(ms: number): void {
    if (ms > this.slowestMs) this.slowestMs = ms;
  }

  add(kind: string, detail: string, index: number, input?: Uint8Array | string): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    if (this.findings.length >= this.keep) return;
    const shown =
      input === undefined
        ? undefined
        : typeof input === 'string'
          ? input.slice(0, 4096)
          : Buffer.from(input.subarray(0, 2048)).toString('hex');
    this.findings.push({
      kind,
      detail,
      seed: this.seed,
      index,
      ...(shown !== undefined ? { input: shown } : {}),
    });
  }

  finish(extra: Record<string, unknown> = {}): FuzzReport {
    process.off('uncaughtException', this.onUncaught);
    process.off('unhandledRejection', this.onRejection);
    const seconds = (performance.now() - this.start) / 1000;
    return {
      target: this.target,
      seed: this.seed,
      inputs: this.inputs,
      seconds: Math.round(seconds * 10) / 10,
      perSecond: Math.round(this.inputs / seconds),
      slowestMs: Math.round(this.slowestMs * 100) / 100,
      findings: this.findings,
      counts: this.counts,
      ...extra,
    };
  }
}

export function describe(err: unknown): string {
  if (err instanceof Error)
    return `${err.name}: ${err.message}\n${(err.stack ?? '').split('\n').slice(1, 6).join('\n')}`;
  return String(err);
}

/** Batches of inputs with seeds derived from the run's seed, so any input can be replayed. */
export function* batches(
  runs: number,
  size: number,
): Generator<{ batch: number; count: number; first: number }> {
  for (let first = 0, batch = 0; first < runs; first += size, batch++) {
    yield { batch, count: Math.min(size, runs - first), first };
  }
}
