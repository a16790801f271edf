/**
 * The device HTTPS port (443; PROTOCOL.md §2, §4, §5, §9): one TLS server for DPS over
 * HTTPS, the hub over HTTPS and MQTT over WebSockets, because the Azure SDKs hard-code 443
 * for all three. Like the MQTT listener it asks every client for a certificate and never
 * rejects one: chains are validated by the services, per enrollment or device.
 */
import { constants } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

import type { Certificate } from '@gatehouse/pki';
import type { Logger } from 'pino';

import type { ConnectionAdmission } from '../gateway/connection-admission.js';
import { listenDevicePort, type DevicePort, type ProxyProtocolOptions } from '../gateway/device-port.js';
import type { GatewayOptions } from '../gateway/gateway-options.js';
import { peerCertificates } from '../gateway/peer-certificates.js';
import { createMqttWsEndpoint } from '../gateway/wss-listener.js';
import type { Metrics } from '../metrics.js';
import type { DpsHandler } from '../provisioning/dps-handler.js';
import { deviceHttpMetrics, type DeviceHttpService } from './device-http-metrics.js';
import type { DeviceRequest, Served } from './device-request.js';
import { serveDps } from './dps-http.js';
import { deviceHttpError } from './errors.js';
import { hubErrorBody, serveHub } from './hub-http.js';
import type { HubHttpHandler } from './hub-http-handler.js';
import { sendJson } from './http-reply.js';
import { tlsProfile, type TlsVersions } from '../gateway/tls-profile.js';

/**
 * No TLS session tickets, as on the MQTT/TLS listener: a resumed session carries only the
 * client's leaf certificate (OpenSSL keeps no peer chain in a session), so the revocation check
 * would no longer see the intermediate CAs the device sent, and a device below a revoked
 * intermediate got back in by resuming (HARDENING.md §8 R3). A client offering a ticket gets a
 * full handshake with its chain.
 */
const SECURE_OPTIONS = constants.SSL_OP_NO_TICKET;
/** Time a device has to send a request's headers. */
export const DEVICE_HEADERS_TIMEOUT_MS = 20_000;
/** Time a device has to send a whole request (256 KiB at most). */
export const DEVICE_REQUEST_TIMEOUT_MS = 60_000;

export interface DeviceHttpsListenerOptions {
  /** Default: all interfaces. */
  host?: string;
  /** 443 for the Azure SDKs; 0 picks a free port (tests), read back with `address()`. */
  port: number;
  /** Server private key (PEM), the MQTT listener's. */
  key: string | Buffer;
  /** Server certificate and intermediates (PEM), the MQTT listener's. */
  cert: string | Buffer;
  /** What MQTT over WebSockets needs: the same object the MQTT/TLS listener gets. */
  gateway: GatewayOptions;
  /** DPS over HTTPS (usually `gateway.dps`). */
  dpsHandler: DpsHandler;
  /** The hub over HTTPS; without it `/devices/…` answers 404. */
  hubHttp?: HubHttpHandler;
  logger: Logger;
  metrics?: Metrics;
  /** TLS handshake deadline; default 10 s. */
  handshakeTimeoutMs?: number;
  /** Time a client has to send a request's headers; default 20 s. */
  headersTimeoutMs?: number;
  /** Time a client has to send a whole request; default 60 s. */
  requestTimeoutMs?: number;
  /** TLS versions (gateway/tls-profile.ts); default 1.2 and 1.3. */
  tlsVersions?: TlsVersions;
  /** How long `close()` lets connections end before destroying them; default 2 s. */
  closeGraceMs?: number;
  /** `--proxy-protocol v2`: read a PROXY v2 header before TLS (gateway/device-port.ts). */
  proxyProtocol?: ProxyProtocolOptions;
  /** Connect rate and connection cap shared by the device ports (gateway/connection-admission.ts). */
  admission?: ConnectionAdmission;
}

