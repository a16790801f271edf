/**
 * MQTT over TLS (port 8883; PROTOCOL.md §1.1, §3.1). DPS and hub share the listener; the
 * CONNECT username picks the service (dispatcher.ts).
 */
import { constants } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';

import type { Certificate } from '@gatehouse/pki';

import type { ConnectionAdmission } from './connection-admission.js';
import { listenDevicePort, type ProxyProtocolOptions } from './device-port.js';
import type { GatewayOptions } from './gateway-options.js';
import type { MqttConnection } from './mqtt-connection.js';
import { handleMqttStream } from './mqtt-stream.js';
import { peerCertificates } from './peer-certificates.js';
import { tlsProfile, type TlsVersions } from './tls-profile.js';

export interface MqttTlsListenerOptions extends GatewayOptions {
  /** Default: all interfaces. */
  host?: string;
  /** 0 picks a free port; read it back with `address()`. */
  port: number;
  /** Server private key (PEM). */
  key: string | Buffer;
  /** Server certificate, optionally followed by its intermediates (PEM). */
  cert: string | Buffer;
  /** TLS handshake deadline; default 10 s. */
  handshakeTimeoutMs?: number;
  /** TLS versions (tls-profile.ts); default 1.2 and 1.3. */
  tlsVersions?: TlsVersions;
  /** How long `close()` lets connections end before destroying them; default 2 s. */
  closeGraceMs?: number;
  /** `--proxy-protocol v2`: read a PROXY v2 header before TLS (device-port.ts). */
  proxyProtocol?: ProxyProtocolOptions;
  /** Connect rate and connection cap shared by the device ports (gateway/connection-admission.ts). */
  admission?: ConnectionAdmission;
}

export interface MqttListener {
  address(): AddressInfo;
  /** Live MQTT connections (after the TLS handshake). */
  readonly connectionCount: number;
  /** Stops accepting new connections; the live ones stay (a drain closes them at its pace). */
  stopAccepting(): void;
  /** Closes every live connection, DPS and hub alike (the node is unready); returns how many. */
  disconnectAll(detail: string): number;
  /** Stops accepting, ends every connection, resolves once all sockets are closed. */
  close(): Promise<void>; /** Serves another certificate to new connections from now on (the shared identity was reissued). */
  setCertificate(key: string, cert: string): void;
}

/**
 * No TLS session tickets: OpenSSL 3 keeps about 15 KiB per TLS 1.3 connection for the tickets
 * it issues after the handshake (docs/performance.md), and device SDKs open every connection
 * with a full handshake anyway (neither the Azure SDKs nor MQTT.js resume sessions). A client
 * that offers a ticket simply gets a full handshake.
 */
const SECURE_OPTIONS = constants.SSL_OP_NO_TICKET;

export async function startMqttTlsListener(options: MqttTlsListenerOptions): Promise<MqttListener> {
  const log = options.logger.child({ listener: 'mqtts' });
  const live = new Set<MqttConnection>();
  const sockets = new Set<Socket>();

  const server = createServer({
    key: options.key,
    cert: options.cert,
    // The device chain is validated by the service, per enrollment, against CAs the TLS layer
    // does not know (DESIGN.md security rules; PROTOCOL.md §1.1, §7.4): ask, never reject.
    requestCert: true,
    rejectUnauthorized: false,
    ...tlsProfile(options.tlsVersions, SECURE_OPTIONS),
    handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
  });

  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
    log.debug({ err: err.message, remoteAddress: port.clientAddress(socket) }, 'tls handshake failed');
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    socket.setNoDelay(true);
    let certificates: Certificate[] = [];
    try {
      certificates = peerCertificates(socket);
    } catch (err) {
      log.warn(
        { err, remoteAddress: port.clientAddress(socket) },
        'client certificate chain could not be parsed; ignored',
      );
    }
    const conn = handleMqttStream(
      socket,
      { peerCertificates: certificates, remoteAddress: port.clientAddress(socket), transport: 'mqtt' },
      options,
    );
    live.add(conn);
    void conn.closed.then(() => live.delete(conn));
  });

  const port = await listenDevicePort(server, {
    port: options.port,
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.proxyProtocol ? { proxyProtocol: options.proxyProtocol } : {}),
    ...(options.admission ? { admission: options.admission } : {}),
    ...(options.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: options.handshakeTimeoutMs } : {}),
    logger: options.logger,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    name: 'mqtts',
  });
  server.on('error', (err) => log.error({ err }, 'mqtts listener error'));
  const address = port.address();
  log.info({ host: address.address, port: address.port }, 'mqtts listening');

  let closing: Promise<void> | undefined;
  // Resolves once every connection accepted on the port has closed.
  let stopped: Promise<void> | undefined;
  const stopAccepting = () => (stopped ??= port.close());
  return {
    address: () => address,
    setCertificate: (key, cert) =>
      server.setSecureContext({ key, cert, ...tlsProfile(options.tlsVersions, SECURE_OPTIONS) }),
    get connectionCount() {
      return live.size;
    },
    stopAccepting() {
      void stopAccepting();
    },
    disconnectAll(detail) {
      const all = [...live];
      for (const conn of all) conn.close('server-shutdown', detail);
      return all.length;
    },
    close() {
      closing ??= (async () => {
        const closed = stopAccepting();
        for (const conn of live) conn.close('server-shutdown');
        const grace = options.closeGraceMs ?? 2_000;
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, grace)));
        await Promise.race([closed, timeout]);
        clearTimeout(timer);
        // Sockets still open: mid-handshake, or peers that ignore our end of the stream.
        for (const socket of sockets) socket.destroy();
        await closed;
        log.info('mqtts listener closed');
      })();
      return closing;
    },
  };
}
