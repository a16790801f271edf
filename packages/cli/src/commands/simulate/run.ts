import { HubClient, isDeviceError, ProvisioningClient, type PemInput } from '@gatehouse/device';
import { createDeviceCertificate, type Certificate, type Issuer } from '@gatehouse/pki';
import { deriveDeviceKey } from '@gatehouse/protocol';
import { acknowledgeDesired, createBehaviour, type TemplateName } from './templates.js';

/** How many devices provision and connect at the same time. */
export const CONNECT_CONCURRENCY = 20;

/** How each device proves who it is. */
export type SimCredential =
  { kind: 'sas'; groupKey: string } | { kind: 'x509'; issuer: Issuer; chain: Certificate[] };

export interface SimulationOptions {
  template: TemplateName;
  devices: number;
  intervalMs: number;
  durationMs: number | undefined;
  idScope: string;
  host: string;
  port: number;
  /** The server's CA; undefined trusts Node's store (with NODE_EXTRA_CA_CERTS). */
  ca: Buffer | undefined;
  /** Where the trust came from (server-trust.ts), named when TLS refuses the server. */
  trustSource?: string;
  prefix: string;
  json: boolean;
  credential: SimCredential;
}

/** The first failure of a kind, as the summary shows it. */
export interface FirstError {
  deviceId: string;
  code: string;
  message: string;
  status?: number;
  errorCode?: number;
}

export interface SimulationSummary {
  template: TemplateName;
  devices: number;
  provisioned: number;
  connected: number;
  messagesSent: number;
  errors: number;
  registrationRefused: number;
  firstRefusal?: FirstError;
  firstError?: FirstError;
  /** Seconds from the start of the run to the stop. */
  elapsedSeconds: number;
  /** Why the run stopped: the duration ended, or SIGINT. */
  stoppedBy: 'duration' | 'signal' | 'failure';
}

interface SimDevice {
  id: string;
  client: HubClient;
  timer: NodeJS.Timeout | undefined;
  sending: Promise<void> | undefined;
}

function describe(err: unknown, deviceId: string): FirstError {
  const code =
    err && typeof err === 'object' && 'code' in err && typeof err.code === 'string'
      ? err.code
      : 'ERR_UNEXPECTED';
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
  const first: FirstError = { deviceId, code, message };
  if (isDeviceError(err)) {
    if (err.status !== undefined) first.status = err.status;
    if (err.errorCode !== undefined) first.errorCode = err.errorCode;
  }
  return first;
}

