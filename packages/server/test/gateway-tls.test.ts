/**
 * The MQTT/TLS listener on 127.0.0.1 port 0 with MQTT.js and a throwaway PKI (STYLE.md §8,
 * §10): the client chain reaches the DPS handler as sent, leaf first (PROTOCOL.md §7.4).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createDeviceCertificate, createRootCa, createServerCertificate, type Issued } from '@gatehouse/pki';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

import { startMqttTlsListener, type MqttListener } from '../src/gateway/index.js';
import { Metrics } from '../src/metrics.js';
import { captureLogger, FakeDpsHandler } from './helpers/gateway-harness.js';

const SCOPE = '0ne00000A1';

describe('gateway: MQTT over TLS', () => {
  let serverCa: Issued;
  let root: Issued;
  let device: Issued;
  let listener: MqttListener;
  const handler = new FakeDpsHandler();
  const metrics = new Metrics();

  before(async () => {
    serverCa = await createRootCa({ commonName: 'gateway-test-server-ca' });
    const server = await createServerCertificate({
      commonName: 'localhost',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      issuer: serverCa,
    });
    root = await createRootCa({ commonName: 'gateway-test-device-root' });
    device = await createDeviceCertificate({ commonName: 'tls-device', issuer: root });
    listener = await startMqttTlsListener({
      host: '127.0.0.1',
      port: 0,
      key: server.privateKey.toPem(),
      cert: server.certificate.pem,
      dps: handler,
      logger: captureLogger().logger,
      metrics,
    });
  });

  after(async () => {
    await listener?.close();
  });

  async function connect(registrationId: string, identity: Partial<IClientOptions>): Promise<MqttClient> {
    const client = mqtt.connect(`mqtts://127.0.0.1:${listener.address().port}`, {
      ca: serverCa.certificate.pem,
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

  /** Subscribe, register, and return the reply topic and the context the handler saw. */
  async function register(client: MqttClient, registrationId: string) {
    await client.subscribeAsync('$dps/registrations/res/#', { qos: 1 });
    const reply = new Promise<string>((resolve) => client.once('message', (topic) => resolve(topic)));
    const before = handler.calls.length;
    await client.publishAsync(
      `$dps/registrations/PUT/iotdps-register/?$rid=${registrationId}-1`,
      JSON.stringify({ registrationId }),
      { qos: 1 },
    );
    const topic = await reply;
    const call = handler.calls[before];
    assert.ok(call);
    return { topic, ctx: call.ctx };
  }

  it('listens on the port it was given (0 → a free one)', () => {
    assert.ok(listener.address().port > 0);
    assert.equal(listener.address().address, '127.0.0.1');
  });

  it('passes the device certificate to the DPS handler, leaf first', async () => {
    const client = await connect('tls-device', {
      cert: device.certificate.pem,
      key: device.privateKey.toPem(),
    });
    try {
      const { topic, ctx } = await register(client, 'tls-device');
      assert.equal(topic, '$dps/registrations/res/202/?$rid=tls-device-1&retry-after=3');
      assert.equal(ctx.clientCertificates.length, 1);
      assert.equal(ctx.clientCertificates[0]?.subjectCN, 'tls-device');
      assert.equal(ctx.clientCertificates[0]?.sha256Thumbprint, device.certificate.sha256Thumbprint);
      assert.equal(ctx.transport, 'mqtt');
      assert.equal(ctx.idScope, SCOPE);
      assert.equal(ctx.sasToken, undefined);
      assert.match(ctx.remoteAddress ?? '', /127\.0\.0\.1/);
      assert.equal(listener.connectionCount, 1);
      assert.match(metrics.render(), /gatehouse_mqtt_connections\{kind="dps"\} 1/);
    } finally {
      await client.endAsync();
    }
  });

  it('passes a full chain (leaf + root PEM in `cert`) as sent: two certificates', async () => {
    const fullchain = device.certificate.pem + root.certificate.pem;
    const client = await connect('tls-device', { cert: fullchain, key: device.privateKey.toPem() });
    try {
      const { ctx } = await register(client, 'tls-device');
      assert.deepEqual(
        ctx.clientCertificates.map((c) => c.subjectCN),
        ['tls-device', 'gateway-test-device-root'],
      );
    } finally {
      await client.endAsync();
    }
  });

  it('accepts a client without certificate (CONNACK 0) and gives an empty chain', async () => {
    const client = await connect('sas-device', {
      password: 'SharedAccessSignature sr=0ne00000A1/registrations/sas-device&sig=abc&skn=registration&se=1',
    });
    try {
      const { ctx } = await register(client, 'sas-device');
      assert.deepEqual(ctx.clientCertificates, []);
      assert.equal(
        ctx.sasToken,
        'SharedAccessSignature sr=0ne00000A1/registrations/sas-device&sig=abc&skn=registration&se=1',
      );
    } finally {
      await client.endAsync();
    }
  });

  it('close() ends live connections and resolves', async () => {
    const client = await connect('tls-device', {
      cert: device.certificate.pem,
      key: device.privateKey.toPem(),
    });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const started = Date.now();
    await listener.close();
    await closed;
    assert.ok(Date.now() - started < 2000, 'closed gracefully, without waiting for the destroy grace');
    assert.equal(listener.connectionCount, 0);
  });
});
