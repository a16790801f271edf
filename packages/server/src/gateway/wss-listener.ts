/**
 * MQTT over WebSockets (PROTOCOL.md §5): `wss://<host>:443/$iothub/websocket` with the
 * subprotocol `mqtt`, for DPS (MqttWs) and the hub alike. The HTTPS listener that owns
 * port 443 hands its `upgrade` events here; each accepted WebSocket becomes a byte stream
 * over binary frames served by `handleMqttStream`, exactly like a TLS socket on 8883, so
 * sessions, topic rules and limits are the same on both transports.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

import type { Certificate } from '@gatehouse/pki';
import { createWebSocketStream, WebSocketServer, type WebSocket } from 'ws';

import type { GatewayOptions } from './gateway-options.js';
import { DEFAULT_MAX_PACKET_BYTES, type MqttConnection } from './mqtt-connection.js';
import { handleMqttStream } from './mqtt-stream.js';
import { peerCertificates } from './peer-certificates.js';

/** The one WebSocket path of DPS and the hub (§5; the `$` is literal). */
export const MQTT_WS_PATH = '/$iothub/websocket';
/** The subprotocol the SDK offers and requires back in the 101 (§5). */
export const MQTT_WS_SUBPROTOCOL = 'mqtt';

/** How an upgrade ended, the `outcome` label of `gatehouse_wss_upgrades_total`. */
export type WsUpgradeOutcome =
  'accepted' | 'wrong-path' | 'no-subprotocol' | 'bad-handshake' | 'shutting-down';

export interface MqttWsEndpoint {
  /** The HTTPS server's `upgrade` listener. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Live MQTT-over-WebSocket connections. */
  readonly connectionCount: number;
  /** Refuses new upgrades (503, like a closing endpoint); live connections stay (a drain). */
  stopAccepting(): void;
  /** Closes every live connection (the node is unready); returns how many. */
  disconnectAll(detail: string): number;
  /** Refuses new upgrades, ends every connection (`graceMs`, default 2 s), then terminates the rest. */
  close(graceMs?: number): Promise<void>;
}

/** The first value of `Sec-WebSocket-Protocol` lists, split on commas (RFC 6455 §4.1). */
function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol'];
  if (header === undefined) return [];
  return header
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/** The path of the request target, percent-decoded (`/%24iothub/websocket` is the same path). */
function requestPath(req: IncomingMessage): string {
  const target = req.url ?? '';
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Answers an upgrade with a plain HTTP error (in the hub's JSON error style) and closes. */
function refuseUpgrade(socket: Duplex, status: number, hubCode: string, text: string): void {
  const body = JSON.stringify({ Message: `ErrorCode:${hubCode};${text}`, ExceptionMessage: '' });
  socket.on('error', () => undefined);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
      body,
  );
  const timer = setTimeout(() => socket.destroy(), 1_000);
  socket.once('close', () => clearTimeout(timer));
}

/**
 * @param clientAddress the device's address for a TLS socket (the PROXY v2 source behind a
 * load balancer, gateway/device-port.ts); default the peer address.
 */
export function createMqttWsEndpoint(
  options: GatewayOptions,
  clientAddress: (socket: Socket) => string | undefined = (socket) => socket.remoteAddress,
): MqttWsEndpoint {
  const log = options.logger.child({ listener: 'wss' });
  const upgrades = options.metrics?.counter(
    'gatehouse_wss_upgrades_total',
    'WebSocket upgrades on the device HTTPS port (PROTOCOL.md §5) by outcome.',
  );
  const count = (outcome: WsUpgradeOutcome) => upgrades?.inc({ outcome });
  const live = new Set<MqttConnection>();
  let closing = false;

  const wss = new WebSocketServer({
    noServer: true,
    // The SDK offers permessage-deflate; declining it keeps frames bounded (no inflate bombs).
    perMessageDeflate: false,
    // MQTT.js writes one packet per frame or less; MqttConnection enforces the packet limit
    // itself, so the frame cap only has to be above it (a violation then closes the same way
    // as over TLS).
    maxPayload: 2 * (options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES),
    handleProtocols: (protocols) => (protocols.has(MQTT_WS_SUBPROTOCOL) ? MQTT_WS_SUBPROTOCOL : false),
  });
  wss.on('wsClientError', (err: Error, socket: Duplex, req: IncomingMessage) => {
    count('bad-handshake');
    log.info({ err: err.message, remoteAddress: clientAddress(req.socket) }, 'websocket handshake refused');
    refuseUpgrade(socket, 400, 'ArgumentInvalid', err.message);
  });

  function accept(ws: WebSocket, req: IncomingMessage): void {
    const socket = req.socket as TLSSocket;
    let certificates: Certificate[] = [];
    try {
      certificates = peerCertificates(socket);
    } catch (err) {
      log.warn(
        { err, remoteAddress: clientAddress(socket) },
        'client certificate chain could not be parsed; ignored',
      );
    }
    socket.setNoDelay(true);
    const stream = createWebSocketStream(ws);
    const conn = handleMqttStream(
      stream,
      { peerCertificates: certificates, remoteAddress: clientAddress(socket), transport: 'mqtt-ws' },
      options,
    );
    live.add(conn);
    void conn.closed.then(() => live.delete(conn));
  }

  return {
    handleUpgrade(req, socket, head) {
      const remoteAddress = clientAddress(req.socket);
      if (closing) {
        count('shutting-down');
        refuseUpgrade(socket, 503, 'ServiceUnavailable', 'The server is shutting down.');
        return;
      }
      const path = requestPath(req);
      if (path !== MQTT_WS_PATH) {
        // ERR_WSS_PATH_NOT_FOUND
        count('wrong-path');
        log.info(
          { path: req.url, remoteAddress },
          `websocket upgrade refused: only ${MQTT_WS_PATH} is served`,
        );
        refuseUpgrade(socket, 404, 'NotFound', `WebSocket endpoint is ${MQTT_WS_PATH}.`);
        return;
      }
      if (!offeredProtocols(req).includes(MQTT_WS_SUBPROTOCOL)) {
        // ERR_WSS_SUBPROTOCOL_REQUIRED
        count('no-subprotocol');
        log.info(
          { offered: req.headers['sec-websocket-protocol'], remoteAddress },
          'websocket upgrade refused: the mqtt subprotocol was not offered',
        );
        refuseUpgrade(socket, 400, 'ArgumentInvalid', 'The WebSocket subprotocol must be mqtt.');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        count('accepted');
        log.debug({ remoteAddress }, 'websocket upgrade accepted');
        accept(ws, req);
      });
    },
    get connectionCount() {
      return live.size;
    },
    stopAccepting() {
      closing = true;
    },
    disconnectAll(detail) {
      const all = [...live];
      for (const conn of all) conn.close('server-shutdown', detail);
      return all.length;
    },
    async close(graceMs = 2_000) {
      closing = true;
      const all = [...live].map((conn) => conn.closed);
      for (const conn of live) conn.close('server-shutdown');
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([Promise.all(all), timeout]);
      clearTimeout(timer);
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