/** Runs `fn` over `items` with at most `limit` at once, and stops taking new items when `stop()` says so. */
async function pool<T>(
  items: T[],
  limit: number,
  stop: () => boolean,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!stop() && next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** One status line on stderr: rewritten in place on a terminal, a plain line otherwise. */
class StatusLine {
  private readonly tty = process.stderr.isTTY === true;
  private shown = false;

  constructor(private readonly enabled: boolean) {}

  show(text: string, plainToo = false): void {
    if (!this.enabled) return;
    if (this.tty) {
      const width = process.stderr.columns > 0 ? process.stderr.columns - 1 : 120;
      process.stderr.write(`\r\x1b[2K${text.slice(0, width)}`);
      this.shown = true;
    } else if (plainToo) {
      process.stderr.write(text + '\n');
    }
  }

  /** Prints a message on its own line, above the status line. */
  print(text: string): void {
    this.clear();
    process.stderr.write(text + '\n');
  }

  clear(): void {
    if (this.shown) process.stderr.write('\r\x1b[2K');
    this.shown = false;
  }
}

function bar(done: number, total: number, width = 24): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/**
 * Provisions and connects `devices` simulated devices, sends their telemetry every interval,
 * answers their commands and writable properties, and stops at the end of `durationMs` or on
 * SIGINT, closing every client. Resolves to the summary.
 */
export async function simulate(options: SimulationOptions): Promise<SimulationSummary> {
  const started = Date.now();
  const status = new StatusLine(true);
  const summary: SimulationSummary = {
    template: options.template,
    devices: options.devices,
    provisioned: 0,
    connected: 0,
    messagesSent: 0,
    errors: 0,
    registrationRefused: 0,
    elapsedSeconds: 0,
    stoppedBy: 'duration',
  };
  const live: SimDevice[] = [];
  let stopping = false;
  let wake: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (wake = resolve));
  const stop = (by: SimulationSummary['stoppedBy']): void => {
    if (stopping) return;
    stopping = true;
    summary.stoppedBy = by;
    wake();
  };
  const onSigint = (): void => {
    if (stopping) {
      // A second Ctrl-C: the user does not want to wait for the clients to close.
      process.exit(130);
    }
    stop('signal');
  };
  process.on('SIGINT', onSigint);

  const recordError = (err: unknown, deviceId: string): void => {
    summary.errors++;
    if (!summary.firstError) {
      summary.firstError = describe(err, deviceId);
      // A certificate refusal of the server is a trust problem: say what was trusted.
      if (options.trustSource && /certificate|self[- ]signed/i.test(summary.firstError.message)) {
        summary.firstError.message += ` (trusted: ${options.trustSource})`;
      }
    }
  };

  const ca: { ca?: PemInput } = options.ca === undefined ? {} : { ca: options.ca };
  const ids = Array.from({ length: options.devices }, (_, i) => `${options.prefix}-${i + 1}`);

  const startDevice = async (id: string): Promise<void> => {
    const behaviour = createBehaviour(options.template);
    let credential: { symmetricKey: string } | { x509: { cert: string; key: string } };
    try {
      if (options.credential.kind === 'sas') {
        credential = { symmetricKey: deriveDeviceKey(options.credential.groupKey, id) };
      } else {
        const issued = await createDeviceCertificate({
          commonName: id,
          issuer: options.credential.issuer,
          issuerChain: options.credential.chain,
        });
        credential = {
          x509: { cert: issued.chain.map((c) => c.pem).join(''), key: issued.privateKey.toPem() },
        };
      }
    } catch (err) {
      recordError(err, id);
      return;
    }

    let assignedHub: string;
    let deviceId: string;
    try {
      const result = await ProvisioningClient.create({
        host: options.host,
        port: options.port,
        idScope: options.idScope,
        registrationId: id,
        ...ca,
        ...credential,
        ...(behaviour.modelId ? { payload: { modelId: behaviour.modelId } } : {}),
      }).register();
      assignedHub = result.assignedHub;
      deviceId = result.deviceId;
      summary.provisioned++;
    } catch (err) {
      if (isDeviceError(err, 'ERR_DEVICE_REGISTRATION_REFUSED')) {
        summary.registrationRefused++;
        if (!summary.firstRefusal) {
          summary.firstRefusal = describe(err, id);
          const r = summary.firstRefusal;
          if (!options.json) {
            status.print(
              `${r.code}: ${id}: the provisioning service refused the registration` +
                ` (status ${r.status ?? '?'}${r.errorCode !== undefined ? `, errorCode ${r.errorCode}` : ''}): ${r.message}`,
            );
          }
        }
      }
      recordError(err, id);
      return;
    }

    const client = HubClient.create({
      host: assignedHub,
      gatewayHost: options.host,
      port: options.port,
      deviceId,
      ...ca,
      ...credential,
      ...(behaviour.modelId ? { modelId: behaviour.modelId } : {}),
    });
    client.on('error', (err) => recordError(err, deviceId));
    client.on('desired', (patch, version) => {
      const ack = acknowledgeDesired(patch, version);
      if (Object.keys(ack).length === 0) return;
      client.updateReportedProperties(ack).catch((err: unknown) => {
        if (!stopping) recordError(err, deviceId);
      });
    });
    for (const [name, handler] of Object.entries(behaviour.methods)) client.onDeviceMethod(name, handler);
    const device: SimDevice = { id: deviceId, client, timer: undefined, sending: undefined };
    live.push(device);
    try {
      await client.open();
      summary.connected++;
    } catch (err) {
      recordError(err, deviceId);
      return;
    }

    const send = (): void => {
      if (stopping || device.sending) return;
      const changed = behaviour.changedReported();
      device.sending = (async () => {
        try {
          await client.sendEvent(behaviour.telemetry());
          summary.messagesSent++;
          if (changed) await client.updateReportedProperties(changed);
        } catch (err) {
          if (!stopping) recordError(err, deviceId);
        } finally {
          device.sending = undefined;
        }
      })();
    };
    try {
      await client.updateReportedProperties(behaviour.reported());
    } catch (err) {
      if (!stopping) recordError(err, deviceId);
    }
    if (stopping) return;
    send();
    device.timer = setInterval(send, options.intervalMs);
  };

  // Connecting: a progress bar.
  const showProgress = (): void => {
    const attempted = summary.provisioned + summary.registrationRefused;
    status.show(
      `connecting ${bar(summary.connected, options.devices)} ${summary.connected}/${options.devices} connected` +
        `  provisioned ${summary.provisioned}  errors ${summary.errors}` +
        (attempted > summary.provisioned ? `  refused ${summary.registrationRefused}` : ''),
    );
  };
  const progressTimer = setInterval(showProgress, 200);
  showProgress();
  await pool(ids, CONNECT_CONCURRENCY, () => stopping, startDevice);
  clearInterval(progressTimer);
  showProgress();
  status.clear();

  if (!stopping && summary.connected === 0) stop('failure');

  // Running: a live line every second, until the duration ends or SIGINT.
  let lastCount = summary.messagesSent;
  let lastTime = Date.now();
  let ticks = 0;
  const liveLine = (): void => {
    const now = Date.now();
    const rate = ((summary.messagesSent - lastCount) * 1000) / Math.max(1, now - lastTime);
    lastCount = summary.messagesSent;
    lastTime = now;
    ticks++;
    status.show(
      `${summary.connected}/${options.devices} connected  ${rate.toFixed(1)} messages/s` +
        `  ${summary.messagesSent} sent  ${summary.errors} errors`,
      !options.json && ticks % 5 === 0,
    );
  };
  const liveTimer = setInterval(liveLine, 1000);
  const durationTimer =
    options.durationMs !== undefined ? setTimeout(() => stop('duration'), options.durationMs) : undefined;
  await stopped;
  clearInterval(liveTimer);
  if (durationTimer) clearTimeout(durationTimer);
  status.clear();

  // Stopping: no new messages, let the pending ones finish (briefly), close every client.
  for (const d of live) if (d.timer) clearInterval(d.timer);
  const pending = live.map((d) => d.sending).filter((p): p is Promise<void> => p !== undefined);
  await Promise.race([Promise.allSettled(pending), new Promise((r) => setTimeout(r, 5000).unref())]);
  await Promise.allSettled(live.map((d) => d.client.close()));
  process.removeListener('SIGINT', onSigint);
  summary.elapsedSeconds = Math.round((Date.now() - started) / 100) / 10;
  return summary;
}

