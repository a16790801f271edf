/**
 * `stopAccepting()` of the device listeners (the first step of a drain) on real sockets: new
 * TCP connections are refused, a live MQTT connection stays, and an idle kept-alive HTTPS
 * connection is ended (the device reconnects elsewhere).
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { createRootCa, createServerCertificate, type Issued } from '@gatehouse/pki';
import mqtt from 'mqtt';

import { startDeviceHttpsListener, type DeviceHttpsListener } from '../src/device-http/index.js';
import { startMqttTlsListener, type MqttListener } from '../src/gateway/index.js';
import { captureLogger, FakeDpsHandler } from './helpers/gateway-harness.js';

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });
}

describe('device listeners: stopAccepting', () => {
  let ca: Issued;
  let mqtts: MqttListener;
  let https: DeviceHttpsListener;
  const handler = new FakeDpsHandler();

  before(async () => {
    ca = await createRootCa({ commonName: 'stop-accepting-ca' });
    const server = await createServerCertificate({
      commonName: 'localhost',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      issuer: ca,
    });
    const common = {
      host: '127.0.0.1',
      port: 0,
      key: server.privateKey.toPem(),
      cert: server.certificate.pem,
    };
    const logger = captureLogger().logger;
    mqtts = await startMqttTlsListener({ ...common, dps: handler, logger });
    https = await startDeviceHttpsListener({
      ...common,
      gateway: { dps: handler, logger },
      dpsHandler: handler,
      logger,
    });
  });
  after(async () => {
    await mqtts?.close();
    await https?.close();
  });

  it('MQTT: refuses new connections, keeps the live one', async () => {
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${mqtts.address().port}`, {
      ca: ca.certificate.pem,
      servername: 'localhost',
      clientId: 'stays',
      username: '0ne00000A1/registrations/stays/api-version=2019-03-31',
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    mqtts.stopAccepting();
    assert.equal(await refused(mqtts.address().port), true);
    await client.subscribeAsync('$dps/registrations/res/#');
    assert.equal(client.connected, true);
    await client.endAsync();
  });

  it('HTTPS: refuses new connections and ends idle kept-alive ones', async () => {
    const port = https.address().port;
    const agent = new Agent({
      keepAlive: true,
      maxSockets: 1,
      ca: ca.certificate.pem,
      servername: 'localhost',
    });
    const kept = await new Promise<Socket>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(req.socket!));
      });
      req.on('error', reject);
      req.end();
    });
    const ended = new Promise<void>((resolve) => kept.once('close', () => resolve()));
    https.stopAccepting();
    assert.equal(await refused(port), true);
    await ended;
    agent.destroy();
  });
});