export interface DeviceHttpsListener {
  address(): AddressInfo;
  /** Live MQTT-over-WebSocket connections. */
  readonly webSocketCount: number;
  /** Stops accepting new connections; live WebSocket sessions and requests stay. */
  stopAccepting(): void;
  /** Closes every MQTT-over-WebSocket session and idle keep-alive connection; returns the sessions closed. */
  disconnectAll(detail: string): number;
  /** Stops accepting, ends WebSocket sessions and idle keep-alive connections, resolves once all are closed. */
  close(): Promise<void>; /** Serves another certificate to new connections from now on (the shared identity was reissued). */
  setCertificate(key: string, cert: string): void;
}

/** The one-line reason a port could not be bound, with the fix (printed as is by the CLI). */
export function listenError(err: NodeJS.ErrnoException, host: string | undefined, port: number): Error {
  const where = host && host !== '0.0.0.0' && host !== '::' ? `${host}:${port}` : `port ${port}`;
  const sdk = port === 443 ? ' (the Azure SDKs only use 443)' : ' (the Azure SDKs use 443)';
  switch (err.code) {
    case 'EACCES':
      return deviceHttpError(
        'ERR_HTTPS_PORT_PERMISSION',
        `${where} needs root or CAP_NET_BIND_SERVICE: run \`sudo setcap cap_net_bind_service=+ep $(which node)\` or pass --https-port 8443${sdk}`,
        { cause: err },
      );
    case 'EADDRINUSE':
      return deviceHttpError(
        'ERR_HTTPS_PORT_IN_USE',
        `${where} is already in use by another process: stop it (\`sudo ss -ltnp 'sport = :${port}'\` shows which) or pass --https-port 8443${sdk}`,
        { cause: err },
      );
    default:
      return deviceHttpError(
        'ERR_HTTPS_LISTEN_FAILED',
        `cannot listen on ${where} for device HTTPS/WebSockets: ${err.message.replace(/\s+/g, ' ')}`,
        { cause: err },
      );
  }
}

/**
 * Starts the device HTTPS listener. Rejects with a one-line error (code `ERR_HTTPS_PORT_*`)
 * when the port cannot be bound; the caller may print it and keep its other listeners.
 */
