/**
 * `gatehouse serve`'s connection-limit flags with the built binary: bad values stop the start
 * with one line naming the flag, before the data folder is touched; given values (flag or
 * GATEHOUSE_* variable) reach the device ports: a cap of 2 and a burst of 3 refuse the
 * connections past them, counted in /metrics; and the HTTP listeners: a body cap, a headers
 * timeout on the REST port, a request timeout on the device HTTPS port.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';

import { serveRefused } from './helpers/cli.js';
import { killServeProcesses, startServeProcess } from './helpers/serve-process.js';

describe('gatehouse serve: connection limits', () => {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-limit-flags-'));
  after(() => {
    killServeProcesses();
    rmSync(root, { recursive: true, force: true });
  });

  const refusals: Array<{ args: string[]; env?: NodeJS.ProcessEnv; message: RegExp }> = [
    { args: ['--connect-rate-per-ip', '-1'], message: /--connect-rate-per-ip: '-1' is not a whole number/ },
    {
      args: ['--connect-burst-per-ip', '0'],
      message: /--connect-burst-per-ip: '0' is not a whole number of at least 1/,
    },
    { args: ['--max-connections', 'lots'], message: /--max-connections: 'lots' is not a whole number/ },
    { args: ['--max-inflight', '0'], message: /--max-inflight: '0' is not a whole number of at least 1/ },
    {
      args: ['--max-uncommitted-telemetry', '0'],
      message: /--max-uncommitted-telemetry: '0' is not a whole number of at least 1/,
    },
    { args: ['--max-write-buffer', '1GB'], message: /--max-write-buffer: '1GB' is not a size/ },
    {
      args: ['--max-write-buffer', '1024'],
      message: /--max-write-buffer: '1024' is not a size of at least 16KiB/,
    },
    { args: ['--send-timeout', '0'], message: /--send-timeout: '0' is not a whole number of at least 1/ },
    {
      args: ['--connect-rate-exempt', '10.0.0.0/33'],
      message: /--connect-rate-exempt: '10\.0\.0\.0\/33' is not/,
    },
    {
      args: ['--handshake-timeout', '0'],
      message: /--handshake-timeout: '0' is not a whole number of at least 1/,
    },
    { args: ['--connect-timeout', 'soon'], message: /--connect-timeout: 'soon' is not a whole number/ },
    {
      args: ['--max-packet-size', '100'],
      message: /--max-packet-size: '100' is not a size of at least 1KiB/,
    },
    {
      args: [],
      env: { GATEHOUSE_MAX_CONNECTIONS: '1.5' },
      message: /--max-connections: '1\.5' is not a whole number/,
    },
    {
      args: ['--http-headers-timeout', '0'],
      message: /--http-headers-timeout: '0' is not a whole number of at least 1/,
    },
    { args: ['--api-request-timeout', '2m'], message: /--api-request-timeout: '2m' is not a whole number/ },
    {
      args: [],
      env: { GATEHOUSE_DEVICE_REQUEST_TIMEOUT: '-5' },
      message: /--device-request-timeout: '-5' is not a whole number/,
    },
    {
      args: ['--api-body-limit', '8KiB'],
      message: /--api-body-limit: '8KiB' is not a size of at least 16KiB/,
    },
    { args: ['--api-body-limit', 'huge'], message: /--api-body-limit: 'huge' is not a size/ },
  ];
  for (const [i, c] of refusals.entries()) {
    it(`refuses ${c.args.join(' ') || JSON.stringify(c.env)}`, () => {
      const data = join(root, `r${i}`);
      const r = serveRefused(data, c.args, c.env);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /ERR_CLI_INVALID_OPTION/);
      assert.match(r.stderr, c.message);
      assert.equal(existsSync(data), false, 'the data folder is not created');
    });
  }

  it('--max-connections 2 and GATEHOUSE_CONNECT_BURST_PER_IP=3 with no exemption reach the device ports', async () => {
    const s = await startServeProcess({
      dataDir: join(root, 'running'),
      token: 'limits-flags-token-0123456789abcdef',
      args: ['--max-connections', '2', '--connect-rate-exempt', 'none', '--connect-rate-per-ip', '1'],
      env: { GATEHOUSE_CONNECT_BURST_PER_IP: '3' },
    });
    const open = (from: string): Promise<Socket> =>
      new Promise((resolve) => {
        const socket = connect({ host: '127.0.0.1', port: s.mqttPort, localAddress: from });
        socket.on('error', () => undefined);
        socket.once('connect', () => resolve(socket));
      });
    // The cap: two held, the third refused.
    const held = [await open('127.0.0.7'), await open('127.0.0.7')];
    const third = await open('127.0.0.8');
    await sleep(300);
    assert.equal(third.destroyed || third.readableEnded, true, 'the third connection was closed');
    assert.equal(held.filter((x) => x.destroyed).length, 0);
    for (const x of held) x.destroy();
    await sleep(200);
    // The burst: 127.0.0.7 has used 2 of its 3; one more, then refused.
    const next = await open('127.0.0.7');
    const over = await open('127.0.0.7');
    await sleep(300);
    assert.equal(next.destroyed, false);
    assert.equal(over.destroyed || over.readableEnded, true);
    next.destroy();
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(
      metrics,
      /gatehouse_device_connections_refused_total\{listener="mqtts",reason="max-connections"\} 1/,
    );
    assert.match(
      metrics,
      /gatehouse_device_connections_refused_total\{listener="mqtts",reason="rate-limit"\} 1/,
    );
    await s.stop();
  });

  it('--handshake-timeout 1 and GATEHOUSE_CONNECT_TIMEOUT=1 close a silent socket and a CONNECT-less TLS client in about 1 s', async () => {
    const s = await startServeProcess({
      dataDir: join(root, 'timeouts'),
      token: 'limits-flags-token-0123456789abcdef',
      args: ['--handshake-timeout', '1'],
      env: { GATEHOUSE_CONNECT_TIMEOUT: '1' },
    });
    const closedIn = (socket: Socket) =>
      new Promise<number>((resolve) => {
        const started = Date.now();
        socket.on('error', () => undefined);
        socket.resume();
        socket.once('close', () => resolve((Date.now() - started) / 1000));
      });
    const silent = connect({ host: '127.0.0.1', port: s.mqttPort });
    const tls = tlsConnect({ host: '127.0.0.1', port: s.mqttPort, rejectUnauthorized: false });
    await new Promise((resolve) => tls.once('secureConnect', resolve));
    const [a, b] = await Promise.all([closedIn(silent), closedIn(tls)]);
    assert.ok(a >= 0.8 && a < 4, `silent socket closed after ${a} s`);
    assert.ok(b >= 0.8 && b < 4, `TLS client without CONNECT closed after ${b} s`);
    await s.stop();
  });

  it('--api-body-limit 16KiB, GATEHOUSE_HTTP_HEADERS_TIMEOUT=1 and --device-request-timeout 1 reach the HTTP listeners', async () => {
    const free = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => free.once('listening', resolve));
    const httpsPort = (free.address() as AddressInfo).port;
    await new Promise((resolve) => free.close(resolve));
    const token = 'limits-flags-token-0123456789abcdef';
    const s = await startServeProcess({
      dataDir: join(root, 'http'),
      token,
      args: ['--api-body-limit', '16KiB', '--device-request-timeout', '1', '--https-port', String(httpsPort)],
      env: { GATEHOUSE_HTTP_HEADERS_TIMEOUT: '1' },
    });
    const put = (bytes: number) =>
      fetch(`${s.url}/api/enrollmentGroups/big`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ displayName: 'x'.repeat(bytes), attestation: { type: 'symmetricKey' } }),
      });
    const tooLarge = await put(17 * 1024);
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.headers.get('x-ms-error-code'), 'ERR_PAYLOAD_TOO_LARGE');
    // Under the cap the body reaches the service (which judges the name: not a 413).
    assert.notEqual((await put(8 * 1024)).status, 413);

    const closedIn = (socket: Socket, request: string) =>
      new Promise<{ seconds: number; answer: string }>((resolve) => {
        const started = Date.now();
        let answer = '';
        socket.on('error', () => undefined);
        socket.on('data', (d: Buffer) => (answer += d.toString()));
        socket.once('close', () => resolve({ seconds: (Date.now() - started) / 1000, answer }));
        socket.write(request);
      });
    // REST: headers never finished.
    const rest = connect({ host: '127.0.0.1', port: s.httpPort });
    // Device HTTPS: headers sent, the announced body never comes.
    const device = tlsConnect({ host: '127.0.0.1', port: httpsPort, rejectUnauthorized: false });
    await new Promise((resolve) => device.once('secureConnect', resolve));
    const [a, b] = await Promise.all([
      closedIn(rest, 'GET /api/application HTTP/1.1\r\nHost: x\r\n'),
      closedIn(
        device,
        'POST /devices/d1/messages/events?api-version=2020-09-30 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n',
      ),
    ]);
    assert.ok(a.seconds >= 0.8 && a.seconds < 4, `REST closed after ${a.seconds} s`);
    assert.match(a.answer, /^HTTP\/1\.1 408/);
    assert.ok(b.seconds >= 0.8 && b.seconds < 4, `device HTTPS closed after ${b.seconds} s`);
    assert.match(b.answer, /^HTTP\/1\.1 408/);
    await s.stop();
  });
});
