/**
 * `--proxy-protocol v2` on the real device listeners (MQTT/TLS and HTTPS/WSS on port 0, real
 * TLS, a throwaway PKI): 127.0.0.2 plays the trusted load balancer, 127.0.0.1 a device that
 * connects directly. The address the services see is the header's source; every refusal
 * closes the socket before TLS, with its code logged and counted.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';

import { createRootCa, createServerCertificate, type Issued } from '@gatehouse/pki';
import { MqttClient } from 'mqtt';
import WebSocket from 'ws';

import { startDeviceHttpsListener, type DeviceHttpsListener } from '../src/device-http/index.js';
import { startMqttTlsListener, type MqttListener } from '../src/gateway/index.js';
import { encodeProxyV2, PROXY_V2_SIGNATURE } from '../src/gateway/proxy-protocol.js';
import { TrustedProxies } from '../src/gateway/proxy-trust.js';
import { Metrics } from '../src/metrics.js';
import { captureLogger, FakeDpsHandler, type CapturedLogger } from './helpers/gateway-harness.js';
import {
  closedByServer,
  DIRECT_ADDRESS,
  proxiedTls,
  PROXY_ADDRESS,
  rawConnection,
} from './helpers/proxy-client.js';

const SCOPE = '0ne00000A1';
const DEVICE_ADDRESS = '203.0.113.7';
const header = (port: number) =>
  encodeProxyV2({
    command: 'proxy',
    source: { address: DEVICE_ADDRESS, port: 50123 },
    destination: { address: '10.0.0.5', port },
  });

describe('gateway: PROXY protocol v2 before TLS', () => {
  let serverCa: Issued;
  let mqtts: MqttListener;
  let https: DeviceHttpsListener;
  let log: CapturedLogger;
  const handler = new FakeDpsHandler();
  const metrics = new Metrics();

  before(async () => {
    serverCa = await createRootCa({ commonName: 'proxy-test-server-ca' });
    const server = await createServerCertificate({
      commonName: 'localhost',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      issuer: serverCa,
    });
    log = captureLogger();
    const proxyProtocol = { trusted: TrustedProxies.parse([`${PROXY_ADDRESS}/32`]), headerTimeoutMs: 300 };
    const common = {
      host: '127.0.0.1',
      port: 0,
      key: server.privateKey.toPem(),
      cert: server.certificate.pem,
    };
    mqtts = await startMqttTlsListener({
      ...common,
      dps: handler,
      logger: log.logger,
      metrics,
      proxyProtocol,
    });
    https = await startDeviceHttpsListener({
      ...common,
      gateway: { dps: handler, logger: log.logger, metrics },
      dpsHandler: handler,
      logger: log.logger,
      metrics,
      proxyProtocol,
    });
  });

  after(async () => {
    await mqtts?.close();
    await https?.close();
  });

  /** Connects an MQTT.js DPS client over `prefix` + TLS, registers once, returns what DPS saw. */
  async function registerThrough(prefix: Buffer, from: string): Promise<string | undefined> {
    const registrationId = `proxied-${handler.calls.length}`;
    const client = new MqttClient(
      () => proxiedTls(mqtts.address().port, prefix, { ca: serverCa.certificate.pem }, from),
      {
        clientId: registrationId,
        username: `${SCOPE}/registrations/${registrationId}/api-version=2019-03-31`,
        protocolVersion: 4,
        reconnectPeriod: 0,
        keepalive: 60,
      },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
        client.once('close', () => reject(new Error('closed before CONNACK')));
      });
      const before = handler.calls.length;
      await client.subscribeAsync('$dps/registrations/res/#');
      const answered = new Promise<void>((resolve) => client.once('message', () => resolve()));
      await client.publishAsync(
        `$dps/registrations/PUT/iotdps-register/?$rid=1`,
        JSON.stringify({ registrationId }),
      );
      await answered;
      return handler.calls[before]?.ctx.remoteAddress;
    } finally {
      await client.endAsync();
    }
  }

  it('records the header’s source address for a relayed MQTT/TLS device', async () => {
    assert.equal(await registerThrough(header(8883), PROXY_ADDRESS), DEVICE_ADDRESS);
    const accepted = log.lines.find(
      (l) => l['msg'] === 'dps connection accepted' && l['remoteAddress'] === DEVICE_ADDRESS,
    );
    assert.ok(accepted, 'the connection log names the device, not the proxy');
    assert.match(
      metrics.render(),
      /gatehouse_proxy_protocol_connections_total\{command="proxy",listener="mqtts"\} 1/,
    );
  });

  it('accepts a LOCAL header (a health check) and keeps the real peer address', async () => {
    assert.equal(await registerThrough(encodeProxyV2({ command: 'local' }), PROXY_ADDRESS), PROXY_ADDRESS);
  });

  it('lets a device outside --proxy-trusted connect directly, without a header', async () => {
    assert.equal(await registerThrough(Buffer.alloc(0), DIRECT_ADDRESS), DIRECT_ADDRESS);
  });

  it('records the source address for DPS over HTTPS through the proxy', async () => {
    const port = https.address().port;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          method: 'PUT',
          path: `/${SCOPE}/registrations/https-proxied/register?api-version=2019-03-31`,
          headers: { 'content-type': 'application/json' },
          // Without an agent the request runs on this one connection.
          createConnection: () => proxiedTls(port, header(443), { ca: serverCa.certificate.pem }),
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ registrationId: 'https-proxied' }));
    });
    assert.equal(status, 202);
    const call = handler.calls.findLast((c) => c.ctx.registrationId === 'https-proxied');
    assert.equal(call?.ctx.remoteAddress, DEVICE_ADDRESS);
    assert.equal(call?.ctx.transport, 'https');
  });

  it('records the source address for MQTT over WebSockets through the proxy', async () => {
    const port = https.address().port;
    const ws = new WebSocket(`wss://localhost:${port}/$iothub/websocket`, 'mqtt', {
      createConnection: () => proxiedTls(port, header(443), { ca: serverCa.certificate.pem }),
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.close();
    assert.ok(
      log.lines.some(
        (l) => l['msg'] === 'websocket upgrade accepted' && l['remoteAddress'] === DEVICE_ADDRESS,
      ),
    );
  });

  const refusals: Array<{ name: string; bytes: Buffer; from?: string; end?: boolean; code: string }> = [
    {
      name: 'a bad signature',
      bytes: Buffer.concat([Buffer.from('0d0a0d0a000d0a5155495400', 'hex'), Buffer.alloc(8)]),
      code: 'ERR_PROXY_BAD_SIGNATURE',
    },
    {
      name: 'a v1 text header',
      bytes: Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.5 50123 8883\r\n'),
      code: 'ERR_PROXY_BAD_SIGNATURE',
    },
    {
      name: 'the wrong version',
      bytes: Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from('1111000c', 'hex'), Buffer.alloc(12)]),
      code: 'ERR_PROXY_BAD_VERSION',
    },
    {
      name: 'an unassigned command',
      bytes: Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from('2311000c', 'hex'), Buffer.alloc(12)]),
      code: 'ERR_PROXY_BAD_COMMAND',
    },
    {
      name: 'an unknown family',
      bytes: Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from('2151000c', 'hex'), Buffer.alloc(12)]),
      code: 'ERR_PROXY_BAD_FAMILY',
    },
    {
      name: 'a length beyond the bound',
      bytes: Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from('21110800', 'hex')]),
      code: 'ERR_PROXY_HEADER_TOO_LONG',
    },
    {
      name: 'an address block shorter than its family',
      bytes: Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from('21210004', 'hex'), Buffer.alloc(4)]),
      code: 'ERR_PROXY_ADDRESS_TRUNCATED',
    },
    {
      name: 'a header cut by the end of the connection',
      bytes: header(8883).subarray(0, 20),
      end: true,
      code: 'ERR_PROXY_HEADER_TRUNCATED',
    },
    {
      name: 'a header cut and then silence (timeout)',
      bytes: header(8883).subarray(0, 20),
      code: 'ERR_PROXY_HEADER_TRUNCATED',
    },
    {
      name: 'a header from an untrusted peer',
      bytes: header(8883),
      from: DIRECT_ADDRESS,
      code: 'ERR_PROXY_UNTRUSTED_PEER',
    },
  ];
  it('a connection that closes before sending a byte (a TCP check) is not counted as refused', async () => {
    const before = metrics.render().match(/gatehouse_proxy_protocol_refusals_total\{[^}]*\} \d+/g) ?? [];
    const socket = rawConnection(mqtts.address().port, Buffer.alloc(0));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.end();
    await closedByServer(socket);
    assert.deepEqual(
      metrics.render().match(/gatehouse_proxy_protocol_refusals_total\{[^}]*\} \d+/g) ?? [],
      before,
    );
  });

  for (const listener of ['mqtts', 'https'] as const) {
    for (const r of refusals) {
      it(`${listener}: ${r.name} → closed, ${r.code} logged and counted`, async () => {
        const port = listener === 'mqtts' ? mqtts.address().port : https.address().port;
        const counted = () =>
          Number(
            new RegExp(
              `gatehouse_proxy_protocol_refusals_total\\{code="${r.code}",listener="${listener}"\\} (\\d+)`,
            ).exec(metrics.render())?.[1] ?? 0,
          );
        const before = counted();
        const socket = rawConnection(port, r.bytes, r.from);
        if (r.end) socket.end();
        await closedByServer(socket);
        assert.equal(counted(), before + 1);
        const line = log.lines.findLast((l) => l['code'] === r.code && l['listener'] === listener);
        assert.equal(line?.['msg'], 'connection refused');
        assert.ok(String(line?.['reason']).length > 0, 'the reason is logged');
      });
    }

    it(`${listener}: a trusted peer that starts TLS without a header → ERR_PROXY_HEADER_MISSING`, async () => {
      const port = listener === 'mqtts' ? mqtts.address().port : https.address().port;
      const tls = proxiedTls(port, Buffer.alloc(0), { ca: serverCa.certificate.pem }, PROXY_ADDRESS);
      const failed = new Promise<Error>((resolve) => tls.once('error', resolve));
      assert.match((await failed).message, /socket|ECONNRESET|disconnected/i);
      assert.ok(
        log.lines.some((l) => l['code'] === 'ERR_PROXY_HEADER_MISSING' && l['listener'] === listener),
      );
    });
  }
});
