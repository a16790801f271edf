/**
 * One transport suite (STYLE.md §9), run over MQTT/TLS (8883's listener) and MQTT over
 * WebSockets (the device HTTPS listener's `/$iothub/websocket`, PROTOCOL.md §5), both on
 * port 0 with MQTT.js and a fake DPS handler: the same DPS exchange, the same peer
 * certificates reaching the handler, the same refusals. Then the WebSocket-only refusals.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import WebSocket from 'ws';

import { startDeviceHttpsListener } from '../src/device-http/index.js';
import { startMqttTlsListener, type GatewayOptions } from '../src/gateway/index.js';
import { Metrics } from '../src/metrics.js';
import { captureLogger, FakeDpsHandler } from './helpers/gateway-harness.js';
import { createTransportPki, type TransportPki } from './helpers/transport-fixtures.js';

const SCOPE = '0ne00000A1';

interface RunningTransport {
  url: string;
  connectionCount(): number;
  close(): Promise<void>;
}

interface TransportUnderTest {
  name: 'mqtt' | 'mqtt-ws';
  start(pki: TransportPki, gateway: GatewayOptions): Promise<RunningTransport>;
}

const TRANSPORTS: TransportUnderTest[] = [
  {
    name: 'mqtt',
    async start(pki, gateway) {
      const listener = await startMqttTlsListener({
        ...gateway,
        host: '127.0.0.1',
        port: 0,
        key: pki.server.privateKey.toPem(),
        cert: pki.server.certificate.pem,
      });
      return {
        url: `mqtts://127.0.0.1:${listener.address().port}`,
        connectionCount: () => listener.connectionCount,
        close: () => listener.close(),
      };
    },
  },
  {
    name: 'mqtt-ws',
    async start(pki, gateway) {
      const listener = await startDeviceHttpsListener({
        host: '127.0.0.1',
        port: 0,
        key: pki.server.privateKey.toPem(),
        cert: pki.server.certificate.pem,
        gateway,
        dpsHandler: gateway.dps,
        logger: gateway.logger,
        ...(gateway.metrics ? { metrics: gateway.metrics } : {}),
      });
      return {
        url: `wss://127.0.0.1:${listener.address().port}/$iothub/websocket`,
        connectionCount: () => listener.webSocketCount,
        close: () => listener.close(),
      };
    },
  },
];

function transportSuite(transport: TransportUnderTest): void {
  describe(`transport suite over ${transport.name}`, () => {
    let pki: TransportPki;
    let running: RunningTransport;
    const handler = new FakeDpsHandler();
    const metrics = new Metrics();
    const log = captureLogger();

    before(async () => {
      pki = await createTransportPki();
      running = await transport.start(pki, { dps: handler, logger: log.logger, metrics });
    });

    after(async () => {
      await running?.close();
    });

    async function connect(registrationId: string, identity: Partial<IClientOptions>): Promise<MqttClient> {
      const client = mqtt.connect(running.url, {
        ca: pki.serverCa.certificate.pem,
        clientId: registrationId,
        username: `${SCOPE}/registrations/${registrationId}/api-version=2019-03-31&ClientVersion=azure-iot-provisioning-device%2F1.9.1`,
        protocolVersion: 4,
        clean: true,
        keepalive: 180,
        reconnectPeriod: 0,
        rejectUnauthorized: true,
        servername: 'localhost',
        ...identity,
      });
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
      return client;
    }

    const withCert = () => ({ cert: pki.device.certificate.pem, key: pki.device.privateKey.toPem() });

    async function request(client: MqttClient, topic: string): Promise<string> {
      const reply = new Promise<string>((resolve) => client.once('message', (t) => resolve(t)));
      await client.publishAsync(topic, JSON.stringify({ registrationId: 'x' }), { qos: 1 });
      return reply;
    }

    function closed(client: MqttClient): Promise<void> {
      return new Promise((resolve) => client.once('close', () => resolve()));
    }

    it('the DPS exchange: register → 202 with retry-after, poll → 200', async () => {
      const client = await connect('transport-device', withCert());
      try {
        await client.subscribeAsync('$dps/registrations/res/#', { qos: 1 });
        const first = await request(client, '$dps/registrations/PUT/iotdps-register/?$rid=r1');
        assert.equal(first, '$dps/registrations/res/202/?$rid=r1&retry-after=3');
        const body = new Promise<Record<string, unknown>>((resolve) =>
          client.once('message', (_t, payload: Buffer) => resolve(JSON.parse(payload.toString()))),
        );
        const second = request(
          client,
          '$dps/registrations/GET/iotdps-get-operationstatus/?$rid=r2&operationId=5.fake.1',
        );
        assert.equal(await second, '$dps/registrations/res/200/?$rid=r2');
        assert.equal((await body)['status'], 'assigned');
        const poll = handler.calls.at(-1);
        assert.equal(poll?.method, 'operationStatus');
        assert.equal(poll.method === 'operationStatus' ? poll.operationId : '', '5.fake.1');
      } finally {
        await client.endAsync();
      }
    });

    it('the device certificate reaches the handler, leaf first, with the transport name', async () => {
      const client = await connect('transport-device', withCert());
      try {
        await client.subscribeAsync('$dps/registrations/res/#', { qos: 1 });
        const before = handler.calls.length;
        await request(client, '$dps/registrations/PUT/iotdps-register/?$rid=c1');
        const ctx = handler.calls[before]?.ctx;
        assert.ok(ctx);
        assert.equal(ctx.transport, transport.name);
        assert.equal(ctx.idScope, SCOPE);
        assert.equal(ctx.registrationId, 'transport-device');
        assert.deepEqual(
          ctx.clientCertificates.map((c) => c.sha256Thumbprint),
          [pki.device.certificate.sha256Thumbprint],
        );
        assert.equal(ctx.sasToken, undefined);
        assert.match(ctx.remoteAddress ?? '', /127\.0\.0\.1/);
        assert.equal(running.connectionCount(), 1);
      } finally {
        await client.endAsync();
      }
    });

    it('a full chain (leaf + root) arrives as sent: two certificates', async () => {
      const client = await connect('transport-device', {
        cert: pki.device.certificate.pem + pki.deviceRoot.certificate.pem,
        key: pki.device.privateKey.toPem(),
      });
      try {
        await client.subscribeAsync('$dps/registrations/res/#', { qos: 1 });
        const before = handler.calls.length;
        await request(client, '$dps/registrations/PUT/iotdps-register/?$rid=f1');
        assert.deepEqual(
          handler.calls[before]?.ctx.clientCertificates.map((c) => c.subjectCN),
          ['transport-device', 'transport-test-device-root'],
        );
      } finally {
        await client.endAsync();
      }
    });

    it('no certificate and a SAS password: empty chain, the token passed through', async () => {
      const sas = `SharedAccessSignature sr=${SCOPE}/registrations/sas-device&sig=abc&skn=registration&se=1`;
      const client = await connect('sas-device', { password: sas });
      try {
        await client.subscribeAsync('$dps/registrations/res/#', { qos: 1 });
        const before = handler.calls.length;
        await request(client, '$dps/registrations/PUT/iotdps-register/?$rid=s1');
        assert.deepEqual(handler.calls[before]?.ctx.clientCertificates, []);
        assert.equal(handler.calls[before]?.ctx.sasToken, sas);
      } finally {
        await client.endAsync();
      }
    });

    it('a QoS 2 publish closes the connection', async () => {
      const client = await connect('transport-device', withCert());
      const gone = closed(client);
      client.publish('$dps/registrations/PUT/iotdps-register/?$rid=q2', '{}', { qos: 2 });
      await gone;
      client.end(true);
      assert.match(metrics.render(), /gatehouse_mqtt_refusals_total\{reason="forbidden"\} 1/);
    });

    it('a publish outside $dps/registrations/ closes the connection', async () => {
      const client = await connect('transport-device', withCert());
      const gone = closed(client);
      client.publish('devices/transport-device/messages/events/', '{}', { qos: 1 });
      await gone;
      client.end(true);
      assert.match(metrics.render(), /gatehouse_mqtt_refusals_total\{reason="forbidden"\} 2/);
    });

    it('a subscription outside the DPS response filter is refused in the SUBACK', async () => {
      const client = await connect('transport-device', withCert());
      try {
        // MQTT.js 5 turns a 0x80 grant into an error carrying the SUBACK.
        await assert.rejects(client.subscribeAsync('devices/other/#', { qos: 1 }), (err: unknown) => {
          assert.deepEqual((err as { packet?: { granted?: number[] } }).packet?.granted, [128]);
          return true;
        });
      } finally {
        await client.endAsync();
      }
    });

    it('a SUBSCRIBE of many refused filters is logged once, with the count', async () => {
      const client = await connect('transport-device', withCert());
      const refused = Array.from({ length: 500 }, (_, i) => `devices/other-${i}/#`);
      const before = log.messages().filter((m) => m.startsWith('dps subscription refused')).length;
      try {
        await assert.rejects(
          client.subscribeAsync(
            Object.fromEntries([...refused, '$dps/registrations/res/#'].map((f) => [f, { qos: 1 as const }])),
          ),
          (err: unknown) => {
            const granted = (err as { packet?: { granted?: number[] } }).packet?.granted;
            assert.deepEqual(granted, [...refused.map(() => 128), 1]);
            return true;
          },
        );
      } finally {
        await client.endAsync();
      }
      const lines = log.lines.filter((l) => String(l['msg']).startsWith('dps subscription refused'));
      assert.equal(lines.length - before, 1, 'one line for the whole SUBSCRIBE');
      assert.equal(lines.at(-1)?.['refused'], 500);
      assert.equal(lines.at(-1)?.['filter'], 'devices/other-0/#');
    });

    it('close() ends live connections and resolves', async () => {
      const client = await connect('transport-device', withCert());
      const gone = closed(client);
      const started = Date.now();
      await running.close();
      await gone;
      client.end(true);
      assert.ok(Date.now() - started < 2000, 'closed without waiting for the destroy grace');
      assert.equal(running.connectionCount(), 0);
    });
  });
}

for (const transport of TRANSPORTS) transportSuite(transport);

describe('MQTT over WebSockets: upgrade rules (PROTOCOL.md §5)', () => {
  let pki: TransportPki;
  let port: number;
  let close: () => Promise<void>;
  const metrics = new Metrics();
  const log = captureLogger();

  before(async () => {
    pki = await createTransportPki();
    const handler = new FakeDpsHandler();
    const listener = await startDeviceHttpsListener({
      host: '127.0.0.1',
      port: 0,
      key: pki.server.privateKey.toPem(),
      cert: pki.server.certificate.pem,
      gateway: { dps: handler, logger: log.logger, metrics },
      dpsHandler: handler,
      logger: log.logger,
      metrics,
    });
    port = listener.address().port;
    close = () => listener.close();
  });

  after(async () => {
    await close?.();
  });

  /** Opens a WebSocket with the `ws` client; resolves with the 101's subprotocol or the refusal. */
  function upgrade(
    path: string,
    protocols: string[],
  ): Promise<{ protocol: string } | { status: number; contentType: string | undefined; body: string }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${port}${path}`, protocols, {
        ca: pki.serverCa.certificate.pem,
      });
      ws.once('open', () => {
        resolve({ protocol: ws.protocol });
        ws.close();
      });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body }),
        );
      });
      ws.once('error', (err) => reject(err));
    });
  }

  it('selects the mqtt subprotocol in the 101 (the SDK aborts otherwise)', async () => {
    assert.deepEqual(await upgrade('/$iothub/websocket', ['mqtt']), { protocol: 'mqtt' });
    assert.deepEqual(await upgrade('/$iothub/websocket?x=1', ['other', 'mqtt']), { protocol: 'mqtt' });
  });

  it('an upgrade on another path → 404 and close, logged', async () => {
    const r = await upgrade('/mqtt', ['mqtt']);
    assert.ok('status' in r);
    assert.equal(r.status, 404);
    assert.match(r.contentType ?? '', /^application\/json/);
    assert.match(r.body, /ErrorCode:NotFound;/);
    assert.ok(log.messages().some((m) => /only \/\$iothub\/websocket is served/.test(m)));
  });

  it('an upgrade without the mqtt subprotocol → 400 and close, logged', async () => {
    const none = await upgrade('/$iothub/websocket', []);
    assert.ok('status' in none);
    assert.equal(none.status, 400);
    const other = await upgrade('/$iothub/websocket', ['mqttv3.1']);
    assert.ok('status' in other);
    assert.equal(other.status, 400);
    assert.ok(log.messages().some((m) => /mqtt subprotocol was not offered/.test(m)));
  });

  it('counts upgrades by outcome', () => {
    const text = metrics.render();
    assert.match(text, /gatehouse_wss_upgrades_total\{outcome="accepted"\} 2/);
    assert.match(text, /gatehouse_wss_upgrades_total\{outcome="wrong-path"\} 1/);
    assert.match(text, /gatehouse_wss_upgrades_total\{outcome="no-subprotocol"\} 2/);
  });
});
