/**
 * The real Azure SDK packages against a real server on the device HTTPS port: an X.509
 * group device provisions over DPS MqttWs and DPS Http (PROTOCOL.md §2, §5), a hub device
 * sends telemetry over MqttWs, and a hub device over Http (§4) talks to a fake
 * HubHttpHandler (until the hub service implements it). The SDKs hard-code 443 for HTTPS and WebSockets, so
 * this file holds the 443 lock (STYLE.md §8).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { createDeviceCertificate, createRootCa, type Issued } from '@gatehouse/pki';

import { listenError, startDeviceHttpsListener, type DeviceHttpsListener } from '../src/device-http/index.js';
import { runAzureProvision } from './helpers/azure-device.js';
import { AzureHubDevice } from './helpers/azure-hub.js';
import { captureLogger, FakeDpsHandler } from './helpers/gateway-harness.js';
import { base64Pem, tempDir, writeIssued } from './helpers/pki-files.js';
import { withPortLock } from './helpers/port-lock.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { createTransportPki, FakeHubHttpHandler } from './helpers/transport-fixtures.js';
import { startDeviceHttpsNextTo } from './helpers/transport-real-server.js';

describe(
  'the real Azure SDK on 443: DPS over MqttWs and Http, hub over MqttWs and Http',
  { concurrency: false },
  () => {
    let server: TestServer;
    let listener: DeviceHttpsListener | undefined;
    let release: () => void = () => undefined;
    let root: Issued;
    let dir: string;
    let device: AzureHubDevice | undefined;
    let httpDevice: AzureHubDevice | undefined;
    // The hub service does not implement HubHttpHandler yet: the Http device talks to a fake.
    const hubHttp = new FakeHubHttpHandler();

    before(async () => {
      // Hold the 443 lock for the whole file: the SDK's port is fixed.
      await new Promise<void>((ready, fail) => {
        withPortLock(443, () => new Promise<void>((done) => ((release = done), ready()))).catch(fail);
      });
      server = await startTestServer();
      listener = await startDeviceHttpsNextTo(server, { port: 443, hubHttp });
      dir = await tempDir();
      root = await createRootCa({ commonName: 'transport-sdk-root' });
      const group = await server.api('PUT', '/api/enrollmentGroups/WsGroup', {
        displayName: 'WsGroup',
        type: 'iot',
        attestation: { type: 'x509' },
      });
      assert.equal(group.status, 200, JSON.stringify(group.body));
      const up = await server.api('PUT', '/api/enrollmentGroups/WsGroup/certificates/primary', {
        certificate: base64Pem(root.certificate),
        verified: true,
      });
      assert.equal(up.status, 200, JSON.stringify(up.body));
    });

    after(async () => {
      await device?.stop();
      await httpDevice?.stop();
      await listener?.close();
      await server?.stop();
      release();
    });

    async function provision(registrationId: string, transport: 'mqttws' | 'http') {
      const files = await writeIssued(
        dir,
        registrationId,
        await createDeviceCertificate({ commonName: registrationId, issuer: root }),
      );
      const result = await runAzureProvision({
        caPath: server.serverCaPath!,
        idScope: server.idScope,
        registrationId,
        certFile: files.cert,
        keyFile: files.key,
        transport,
        payload: { via: transport },
      });
      return { result, files };
    }

    it('an X.509 group device provisions over MqttWs and learns its hub and device ID', async () => {
      const { result: r } = await provision('ws-device', 'mqttws');
      assert.equal(r.ok, true, JSON.stringify(r.error));
      assert.equal(r.result?.assignedHub, 'localhost');
      assert.equal(r.result?.deviceId, 'ws-device');
      assert.equal(r.result?.status, 'assigned');
      assert.deepEqual(r.result?.payload, { via: 'mqttws' });
      assert.equal((r.result?.x509 as { enrollmentGroupId?: string }).enrollmentGroupId, 'WsGroup');
      assert.match(server.metrics.render(), /gatehouse_wss_upgrades_total\{outcome="accepted"\} [1-9]/);
    });

    it('an X.509 group device provisions over Http and learns its hub and device ID', async () => {
      const { result: r } = await provision('http-device', 'http');
      assert.equal(r.ok, true, JSON.stringify(r.error));
      assert.equal(r.result?.assignedHub, 'localhost');
      assert.equal(r.result?.deviceId, 'http-device');
      assert.equal(r.result?.status, 'assigned');
      assert.deepEqual(r.result?.payload, { via: 'http' });
      const text = server.metrics.render();
      assert.match(
        text,
        /gatehouse_device_http_requests_total\{route="register",service="dps",status="202"\} 1/,
      );
      assert.match(
        text,
        /gatehouse_device_http_requests_total\{route="operation-status",service="dps",status="200"\} 1/,
      );
    });

    it('a refusal over Http reaches the SDK as UnauthorizedError (≥ 300 is terminal, §2)', async () => {
      const stranger = await createRootCa({ commonName: 'stranger-root' });
      const files = await writeIssued(
        dir,
        'http-stranger',
        await createDeviceCertificate({ commonName: 'http-stranger', issuer: stranger }),
      );
      const r = await runAzureProvision({
        caPath: server.serverCaPath!,
        idScope: server.idScope,
        registrationId: 'http-stranger',
        certFile: files.cert,
        keyFile: files.key,
        transport: 'http',
      });
      assert.equal(r.ok, false);
      assert.equal(r.error?.name, 'UnauthorizedError', r.error?.message);
    });

    it('the provisioned device connects to the hub over MqttWs and its telemetry is stored', async () => {
      const { result: r, files } = await provision('ws-hub-device', 'mqttws');
      assert.equal(r.ok, true, JSON.stringify(r.error));
      device = new AzureHubDevice(
        {
          HUB_HOST: 'localhost',
          DEVICE_ID: 'ws-hub-device',
          CERT_FILE: files.cert,
          KEY_FILE: files.key,
          TRANSPORT: 'mqttws',
          TELEMETRY_COUNT: '2',
          TELEMETRY_INTERVAL_MS: '200',
        },
        server.serverCaPath!,
      );
      await device.waitFor((e) => e.event === 'open', 20_000, 'open');
      await device.waitFor((e) => e.event === 'sent' && e['n'] === 1, 20_000, 'two messages sent');
      const history = await server.api<{ value: Array<{ body: unknown }> }>(
        'GET',
        '/api/devices/ws-hub-device/telemetry',
      );
      assert.equal(history.status, 200, JSON.stringify(history.body));
      assert.equal(history.body.value.length, 2);
    });

    it('a hub device over Http (x509=true): telemetry, then a C2D message received and completed', async () => {
      const files = await writeIssued(
        dir,
        'sdk-http-device',
        await createDeviceCertificate({ commonName: 'sdk-http-device', issuer: root }),
      );
      hubHttp.devices.add('sdk-http-device');
      hubHttp.queue.push({
        lockToken: 'sdk-lock-1',
        messageId: 'sdk-c2d-1',
        body: Buffer.from('{"led":"on"}'),
        properties: { color: 'blue' },
        correlationId: 'corr-9',
      });
      httpDevice = new AzureHubDevice(
        {
          HUB_HOST: 'localhost',
          DEVICE_ID: 'sdk-http-device',
          CERT_FILE: files.cert,
          KEY_FILE: files.key,
          TRANSPORT: 'http',
          TELEMETRY_COUNT: '2',
          TELEMETRY_INTERVAL_MS: '50',
        },
        server.serverCaPath!,
      );
      await httpDevice.waitFor((e) => e.event === 'sent' && e['n'] === 1, 20_000, 'two messages sent');
      const sent = hubHttp.calls.flatMap((c) =>
        c.method === 'sendTelemetry' && c.deviceId === 'sdk-http-device' ? [c.message] : [],
      );
      assert.deepEqual(
        sent.map((m) => [
          JSON.parse(m.body.toString()).temp,
          m.applicationProperties['seq'],
          m.systemProperties['$.ct'],
        ]),
        [
          [20, '0', 'application/json'],
          [21, '1', 'application/json'],
        ],
      );
      const auth = hubHttp.calls.find((c) => c.method === 'authenticate' && c.deviceId === 'sdk-http-device');
      assert.ok(auth?.method === 'authenticate');
      assert.equal(auth.credentials.clientCertificates[0]?.subjectCN, 'sdk-http-device');

      const c2d = await httpDevice.waitFor((e) => e.event === 'c2d', 20_000, 'c2d');
      assert.equal(c2d['body'], '{"led":"on"}');
      assert.equal(c2d['messageId'], 'sdk-c2d-1');
      // §4: the SDK keeps the `iothub-app-` prefix in the property name.
      assert.deepEqual(c2d['properties'], { 'iothub-app-color': 'blue' });
      const deadline = Date.now() + 10_000;
      while (!hubHttp.calls.some((c) => c.method === 'completeC2D') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(
        hubHttp.calls.find((c) => c.method === 'completeC2D'),
        { method: 'completeC2D', deviceId: 'sdk-http-device', lockToken: 'sdk-lock-1' },
      );
    });

    it('port 443 busy → one line saying why and how to fix it', async () => {
      const pki = await createTransportPki();
      const { logger } = captureLogger();
      const dps = new FakeDpsHandler();
      await assert.rejects(
        startDeviceHttpsListener({
          host: '127.0.0.1',
          port: 443,
          key: pki.server.privateKey.toPem(),
          cert: pki.server.certificate.pem,
          gateway: { dps, logger },
          dpsHandler: dps,
          logger,
        }),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'ERR_HTTPS_PORT_IN_USE');
          assert.doesNotMatch(err.message, /\n/);
          assert.match(
            err.message,
            /^127\.0\.0\.1:443 is already in use by another process: .*--https-port 8443/,
          );
          assert.match(err.message, /the Azure SDKs only use 443/);
          return true;
        },
      );
    });
  },
);

describe('device HTTPS listener: a port that cannot be bound', () => {
  it('each bind failure reads as one line with the fix', () => {
    const errno = (code: string) => Object.assign(new Error(`listen ${code}: x\ny`), { code });
    const denied = listenError(errno('EACCES'), '0.0.0.0', 443);
    assert.equal(denied.message.split('\n').length, 1);
    assert.equal(
      denied.message,
      'port 443 needs root or CAP_NET_BIND_SERVICE: run `sudo setcap cap_net_bind_service=+ep $(which node)` or pass --https-port 8443 (the Azure SDKs only use 443)',
    );
    assert.equal((denied as Error & { code?: string }).code, 'ERR_HTTPS_PORT_PERMISSION');
    const other = listenError(errno('EADDRNOTAVAIL'), '10.9.9.9', 443);
    assert.equal((other as Error & { code?: string }).code, 'ERR_HTTPS_LISTEN_FAILED');
    assert.equal(other.message.split('\n').length, 1);
    assert.match(other.message, /^cannot listen on 10\.9\.9\.9:443/);
  });

  it('a busy port (any) → ERR_HTTPS_PORT_IN_USE, one line', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const pki = await createTransportPki();
    const { logger } = captureLogger();
    const dps = new FakeDpsHandler();
    try {
      await assert.rejects(
        startDeviceHttpsListener({
          host: '127.0.0.1',
          port,
          key: pki.server.privateKey.toPem(),
          cert: pki.server.certificate.pem,
          gateway: { dps, logger },
          dpsHandler: dps,
          logger,
        }),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'ERR_HTTPS_PORT_IN_USE');
          assert.equal(err.message.split('\n').length, 1);
          assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port} is already in use`));
          return true;
        },
      );
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
