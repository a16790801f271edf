/**
 * Admission of new connections on the device ports (MQTT/TLS 8883, HTTPS/WSS 443), decided on
 * the raw TCP socket before any TLS work (HARDENING.md §8 C3): a per-address connect rate
 * (token bucket) and a cap on the sockets open across both ports. A refused socket is
 * destroyed at once: no ClientHello is read, no key exchange computed. Refusals are counted in
 * `/metrics` and logged at most once per interval, so a flood cannot flood the log too.
 *
 * The anchors: IoT Hub throttles new connections per hub (100/s on S1) and answers 429; EMQX
 * has `max_conn_rate` per listener and `max_connections`; mosquitto and HiveMQ CE leave it to
 * the firewall. A per-address bucket is what stops one host from taking the whole budget.
 */
import { isIP, type Socket } from 'node:net';

import type { Logger } from 'pino';

import type { Metrics } from '../metrics.js';
import { TrustedProxies } from './proxy-trust.js';

/** Connects per second one client address may make, on average. */
export const DEFAULT_CONNECT_RATE_PER_IP = 20;
/** Connects one client address may make at once before the rate applies. */
export const DEFAULT_CONNECT_BURST_PER_IP = 100;
/** Sockets open at once across the device ports. */
export const DEFAULT_MAX_CONNECTIONS = 100_000;
/**
 * Addresses the per-address rate does not apply to: the host itself. A packet from outside
 * cannot carry a loopback source (the kernel drops it), so what connects from there is a local
 * program: the simulator, a benchmark, a load balancer on the same host without PROXY protocol
 * (whose devices would otherwise share one bucket). The connection cap still applies to them.
 */
export const DEFAULT_CONNECT_RATE_EXEMPT = ['127.0.0.0/8', '::1/128'];
/** At most one log line about refusals per this long. */
const LOG_INTERVAL_MS = 10_000;
/** Buckets kept at most; past it an unknown address is admitted untracked (the cap still holds). */
const MAX_TRACKED_ADDRESSES = 200_000;

export interface ConnectionLimits {
  /** Connects per second per client address; 0 turns the per-address limit off. Default 20. */
  connectRatePerIp?: number;
  /** Bucket size per client address; default 100. */
  connectBurstPerIp?: number;
  /** Sockets open at once across the device ports; 0 means no cap. Default 100,000. */
  maxConnections?: number;
  /** CIDRs the per-address rate does not apply to; default loopback. `[]` exempts nothing. */
  rateExempt?: readonly string[];
}

/** Why a connection was refused before TLS: the `reason` label of the metric. */
export type AdmissionRefusal = 'rate-limit' | 'max-connections';

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * The key a client is limited under: IPv4 as is (IPv4-mapped IPv6 unwrapped), IPv6 by its /64,
 * the smallest network a host is usually given (RFC 6177), so one host cannot rotate addresses
 * inside its own prefix to escape the limit.
 */
export function rateKey(address: string): string {
  if (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4) return address.slice(7);
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** One per process: both device ports share the cap and the buckets. */
export class ConnectionAdmission {
  readonly rate: number;
  readonly burst: number;
  readonly maxConnections: number;
  private readonly exempt: TrustedProxies;
  private readonly buckets = new Map<string, Bucket>();
  private open = 0;
  private readonly log: Logger;
  private readonly refusals: ReturnType<Metrics['counter']> | undefined;
  private readonly sockets: ReturnType<Metrics['gauge']> | undefined;
  private nextLogAt = 0;
  private unlogged = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(limits: ConnectionLimits, logger: Logger, metrics?: Metrics) {
    this.rate = limits.connectRatePerIp ?? DEFAULT_CONNECT_RATE_PER_IP;
    this.burst = Math.max(1, limits.connectBurstPerIp ?? DEFAULT_CONNECT_BURST_PER_IP);
    this.maxConnections = limits.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    this.exempt = TrustedProxies.parse(
      limits.rateExempt ?? DEFAULT_CONNECT_RATE_EXEMPT,
      '--connect-rate-exempt',
    );
    this.log = logger.child({ context: 'admission' });
    this.refusals = metrics?.counter(
      'gatehouse_device_connections_refused_total',
      'Device connections refused before TLS, by listener and reason (rate-limit, max-connections).',
    );
    this.sockets = metrics?.gauge(
      'gatehouse_device_sockets',
      'TCP connections open on the device ports (counted against --max-connections).',
    );
    // Full buckets carry no information: drop them so the map holds only recent clients.
    this.sweeper = setInterval(() => this.sweep(), LOG_INTERVAL_MS);
    this.sweeper.unref();
  }

  /** Sockets open on the device ports now. */
  get openCount(): number {
    return this.open;
  }

  /**
   * Counts a new socket against the cap until it closes; destroys it and returns false when the
   * cap is reached. Called on the raw socket, before anything is read from it.
   */
  admitSocket(socket: Socket, listener: string): boolean {
    if (this.maxConnections > 0 && this.open >= this.maxConnections) {
      this.refuse(socket, listener, 'max-connections', socket.remoteAddress);
      return false;
    }
    this.open++;
    this.sockets?.inc();
    socket.once('close', () => {
      this.open--;
      this.sockets?.dec();
    });
    return true;
  }

  /**
   * Takes a token from the client address's bucket (the PROXY header's source behind a load
   * balancer); destroys the socket and returns false when the bucket is empty.
   */
  admitAddress(socket: Socket, listener: string, address: string | undefined): boolean {
    if (this.rate <= 0 || address === undefined) return true;
    if (this.exempt.size > 0 && this.exempt.has(address)) return true;
    const key = rateKey(address);
    const now = performance.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= MAX_TRACKED_ADDRESSES) return true;
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return true;
    }
    this.refuse(socket, listener, 'rate-limit', address);
    return false;
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private refuse(
    socket: Socket,
    listener: string,
    reason: AdmissionRefusal,
    address: string | undefined,
  ): void {
    socket.destroy();
    this.refusals?.inc({ listener, reason });
    this.unlogged++;
    const now = Date.now();
    if (now < this.nextLogAt) return;
    this.nextLogAt = now + LOG_INTERVAL_MS;
    this.log.warn(
      {
        listener,
        reason,
        remoteAddress: address,
        refused: this.unlogged,
        openSockets: this.open,
        limits: {
          connectRatePerIp: this.rate,
          connectBurstPerIp: this.burst,
          maxConnections: this.maxConnections,
        },
      },
      `device connections refused before TLS (${reason}); at most one such line per ${LOG_INTERVAL_MS / 1000} s`,
    );
    this.unlogged = 0;
  }

  private sweep(): void {
    const now = performance.now();
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.rate >= this.burst) this.buckets.delete(key);
    }
  }
}