export async function startDeviceHttpsListener(
  options: DeviceHttpsListenerOptions,
): Promise<DeviceHttpsListener> {
  const log = options.logger.child({ listener: 'https' });
  const metrics = deviceHttpMetrics(options.metrics);
  const gatewayMetrics = options.gateway.metrics ?? options.metrics;
  // Bound below; until then no connection exists to ask about.
  let port: DevicePort | undefined = undefined;
  const clientAddress = (socket: Socket) => (port ? port.clientAddress(socket) : socket.remoteAddress);
  const ws = createMqttWsEndpoint(
    gatewayMetrics ? { ...options.gateway, metrics: gatewayMetrics } : options.gateway,
    clientAddress,
  );
  const sockets = new Set<Socket>();
  // Parsed once per TLS connection: keep-alive clients send many requests on one.
  const chains = new WeakMap<object, Certificate[]>();

  function chainOf(socket: TLSSocket): Certificate[] {
    let chain = chains.get(socket);
    if (!chain) {
      try {
        chain = peerCertificates(socket);
      } catch (err) {
        log.warn(
          { err, remoteAddress: clientAddress(socket) },
          'client certificate chain could not be parsed; ignored',
        );
        chain = [];
      }
      chains.set(socket, chain);
    }
    return chain;
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket as TLSSocket;
    let service: DeviceHttpService = 'none';
    let served: Served;
    try {
      const url = new URL(req.url ?? '/', 'https://device.invalid');
      const remoteAddress = clientAddress(socket);
      const request: DeviceRequest = {
        req,
        res,
        pathname: url.pathname,
        query: url.searchParams,
        clientCertificates: chainOf(socket),
        log,
        ...(remoteAddress !== undefined ? { remoteAddress } : {}),
      };
      if (url.pathname.startsWith('/devices/')) {
        service = 'hub';
        served = await serveHub(request, options.hubHttp);
      } else {
        // Everything else is DPS's (`/<idScope>/registrations/…`); it answers 404 itself.
        service = 'dps';
        served = await serveDps(request, options.dpsHandler);
      }
    } catch (err) {
      // ERR_DEVICE_HTTP_INTERNAL: a route is written never to throw; this is the last guard.
      log.error({ err, url: req.url }, 'device https request failed');
      req.resume();
      sendJson(res, 500, hubErrorBody('ServerError', 'Internal server error.'));
      served = { route: 'unknown', status: 500 };
    }
    // Status 0: the request broke off before an answer (aborted, or an endless body).
    metrics.request(service, served.route, served.status);
  }

  const server = createServer(
    {
      key: options.key,
      cert: options.cert,
      // Ask for the device chain, never reject it: DPS and the hub validate it (§7).
      requestCert: true,
      rejectUnauthorized: false,
      ...tlsProfile(options.tlsVersions, SECURE_OPTIONS),
      handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
      // Device requests are small; a slow-loris client is dropped. Node checks the deadlines
      // every connectionsCheckingInterval (default 30 s): every second.
      // Node requires headersTimeout ≤ requestTimeout.
      headersTimeout: Math.min(
        options.headersTimeoutMs ?? DEVICE_HEADERS_TIMEOUT_MS,
        options.requestTimeoutMs ?? DEVICE_REQUEST_TIMEOUT_MS,
      ),
      requestTimeout: options.requestTimeoutMs ?? DEVICE_REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => void onRequest(req, res),
  );
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
    log.debug({ err: err.message, remoteAddress: clientAddress(socket) }, 'tls handshake failed');
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // headersTimeout / requestTimeout passed (a slow client): 408, as Node itself answers.
    // Node's code, matched as a pattern: the errors table lists only Gatehouse's own codes.
    const timeout = /^ERR_HTTP_REQUEST_TIMEOUT$/.test(err.code ?? '');
    log.debug({ err: err.message }, timeout ? 'http request too slow' : 'malformed http request');
    const status = timeout ? '408 Request Timeout' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    else socket.destroy();
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    ws.handleUpgrade(req, socket, head),
  );

  const bound = await listenDevicePort(server, {
    port: options.port,
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.proxyProtocol ? { proxyProtocol: options.proxyProtocol } : {}),
    ...(options.admission ? { admission: options.admission } : {}),
    ...(options.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: options.handshakeTimeoutMs } : {}),
    logger: options.logger,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    name: 'https',
  }).catch((err: NodeJS.ErrnoException) => {
    throw listenError(err, options.host, options.port);
  });
  port = bound;
  server.on('error', (err) => log.error({ err }, 'device https listener error'));
  const address = bound.address();
  log.info(
    { host: address.address, port: address.port },
    'device https listening (DPS, hub, MQTT over WebSockets)',
  );

  let closing: Promise<void> | undefined;
  // Resolves once every connection accepted on the port has closed.
  let stopped: Promise<void> | undefined;
  const stopAccepting = () => (stopped ??= bound.close());
  return {
    address: () => address,
    setCertificate: (key, cert) =>
      server.setSecureContext({ key, cert, ...tlsProfile(options.tlsVersions, SECURE_OPTIONS) }),
    get webSocketCount() {
      return ws.connectionCount;
    },
    stopAccepting() {
      void stopAccepting();
      // A kept-alive HTTPS connection could still ask for a WebSocket upgrade.
      ws.stopAccepting();
    },
    disconnectAll(detail) {
      server.closeIdleConnections();
      return ws.disconnectAll(detail);
    },
    close() {
      closing ??= (async () => {
        const closed = stopAccepting();
        server.closeIdleConnections();
        const grace = options.closeGraceMs ?? 2_000;
        await ws.close(grace);
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, grace)));
        await Promise.race([closed, timeout]);
        clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        await closed;
        log.info('device https listener closed');
      })();
      return closing;
    },
  };
}
