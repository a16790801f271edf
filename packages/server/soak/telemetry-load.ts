/**
 * The soak's load: N devices on lean MQTT/TLS clients (bench/lean-client.ts), connected at a
 * steady rate, then each publishing one QoS 1 message per second, the sends spread evenly over
 * the second (device i at i/N s). Every PUBACK's latency is kept in the tenth of the run its
 * message was sent in (but for those in flight while the server is probed, counted apart); a
 * PUBACK missing after `ackTimeoutMs` is an error, as is a failed
 * connect or a connection the server closes.
 */
import { performance } from 'node:perf_hooks';

import type { Fleet } from '../bench/fleet.js';
import { LeanClient } from '../bench/lean-client.js';
import { percentile } from '../bench/util.js';

export interface Target {
  port: number;
  ca: Buffer;
  /** The MQTT username of a device (the hub's `{host}/{id}/?api-version=…`), none for mosquitto. */
  username: (id: string) => string | undefined;
  clean: boolean;
}

export interface LoadErrors {
  connectFailures: number;
  /** Connections closed by the server (or the network) while the client meant to keep them. */
  disconnects: number;
  pubackTimeouts: number;
}

export interface Tenth {
  sent: number;
  acknowledged: number;
  /** Acknowledged messages left out of the latency figures: in flight during a server probe. */
  probeOverlaps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Where the run stands at the end of a tenth (for the progress lines). */
export interface LoadStatus {
  sent: number;
  acknowledged: number;
  /** Messages awaiting their PUBACK. */
  outstanding: number;
  errors: LoadErrors;
}

export interface LoadRun {
  sent: number;
  acknowledged: number;
  /** PUBACKs that came after their timeout (counted as errors; in the latency figures). */
  lateAcks: number;
  tenths: Tenth[];
  /** Acknowledged messages left out of the latency figures (in flight during a probe). */
  probeOverlaps: number;
  /** Load generator CPU (user + system) as a share of one core over the publishing phase. */
  generatorCpuShare: number;
}

const CONNECT_TIMEOUT_MS = 30_000;
const CONNECT_RETRIES = 3;
const CONNECTS_IN_FLIGHT = 32;

function payload(seq: number): Buffer {
  return Buffer.from(JSON.stringify({ temperature: 20 + (seq % 10) / 10, humidity: 55, seq }));
}

/** The fleet's clients, connected `perSecond` at a time, and the errors on them from then on. */
export class FleetConnections {
  readonly clients: Array<LeanClient | undefined>;
  readonly errors: LoadErrors = { connectFailures: 0, disconnects: 0, pubackTimeouts: 0 };
  private closing = false;

  private constructor(
    private readonly fleet: Fleet,
    private readonly target: Target,
  ) {
    this.clients = new Array<LeanClient | undefined>(fleet.devices.length);
  }

