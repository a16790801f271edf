/**
 * A client that talks like HAProxy in `mode tcp` with `send-proxy-v2`: a TCP connection from a
 * chosen loopback address (127.0.0.2 plays the load balancer, 127.0.0.1 a device that connects
 * directly), the PROXY v2 header first, then TLS.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export const PROXY_ADDRESS = '127.0.0.2';
export const DIRECT_ADDRESS = '127.0.0.1';

/** Opens TCP from `from`, writes `prefix` (a header, or any bytes) at once, and returns the socket. */
export function rawConnection(port: number, prefix: Buffer, from = PROXY_ADDRESS): Socket {
  const socket = netConnect({ host: '127.0.0.1', port, localAddress: from });
  socket.on('error', () => undefined);
  // Written before the connection is up: Node queues it, so it leaves as the first bytes.
  if (prefix.length > 0) socket.write(prefix);
  return socket;
}

/** `rawConnection` and then a TLS client over it, created synchronously (MQTT.js stream builders). */
export function proxiedTls(
  port: number,
  prefix: Buffer,
  tls: { ca: string; cert?: string; key?: string },
  from = PROXY_ADDRESS,
): TLSSocket {
  const tcp = rawConnection(port, prefix, from);
  return tlsConnect({ socket: tcp, servername: 'localhost', ...tls });
}

/** Resolves once the server closed the socket (or it errored), with the milliseconds it took. */
export function closedByServer(socket: Socket, timeoutMs = 5_000): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not close the connection')), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
    socket.resume();
  });
}
