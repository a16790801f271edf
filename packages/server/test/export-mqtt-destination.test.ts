/**
 * mqtt@v1 against a real mosquitto on loopback (destinations/mqtt.ts): messages land on the
 * topic template's topics as JSON, over plain TCP, with a user name and password, and over TLS
 * with a client certificate from a throwaway CA made with our pki; a wrong password, an untrusted
 * broker certificate and a refused connection are DeliveryErrors in words; a broker that went
 * away and came back is reconnected on the next send.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { createDeviceCertificate, createRootCa, createServerCertificate, type Issued } from '@gatehouse/pki';
import mqtt, { type MqttClient } from 'mqtt';

import { DeliveryError, type DestinationAdapter } from '../src/export/contracts.js';
import {
  createMqttDestination,
  validateMqttDestination,
  type MqttDestinationConfig,
} from '../src/export/destinations/mqtt.js';
import { eventually } from './helpers/hub-harness.js';
import { skipWithoutMosquitto, startTestMosquitto, type TestMosquitto } from './helpers/mosquitto.js';
import { tempDir, writeIssued } from './helpers/pki-files.js';

const skip = skipWithoutMosquitto();

function config(body: Record<string, unknown>): MqttDestinationConfig {
  const r = validateMqttDestination({
    type: 'mqtt@v1',
    displayName: 'Broker',
    topic: 'gh/{messageSource}/{deviceId}',
    ...body,
  });
  if ('problems' in r) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

describe('mqtt@v1 destination against mosquitto', { skip }, () => {
  let broker: TestMosquitto;
  let root: Issued;
  let client: Issued;
  let subscriber: MqttClient;
  const received: { topic: string; body: unknown }[] = [];
  const open: DestinationAdapter[] = [];
  const destination = (body: Record<string, unknown>) => {
    const d = createMqttDestination(config(body));
    open.push(d);
    return d;
  };

  before(async () => {
    const dir = await tempDir('gatehouse-mqtt-dest-');
    root = await createRootCa({ commonName: 'mqtt-test-root' });
    const server = await createServerCertificate({
      commonName: '127.0.0.1',
      ipAddresses: ['127.0.0.1'],
      issuer: root,
    });
    client = await createDeviceCertificate({ commonName: 'gatehouse-exporter', issuer: root });
    const ca = await writeIssued(dir, 'root', root);
    const srv = await writeIssued(dir, 'server', server);
    broker = await startTestMosquitto(
      dir,
      { exporter: 'right-password' },
      {
        cafile: ca.cert,
        certfile: srv.fullchain,
        keyfile: srv.key,
      },
    );
    subscriber = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.plainPort}`, { reconnectPeriod: 200 });
    subscriber.on('message', (topic, payload) =>
      received.push({ topic, body: JSON.parse(payload.toString()) }),
    );
    await subscriber.subscribeAsync('gh/#', { qos: 1 });
  });
  after(async () => {
    await Promise.all(open.map((d) => d.close()));
    await subscriber?.endAsync(true);
    await broker?.stop();
  });

  const take = async (n: number) => {
    await eventually(() => received.length >= n, 5_000);
    return received.splice(0, n);
  };

  it('plain: each message on its topic, in order, as JSON; devices without an id use "-"', async () => {
    const d = destination({ url: `mqtt://127.0.0.1:${broker.plainPort}` });
    const batch = [{ n: 1, telemetry: { t: 20.5 } }, { n: 2 }, { n: 3 }, { n: 4 }];
    await d.send(batch, {
      items: [
        { deviceId: 'dev-1', messageSource: 'telemetry' },
        { deviceId: 'dev-2', messageSource: 'properties' },
        { messageSource: 'audit' },
        { deviceId: 'odd/+#id', messageSource: 'telemetry' },
      ],
    });
    assert.deepEqual(await take(4), [
      { topic: 'gh/telemetry/dev-1', body: batch[0] },
      { topic: 'gh/properties/dev-2', body: batch[1] },
      { topic: 'gh/audit/-', body: batch[2] },
      { topic: 'gh/telemetry/odd___id', body: batch[3] },
    ]);
  });

  it('user name and password: the right one delivers, a wrong one is a permanent error in words', async () => {
    const url = `mqtt://127.0.0.1:${broker.passwordPort}`;
    const good = destination({
      url,
      authorization: { type: 'userNamePassword', userName: 'exporter', password: 'right-password' },
    });
    await good.send([{ ok: true }], { items: [{ deviceId: 'p', messageSource: 'telemetry' }] });
    assert.deepEqual(await take(1), [{ topic: 'gh/telemetry/p', body: { ok: true } }]);
    const bad = destination({
      url,
      authorization: { type: 'userNamePassword', userName: 'exporter', password: 'wrong' },
    });
    await assert.rejects(
      bad.send([{ ok: false }], { items: [{ deviceId: 'p', messageSource: 'telemetry' }] }),
      (err) => {
        assert.ok(err instanceof DeliveryError);
        assert.match(
          err.message,
          /refused the connection: (not authorized|bad user name or password) \(CONNACK [45]\)/,
        );
        assert.equal(err.permanent, true);
        return true;
      },
    );
  });

  it('TLS with a client certificate made by our pki, the broker trusted through caCertificate', async () => {
    const d = destination({
      url: `mqtts://127.0.0.1:${broker.tlsPort}`,
      caCertificate: root.certificate.pem,
      qos: 1,
      authorization: {
        type: 'clientCertificate',
        certificate: client.certificate.pem,
        privateKey: client.privateKey.toPem(),
      },
    });
    await d.send([{ tls: 1 }, { tls: 2 }], {
      items: [
        { deviceId: 'secure', messageSource: 'telemetry' },
        { deviceId: 'secure', messageSource: 'deviceConnectivity' },
      ],
    });
    assert.deepEqual(await take(2), [
      { topic: 'gh/telemetry/secure', body: { tls: 1 } },
      { topic: 'gh/deviceConnectivity/secure', body: { tls: 2 } },
    ]);
  });

  it('TLS: a broker certificate from an unknown CA is a permanent TLS error', async () => {
    const d = destination({
      url: `mqtts://127.0.0.1:${broker.tlsPort}`,
      authorization: {
        type: 'clientCertificate',
        certificate: client.certificate.pem,
        privateKey: client.privateKey.toPem(),
      },
    });
    await assert.rejects(d.send([{}], { items: [{ deviceId: 'x', messageSource: 'telemetry' }] }), (err) => {
      assert.ok(err instanceof DeliveryError);
      assert.match(err.message, /^TLS: the MQTT broker's certificate at 127\.0\.0\.1:\d+ is not trusted \(/);
      assert.equal(err.permanent, true);
      return true;
    });
  });

  it('TLS: without a client certificate the broker ends the handshake', async () => {
    const d = destination({
      url: `mqtts://127.0.0.1:${broker.tlsPort}`,
      caCertificate: root.certificate.pem,
    });
    await assert.rejects(d.send([{}], { items: [{ deviceId: 'x', messageSource: 'telemetry' }] }), (err) => {
      assert.ok(err instanceof DeliveryError);
      assert.match(err.message, /requires a client certificate|closed the connection/);
      return true;
    });
  });

  it('nothing listening: connection refused, in words, not permanent', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as { port: number }).port;
    await new Promise<void>((r) => s.close(() => r()));
    const d = destination({ url: `mqtt://127.0.0.1:${port}` });
    await assert.rejects(d.send([{}], { items: [{ deviceId: 'x', messageSource: 'telemetry' }] }), (err) => {
      assert.ok(err instanceof DeliveryError);
      assert.equal(
        err.message,
        `Connection refused by 127.0.0.1:${port}: is the MQTT broker running and listening there?`,
      );
      assert.equal(err.permanent, false);
      return true;
    });
  });

  it('the broker goes away: the send fails in words; once it is back the next send reconnects', async () => {
    const d = destination({ url: `mqtt://127.0.0.1:${broker.plainPort}` });
    const items = [{ deviceId: 'r', messageSource: 'telemetry' }];
    await d.send([{ phase: 'before' }], { items });
    assert.deepEqual(await take(1), [{ topic: 'gh/telemetry/r', body: { phase: 'before' } }]);
    await broker.stop();
    await assert.rejects(d.send([{ phase: 'down' }], { items }), (err) => {
      assert.ok(err instanceof DeliveryError);
      assert.match(
        err.message,
        /Connection refused by 127\.0\.0\.1:\d+|connection to the MQTT broker .* was lost/,
      );
      return true;
    });
    await broker.start();
    await eventually(() => subscriber.connected, 5_000);
    await subscriber.subscribeAsync('gh/#', { qos: 1 });
    await d.send([{ phase: 'after' }], { items });
    assert.deepEqual(await take(1), [{ topic: 'gh/telemetry/r', body: { phase: 'after' } }]);
  });
});
