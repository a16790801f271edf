/**
 * Where a device TLS server (MQTT 8883, HTTPS/WSS 443) listens. Without PROXY protocol the TLS
 * server binds the port itself. With `--proxy-protocol v2` a plain TCP server binds it, reads
 * the PROXY v2 header from the raw socket (proxy-protocol.ts), puts back the bytes that follow
 * (the TLS ClientHello) and then hands the socket to TLS with `emit('connection')`, which
 * Node documents for exactly this ("This event can also be explicitly emitted by users to
 * inject connections into the TLS server", node:tls, Event 'connection'; CLUSTER.md §2a).
 *
 * The address the rest of the server records for a device is `clientAddress(tlsSocket)`: the
 * header's source for relayed connections, the peer itself otherwise.
 */
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';

import type { Logger } from 'pino';

import { GatehouseError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { ConnectionAdmission } from './connection-admission.js';
import { gatewayError } from './errors.js';
import {
  parseProxyV2,
  PROXY_V2_DEFAULT_MAX_LENGTH,
  startsLikeProxyV2,
  type ProxyHeaderV2,
} from './proxy-protocol.js';
import type { TrustedProxies } from './proxy-trust.js';

/** `--proxy-protocol v2` with its trusted sources. */
export interface ProxyProtocolOptions {
  trusted: TrustedProxies;
  /** How long a trusted peer has to send the whole header; default 3 s (spec §2: "at least 3 seconds"). */
  headerTimeoutMs?: number;
  /** Largest `len` accepted; default 1024. */
  maxLength?: number;
}

export interface DevicePortOptions {
  port: number;
  host?: string;
  /** Without it the TLS server binds the port itself and nothing changes. */
  proxyProtocol?: ProxyProtocolOptions;
  logger: Logger;
  metrics?: Metrics;
  /** `listener` label of the metrics and logs: `mqtts` or `https`. */
  name: string;
  /** Connect rate and connection cap, shared by the device ports; default: one of its own with the defaults. */
  admission?: ConnectionAdmission;
  /** Time from the hand-over to TLS until the handshake is done; default 10 s. */
  handshakeTimeoutMs?: number;
}

/**
 * Node's `handshakeTimeout` is an inactivity timer that does not fire for a client that sends
 * nothing, or half a ClientHello, after connecting (measured on Node 20): the deadline is
 * kept here, on the raw socket, from the moment TLS gets it until TLS reports it secure.
 */
function handshakeDeadline(tls: TlsServer, timeoutMs: number, log: Logger): (socket: Socket) => void {
  const pending = new Map<string, NodeJS.Timeout>();
  tls.on('secureConnection', (socket: Socket) => {
    const tuple = tupleOf(socket);
    clearTimeout(pending.get(tuple));
    pending.delete(tuple);
  });
  return (socket) => {
    const tuple = tupleOf(socket);
    const timer = setTimeout(() => {
      pending.delete(tuple);
      log.debug({ remoteAddress: socket.remoteAddress }, `no TLS handshake within ${timeoutMs} ms; closed`);
      socket.destroy();
    }, timeoutMs);
    timer.unref();
    pending.set(tuple, timer);
    socket.once('close', () => {
      if (pending.get(tuple) !== timer) return;
      clearTimeout(timer);
      pending.delete(tuple);
    });
  };
}

export interface DevicePort {
  address(): AddressInfo;
  /** The device's address: from the PROXY header when the connection came through a proxy. */
  clientAddress(socket: Socket): string | undefined;
  /** Stops accepting and resolves once every connection accepted on the port has closed. */
  close(): Promise<void>;
}

/** A connection's 4-tuple, identical on the raw socket and on the TLS socket wrapping it. */
function tupleOf(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}|${socket.localAddress}|${socket.localPort}`;
}

function listen(server: NetServer | TlsServer, port: number, host: string | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Binds the device port for `tls`. Rejects with the listen error as is (the callers turn
 * EADDRINUSE/EACCES into their own one-line messages).
 *
 * A plain TCP server always binds the port, so that every connection passes admission
 * (connection-admission.ts) on the raw socket, before TLS sees a byte: the cap first, then the
 * client address's connect rate (after the PROXY header, whose source is the client's address).
 */
export async function listenDevicePort(tls: TlsServer, options: DevicePortOptions): Promise<DevicePort> {
  const proxy = options.proxyProtocol;
  const admission = options.admission ?? new ConnectionAdmission({}, options.logger, options.metrics);
  const ownAdmission = options.admission === undefined;
  const deadline = handshakeDeadline(
    tls,
    options.handshakeTimeoutMs ?? 10_000,
    options.logger.child({ listener: options.name }),
  );
  if (!proxy) {
    const front = createServer({ allowHalfOpen: false, noDelay: true }, (socket) => {
      if (!admission.admitSocket(socket, options.name)) return;
      if (!admission.admitAddress(socket, options.name, socket.remoteAddress)) return;
      deadline(socket);
      tls.emit('connection', socket);
    });
    return frontPort(front, tls, options, () => {
      if (ownAdmission) admission.close();
    });
  }

  const log = options.logger.child({ listener: options.name, proxyProtocol: 'v2' });
  const refusals = options.metrics?.counter(
    'gatehouse_proxy_protocol_refusals_total',
    'Connections closed before TLS by the PROXY v2 reader, by listener and code.',
  );
  const accepted = options.metrics?.counter(
    'gatehouse_proxy_protocol_connections_total',
    'Connections handed to TLS by the PROXY v2 reader, by listener and command (proxy, local, direct).',
  );
  const clients = new Map<string, string>();
  const reading = new Set<Socket>();
  const timeoutMs = proxy.headerTimeoutMs ?? 3_000;
  const maxLength = proxy.maxLength ?? PROXY_V2_DEFAULT_MAX_LENGTH;

  function refuse(socket: Socket, err: GatehouseError): void {
    refusals?.inc({ listener: options.name, code: err.code });
    log.warn(
      { code: err.code, reason: err.message, remoteAddress: socket.remoteAddress },
      'connection refused',
    );
    socket.destroy();
  }

  function handOver(socket: Socket, rest: Buffer, header: ProxyHeaderV2 | undefined): void {
    const source = header?.source;
    if (!admission.admitAddress(socket, options.name, source?.address ?? socket.remoteAddress)) return;
    accepted?.inc({ listener: options.name, command: header?.command ?? 'direct' });
    if (source) {
      const tuple = tupleOf(socket);
      clients.set(tuple, source.address);
      socket.once('close', () => clients.delete(tuple));
      log.debug({ remoteAddress: socket.remoteAddress, client: source.address }, 'proxied connection');
    }
    socket.pause();
    if (rest.length > 0) socket.unshift(rest);
    deadline(socket);
    tls.emit('connection', socket);
  }

  function onConnection(socket: Socket): void {
    if (!admission.admitSocket(socket, options.name)) return;
    const trusted = proxy!.trusted.has(socket.remoteAddress);
    let bytes: Buffer = Buffer.alloc(0);
    reading.add(socket);
    const done = () => {
      reading.delete(socket);
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
    };
    const fail = (err: GatehouseError) => {
      done();
      refuse(socket, err);
    };
    const timer = setTimeout(
      () =>
        fail(
          gatewayError(
            'ERR_PROXY_HEADER_TRUNCATED',
            `no complete PROXY v2 header within ${timeoutMs} ms (${bytes.length} bytes received)`,
          ),
        ),
      timeoutMs,
    );
    const onEnd = () => {
      if (bytes.length === 0) {
        // Connected and left without a byte (a TCP health check, a client that gave up):
        // nothing was refused.
        done();
        log.debug({ remoteAddress: socket.remoteAddress }, 'connection closed before any byte');
        socket.destroy();
        return;
      }
      fail(
        gatewayError(
          'ERR_PROXY_HEADER_TRUNCATED',
          `the connection ended after ${bytes.length} bytes, inside the PROXY v2 header`,
        ),
      );
    };
    const onError = () => {
      done();
      socket.destroy();
    };
    const onData = (chunk: Buffer) => {
      bytes = bytes.length === 0 ? chunk : Buffer.concat([bytes, chunk]);
      if (!trusted) {
        // A direct client: its first byte is a TLS record. Only the signature is refused
        // (spec §5); anything else goes to TLS, which answers it as it answers any client.
        if (!startsLikeProxyV2(bytes)) {
          done();
          handOver(socket, bytes, undefined);
        } else if (bytes.length >= 12) {
          fail(
            gatewayError(
              'ERR_PROXY_UNTRUSTED_PEER',
              `PROXY v2 header from ${socket.remoteAddress}, which is not in --proxy-trusted`,
            ),
          );
        }
        return;
      }
      try {
        const result = parseProxyV2(bytes, maxLength);
        if (!result.complete) return;
        done();
        handOver(socket, bytes.subarray(result.header.headerBytes), result.header);
      } catch (err) {
        if (err instanceof GatehouseError) fail(err);
        else throw err;
      }
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.on('error', onError);
  }

  const front = createServer({ allowHalfOpen: false, noDelay: true }, onConnection);
  log.info({ trusted: proxy.trusted.ranges }, 'reading PROXY v2 headers before TLS');
  return frontPort(
    front,
    tls,
    options,
    () => {
      for (const socket of reading) socket.destroy();
      if (ownAdmission) admission.close();
    },
    (socket) => clients.get(tupleOf(socket)) ?? socket.remoteAddress,
  );
}

/**
 * Listens with `front` and hands its sockets to `tls`. noDelay as the HTTPS server would set on
 * the sockets it accepts itself: device requests and MQTT packets are small, Nagle would delay
 * them.
 */
async function frontPort(
  front: NetServer,
  tls: TlsServer,
  options: DevicePortOptions,
  onClose: () => void,
  clientAddress: (socket: Socket) => string | undefined = (socket) => socket.remoteAddress,
): Promise<DevicePort> {
  await listen(front, options.port, options.host);
  // An HTTP server starts tracking its connections (headersTimeout, requestTimeout,
  // closeIdleConnections) on 'listening'; it never listens itself here, so it is told.
  tls.emit('listening');
  const log = options.logger.child({ listener: options.name });
  front.on('error', (err) => log.error({ err }, 'listener error'));
  const address = front.address() as AddressInfo;
  return {
    address: () => address,
    clientAddress,
    close: () =>
      new Promise<void>((resolve) => {
        front.close(() => resolve());
        onClose();
        // Not listening itself; this ends the HTTP server's idle keep-alive connections (https).
        tls.close(() => undefined);
      }),
  };
}
