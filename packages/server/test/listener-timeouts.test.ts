/**
 * The deadlines of every listener, on the real server with its defaults, over real sockets
 * (HARDENING.md §8 C1, issue 13 §2): a TLS handshake not finished in 10 s (both device ports),
 * a CONNECT not sent 10 s after TLS, HTTP headers trickled for longer than 20 s (device HTTPS
 * and REST) are each closed by the server; a device request body trickled past the request
 * deadline is closed (the deadline shortened on a listener of its own), and an oversized REST
 * body is refused with 413 over a real connection. The slow cases run side by side.
 */
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';

import { createRootCa, createServerCertificate } from '@gatehouse/pki';
import { generate } from 'mqtt-packet';

import { startDeviceHttpsListener, type DeviceHttpsListener } from '../src/device-http/index.js';
import { captureLogger, FakeDpsHandler } from './helpers/gateway-harness.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

/** Resolves with the seconds until the server closed `socket`, trickling `drip` every 500 ms. */
function closedAfter(socket: Socket | TLSSocket, drip?: () => void, limitMs = 40_000): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (!socket.destroyed && drip) drip();
    }, 500);
    const limit = setTimeout(() => {
      clearInterval(timer);
      reject(new Error('not closed by the server'));
    }, limitMs);
    socket.on('error', () => undefined);
    socket.resume();
    socket.once('close', () => {
      clearInterval(timer);
      clearTimeout(limit);
      resolve((performance.now() - started) / 1000);
    });
  });
}

