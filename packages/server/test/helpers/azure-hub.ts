import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface DeviceEvent {
  event: string;
  [key: string]: unknown;
}

/** A running azure-hub-device.ts child: its events, and a way to wait for one. */
export class AzureHubDevice {
  readonly events: DeviceEvent[] = [];
  private readonly child: ChildProcess;
  private waiters: Array<{ match: (e: DeviceEvent) => boolean; resolve: (e: DeviceEvent) => void }> = [];
  stderr = '';

  constructor(env: Record<string, string>, caPath: string) {
    const script = fileURLToPath(new URL('./azure-hub-device.js', import.meta.url));
    this.child = spawn(process.execPath, [script], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: caPath, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let buf = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.trim()) continue;
        const e = JSON.parse(line) as DeviceEvent;
        this.events.push(e);
        this.waiters = this.waiters.filter((w) => (w.match(e) ? (w.resolve(e), false) : true));
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  /** Resolves with the first event (past or future) that matches. */
  waitFor(match: (e: DeviceEvent) => boolean, timeoutMs = 20_000, what = 'event'): Promise<DeviceEvent> {
    const past = this.events.find(match);
    if (past) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `timed out waiting for ${what}; events: ${JSON.stringify(this.events.slice(-10))}; stderr: ${this.stderr.slice(-2000)}`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }

  /** Waits for the next matching event that happens after now. */
  next(match: (e: DeviceEvent) => boolean, timeoutMs = 20_000, what = 'event'): Promise<DeviceEvent> {
    const seen = this.events.length;
    return this.waitFor((e) => this.events.indexOf(e) >= seen && match(e), timeoutMs, what);
  }

  send(command: Record<string, unknown>): void {
    this.child.stdin!.write(JSON.stringify(command) + '\n');
  }

  async stop(): Promise<void> {
    // A child killed by a signal has exitCode null and signalCode set: it is gone all the same.
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGKILL');
    await exited;
  }
}
