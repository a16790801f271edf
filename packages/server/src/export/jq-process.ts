/**
 * One running jq for one compiled transform: inputs go in as JSON lines, and each comes back as
 * one line (`{"ok":[…]}` or `{"error":"…"}`, see jq-program.ts), in order. The process is
 * started on the first message and again after it died.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

/** A transform that failed on one message (a jq runtime error, a crash, a timeout). */
export class TransformRuntimeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransformRuntimeError';
  }
}

interface Pending {
  line: string;
  resolve: (outputs: unknown[]) => void;
  reject: (err: Error) => void;
}

/** What jq wrote on stderr lately (debug output, the reason it stopped), for messages. */
const STDERR_KEPT = 2_000;

export class JqProcess {
  private child: ChildProcessWithoutNullStreams | undefined;
  /** Sent to the current process and not yet answered, oldest first. */
  private readonly pending: Pending[] = [];
  private stdout = '';
  private stderr = '';
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly jqPath: string,
    private readonly args: string[],
    private readonly timeoutMs: number,
  ) {}

  apply(input: unknown): Promise<unknown[]> {
    if (this.closed) return Promise.reject(new TransformRuntimeError('The transform was closed.'));
    const line = (JSON.stringify(input) ?? 'null') + '\n';
    return new Promise((resolve, reject) => {
      const item = { line, resolve, reject };
      this.pending.push(item);
      const child = this.child ?? this.start();
      child.stdin.write(line);
      if (this.pending.length === 1) this.arm();
    });
  }

  close(): void {
    this.closed = true;
    const child = this.child;
    this.child = undefined;
    this.disarm();
    child?.kill('SIGKILL');
    for (const p of this.pending.splice(0)) p.reject(new TransformRuntimeError('The transform was closed.'));
  }

  private start(): ChildProcessWithoutNullStreams {
    const child = spawn(this.jqPath, this.args, { env: {}, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.stdout = '';
    this.stderr = '';
    child.stdin.on('error', () => undefined); // EPIPE when jq died: handled on 'close'
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (this.child === child) this.onStdout(chunk);
    });
    child.stderr.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-STDERR_KEPT);
    });
    child.on('error', (err) => {
      if (this.child === child) this.died(child, `jq could not run: ${err.message}`);
    });
    child.on('close', (code, signal) => {
      if (this.child !== child) return;
      const why = this.stderr.trim().split('\n').pop() || `exit ${signal ?? code}`;
      this.died(child, `jq stopped on this message (${why})`);
    });
    return child;
  }

  private onStdout(chunk: string): void {
    this.stdout += chunk;
    let nl: number;
    while ((nl = this.stdout.indexOf('\n')) >= 0) {
      const line = this.stdout.slice(0, nl);
      this.stdout = this.stdout.slice(nl + 1);
      const item = this.pending.shift();
      if (!item) continue;
      try {
        const answer = JSON.parse(line) as { ok?: unknown[]; error?: string };
        if (Array.isArray(answer.ok)) item.resolve(answer.ok);
        else item.reject(new TransformRuntimeError(`jq error on this message: ${String(answer.error)}`));
      } catch (err) {
        item.reject(new TransformRuntimeError(`jq answered something unreadable: ${String(err)}`));
      }
      this.disarm();
      if (this.pending.length > 0) this.arm();
    }
  }

  /**
   * The process is gone (or stopped by us): the message it was working on is rejected, the
   * messages queued behind it go to a new process.
   */
  private died(child: ChildProcessWithoutNullStreams, reason: string): void {
    if (this.child === child) this.child = undefined;
    child.kill('SIGKILL');
    this.disarm();
    const head = this.pending.shift();
    head?.reject(new TransformRuntimeError(reason));
    if (this.closed || this.pending.length === 0) return;
    const next = this.start();
    for (const p of this.pending) next.stdin.write(p.line);
    this.arm();
  }

  private arm(): void {
    this.disarm();
    const child = this.child;
    if (!child) return;
    this.timer = setTimeout(() => {
      this.died(child, `jq stopped on this message (it ran longer than ${this.timeoutMs} ms)`);
    }, this.timeoutMs);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