function tls(port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

const tcp = (port: number) => netConnect({ host: '127.0.0.1', port });

describe('listener deadlines, real server defaults', { concurrency: true, timeout: 90_000 }, () => {
  let server: TestServer;
  let proxied: TestServer;
  before(async () => {
    server = await startTestServer();
    // Behind --proxy-protocol the HTTPS server never listens itself (gateway/device-port.ts).
    proxied = await startTestServer({ proxyProtocol: 'v2', proxyTrusted: ['127.0.0.2/32'] });
  });
  after(async () => {
    await server?.stop();
    await proxied?.stop();
  });

  it('MQTT/TLS: a TLS handshake not finished within 10 s is closed', async () => {
    const s = tcp(server.mqtt.port);
    // A TLS record header and nothing more: the ClientHello never completes.
    s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
    const seconds = await closedAfter(s);
    assert.ok(seconds >= 9.5 && seconds < 14, `closed after ${seconds.toFixed(1)} s`);
  });

  it('HTTPS/WSS: a TLS handshake not finished within 10 s is closed', async () => {
    assert.ok(server.https);
    const s = tcp(server.https.port);
    const seconds = await closedAfter(s);
    assert.ok(seconds >= 9.5 && seconds < 14, `closed after ${seconds.toFixed(1)} s`);
  });

  it('[MQTT-3.1.0-1] MQTT/TLS: no CONNECT within 10 s of the handshake is closed', async () => {
    const s = await tls(server.mqtt.port);
    const seconds = await closedAfter(s);
    assert.ok(seconds >= 9.5 && seconds < 14, `closed after ${seconds.toFixed(1)} s`);
  });

  it('MQTT/TLS: half a CONNECT (a byte every 500 ms) is still closed at 10 s', async () => {
    const s = await tls(server.mqtt.port);
    const connect = generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: 'slow',
      clean: true,
      keepalive: 60,
    });
    let i = 0;
    const seconds = await closedAfter(s, () => {
      if (i < connect.length - 1) s.write(connect.subarray(i, ++i));
    });
    assert.ok(seconds >= 9.5 && seconds < 14, `closed after ${seconds.toFixed(1)} s`);
  });

  it('a device that finished its handshake and CONNECT is still served after both deadlines', async () => {
    const s = await tls(server.mqtt.port);
    const received: Buffer[] = [];
    s.on('data', (d: Buffer) => received.push(d));
    s.write(
      generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId: 'steady',
        clean: true,
        keepalive: 60,
        username: `${server.idScope}/registrations/steady/api-version=2019-03-31`,
      }),
    );
    await new Promise((r) => setTimeout(r, 12_000));
    s.write(generate({ cmd: 'pingreq' }));
    await new Promise((r) => setTimeout(r, 500));
    const bytes = Buffer.concat(received);
    // CONNACK 0 (20 02 00 00), then PINGRESP (d0 00).
    assert.equal(bytes.toString('hex'), '20020000d000');
    assert.equal(s.destroyed, false);
    s.destroy();
  });

  it('device HTTPS: headers trickled past 20 s are closed (slow-loris)', async () => {
    assert.ok(server.https);
    const s = await tls(server.https.port);
    s.write(
      'GET /0ne00000/registrations/x/operations/1?api-version=2021-06-01 HTTP/1.1\r\nHost: localhost\r\n',
    );
    let n = 0;
    const seconds = await closedAfter(s, () => s.write(`X-Slow-${n++}: 1\r\n`));
    assert.ok(seconds >= 19.5 && seconds < 25, `closed after ${seconds.toFixed(1)} s`);
  });

  it('device HTTPS with --proxy-protocol v2: headers trickled past 20 s are closed too', async () => {
    assert.ok(proxied.https);
    const s = await tls(proxied.https.port);
    s.write(
      'GET /0ne00000/registrations/x/operations/1?api-version=2021-06-01 HTTP/1.1\r\nHost: localhost\r\n',
    );
    let n = 0;
    const seconds = await closedAfter(s, () => s.write(`X-Slow-${n++}: 1\r\n`));
    assert.ok(seconds >= 19.5 && seconds < 25, `closed after ${seconds.toFixed(1)} s`);
  });

  it('REST: headers trickled past 20 s are closed (slow-loris)', async () => {
    const s = tcp(server.http.port);
    s.write('GET /api/application HTTP/1.1\r\nHost: localhost\r\n');
    let n = 0;
    const seconds = await closedAfter(s, () => s.write(`X-Slow-${n++}: 1\r\n`));
    assert.ok(seconds >= 19.5 && seconds < 25, `closed after ${seconds.toFixed(1)} s`);
  });

  it('REST: a body over 1 MiB over a real connection → 413 ERR_PAYLOAD_TOO_LARGE', async () => {
    const res = await fetch(`${server.baseUrl}/api/enrollmentGroups/big`, {
      method: 'PUT',
      headers: {
        authorization: 'Bearer test-admin-token-0123456789abcdef',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ padding: 'x'.repeat(2 * 1024 * 1024) }),
    });
    assert.equal(res.status, 413);
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'ERR_PAYLOAD_TOO_LARGE');
  });
});

describe('device HTTPS: the request deadline', () => {
  let listener: DeviceHttpsListener;
  const dps = new FakeDpsHandler();
  before(async () => {
    const ca = await createRootCa({ commonName: 'deadline-test-ca' });
    const cert = await createServerCertificate({
      commonName: 'localhost',
      dnsNames: ['localhost'],
      issuer: ca,
    });
    const logger = captureLogger().logger;
    listener = await startDeviceHttpsListener({
      host: '127.0.0.1',
      port: 0,
      key: cert.privateKey.toPem(),
      cert: cert.certificate.pem,
      gateway: { dps, logger },
      dpsHandler: dps,
      logger,
      requestTimeoutMs: 2_000,
    });
  });
  after(async () => listener?.close());

  it('a register body trickled past the deadline is answered 408 and closed, the handler never called', async () => {
    const s = await tls(listener.address().port);
    let answer = '';
    s.on('data', (d: Buffer) => (answer += d.toString()));
    s.write(
      'PUT /0ne00000/registrations/dev/register?api-version=2021-06-01 HTTP/1.1\r\nHost: localhost\r\n' +
        'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
    );
    const seconds = await closedAfter(s, () => s.write(' '), 10_000);
    assert.ok(seconds >= 1.5 && seconds < 5, `closed after ${seconds.toFixed(1)} s`);
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.equal(dps.calls.length, 0);
  });
});