  static async open(
    fleet: Fleet,
    target: Target,
    perSecond: number,
    progress?: (connected: number) => void,
  ): Promise<FleetConnections> {
    const f = new FleetConnections(fleet, target);
    const n = fleet.devices.length;
    const t0 = performance.now();
    let started = 0;
    let connected = 0;
    let inFlight = 0;
    const pending: Array<Promise<void>> = [];
    while (started < n) {
      // At most `perSecond` a second and CONNECTS_IN_FLIGHT at once: a server slower than the
      // rate would otherwise see handshakes queue until they time out.
      const due = Math.min(n, Math.floor(((performance.now() - t0) / 1000) * perSecond) + 1);
      for (; started < due && inFlight < CONNECTS_IN_FLIGHT; started++) {
        inFlight++;
        pending.push(
          f.connectOne(started).then(() => {
            inFlight--;
            if (++connected % 1000 === 0) progress?.(connected);
          }),
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(pending);
    return f;
  }

  private async connectOne(i: number): Promise<void> {
    const d = this.fleet.devices[i]!;
    const u = this.target.username(d.id);
    for (let attempt = 0; attempt <= CONNECT_RETRIES; attempt++) {
      if (this.closing) return;
      try {
        const c = await LeanClient.connect({
          host: '127.0.0.1',
          port: this.target.port,
          tls: { ca: this.target.ca, cert: d.cert, key: d.key, servername: 'localhost' },
          clientId: d.id,
          clean: this.target.clean,
          connectTimeoutMs: CONNECT_TIMEOUT_MS,
          ...(u ? { username: u } : {}),
        });
        c.onClose = () => {
          if (this.closing) return;
          this.errors.disconnects++;
          this.clients[i] = undefined;
          // Back after a pause, so one drop does not stop the device for the rest of the run.
          setTimeout(() => void this.connectOne(i), 1000);
        };
        this.clients[i] = c;
        return;
      } catch {
        this.errors.connectFailures++;
        if (this.closing) return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  get connected(): number {
    return this.clients.filter((c) => c && !c.closed).length;
  }

  /** Closes every connection (MQTT DISCONNECT) and waits until the sockets are gone. */
  async close(): Promise<void> {
    this.closing = true;
    const all = this.clients.filter((c): c is LeanClient => c !== undefined);
    for (const c of all) if (!c.closed) c.end();
    await Promise.race([Promise.all(all.map((c) => c.gone)), new Promise((r) => setTimeout(r, 15_000))]);
    for (const c of all) if (!c.closed) c.destroy();
  }

  /**
   * One message per device per second for `seconds`; `atTenth(k)` runs at the end of tenth k
   * (1–10) without holding the sends back. Waits up to `ackTimeoutMs` for the last PUBACKs.
   */
  async publish(
    seconds: number,
    ackTimeoutMs: number,
    atTenth: (k: number, status: LoadStatus) => Promise<void>,
  ): Promise<LoadRun> {
    const n = this.clients.length;
    const tenthMs = (seconds * 1000) / 10;
    const latencies: number[][] = Array.from({ length: 10 }, () => []);
    const sentPerTenth = new Array<number>(10).fill(0);
    const outstanding = new Map<number, number>(); // message number → send time, oldest first
    const timedOut = new Map<number, number>();
    let sent = 0;
    let acknowledged = 0;
    let lateAcks = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const hooks: Array<Promise<void>> = [];
    let tenthsDone = 0;
    // While `atTenth` runs (a forced full GC in the server, for the heap figure) the server
    // stops; messages in flight then measure the probe, not the server, and are left out.
    const probes: Array<{ start: number; end: number }> = [];
    const overlaps = new Array<number>(10).fill(0);
    const overlapsProbe = (start: number, end: number) =>
      probes.some((p) => p.start <= end && p.end >= start);

    const sendOne = (slot: number, now: number) => {
      const i = slot % n;
      const c = this.clients[i];
      if (!c || c.closed) return; // counted as a disconnect or a connect failure already
      const tenth = Math.min(9, Math.floor((now - t0) / tenthMs));
      const number = sent++;
      sentPerTenth[tenth]!++;
      outstanding.set(number, now);
      c.publish(`devices/${this.fleet.devices[i]!.id}/messages/events/`, payload(number)).then(() => {
        const end = performance.now();
        let start = outstanding.get(number);
        if (start === undefined) {
          // Counted as a timeout already; its latency still belongs to the figures.
          start = timedOut.get(number)!;
          timedOut.delete(number);
          lateAcks++;
        } else {
          outstanding.delete(number);
          acknowledged++;
        }
        if (overlapsProbe(start, end)) overlaps[tenth]!++;
        else latencies[tenth]!.push(end - start);
      }, undefined);
    };
    const sweep = (now: number) => {
      for (const [number, start] of outstanding) {
        if (now - start < ackTimeoutMs) break;
        outstanding.delete(number);
        timedOut.set(number, start);
        this.errors.pubackTimeouts++;
      }
    };

    let slots = 0;
    let lastSweep = t0;
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const now = performance.now();
        const elapsed = now - t0;
        const due = Math.floor((Math.min(elapsed, seconds * 1000) / 1000) * n);
        for (; slots < due; slots++) sendOne(slots, now);
        if (now - lastSweep >= 1000) {
          sweep(now);
          lastSweep = now;
        }
        while (tenthsDone < 10 && elapsed >= (tenthsDone + 1) * tenthMs) {
          tenthsDone++;
          const probe = { start: now, end: Number.POSITIVE_INFINITY };
          probes.push(probe);
          const status = { sent, acknowledged, outstanding: outstanding.size, errors: { ...this.errors } };
          hooks.push(atTenth(tenthsDone, status).finally(() => (probe.end = performance.now())));
        }
        if (tenthsDone === 10) {
          clearInterval(tick);
          resolve();
        }
      }, 10);
    });
    const cpu = process.cpuUsage(cpu0);
    const generatorCpuShare = (cpu.user + cpu.system) / 1000 / (performance.now() - t0);
    const drainUntil = performance.now() + ackTimeoutMs;
    while (outstanding.size > 0 && performance.now() < drainUntil)
      await new Promise((r) => setTimeout(r, 100));
    sweep(Number.POSITIVE_INFINITY);
    await Promise.all(hooks);

    const tenths = latencies.map((l, k): Tenth => {
      l.sort((a, b) => a - b);
      return {
        sent: sentPerTenth[k]!,
        acknowledged: l.length + overlaps[k]!, // in time or late
        probeOverlaps: overlaps[k]!,
        p50Ms: round(percentile(l, 50)),
        p99Ms: round(percentile(l, 99)),
        maxMs: round(l[l.length - 1] ?? NaN),
      };
    });
    const probeOverlaps = overlaps.reduce((a, b) => a + b, 0);
    return {
      sent,
      acknowledged,
      lateAcks,
      probeOverlaps,
      tenths,
      generatorCpuShare: round(generatorCpuShare),
    };
  }
}

export function round(x: number, digits = 2): number {
  return Number(x.toFixed(digits));
}