/** The text summary. */
export function summaryLines(s: SimulationSummary): string[] {
  const rate = s.elapsedSeconds > 0 ? (s.messagesSent / s.elapsedSeconds).toFixed(1) : '0.0';
  const lines = [
    `Simulated ${s.devices} ${s.template} device${s.devices === 1 ? '' : 's'} for ${s.elapsedSeconds} s` +
      (s.stoppedBy === 'signal' ? ' (stopped by Ctrl-C)' : ''),
    `  provisioned  ${s.provisioned}/${s.devices}`,
    `  connected    ${s.connected}/${s.devices}`,
    `  messages     ${s.messagesSent} (${rate}/s)`,
    `  errors       ${s.errors}`,
  ];
  if (s.registrationRefused > 0) {
    const r = s.firstRefusal;
    lines.push(
      `  refused      ${s.registrationRefused}` +
        (r
          ? ` (first: ${r.deviceId}, status ${r.status ?? '?'}${r.errorCode !== undefined ? ` ${r.errorCode}` : ''})`
          : ''),
    );
  }
  const e = s.firstError;
  if (e && !(e.deviceId === s.firstRefusal?.deviceId && e.code === s.firstRefusal.code)) {
    lines.push(`  first error  ${e.deviceId}: ${e.code}: ${e.message}`);
  }
  return lines;
}
