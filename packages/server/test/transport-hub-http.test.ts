/**
 * The hub over HTTPS (PROTOCOL.md §4) on the device HTTPS listener, port 0, with a fake
 * HubHttpHandler and raw requests shaped like azure-iot-device-http's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startDeviceHttpsListener, type DeviceHttpsListener } from '../src/device-http/index.js';
import { Metrics } from '../src/metrics.js';
import { captureLogger, FakeDpsHandler } from './helpers/gateway-harness.js';
import {
  createTransportPki,
  FakeHubHttpHandler,
  httpsCall,
  type HttpsCall,
  type TransportPki,
} from './helpers/transport-fixtures.js';

const API = 'api-version=2021-04-12';
const SAS = 'SharedAccessSignature sr=localhost%2Fdevices%2Fhttp-device&sig=abc&se=9';

describe('hub over HTTPS (PROTOCOL.md §4)', () => {
  let pki: TransportPki;
  let listener: DeviceHttpsListener;
  const hub = new FakeHubHttpHandler();
  const metrics = new Metrics();

  before(async () => {
    pki = await createTransportPki('http-device');
    const { logger } = captureLogger();
    const dps = new FakeDpsHandler();
    listener = await startDeviceHttpsListener({
      host: '127.0.0.1',
      port: 0,
      key: pki.server.privateKey.toPem(),
      cert: pki.server.certificate.pem,
      gateway: { dps, logger },
      dpsHandler: dps,
      hubHttp: hub,
      logger,
      metrics,
    });
  });

  after(async () => {
    await listener?.close();
  });

  const call = (c: Omit<HttpsCall, 'port' | 'ca'>) =>
    httpsCall({
      port: listener.address().port,
      ca: pki.serverCa.certificate.pem,
      ...c,
      headers: { Authorization: SAS, ...c.headers },
    });

  function assertHubError(res: Awaited<ReturnType<typeof call>>, status: number, code: string) {
    assert.equal(res.status, status);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    const body = res.json<{ Message: string; ExceptionMessage: string }>();
    assert.ok(body.Message.startsWith(`ErrorCode:${code};`), body.Message);
    assert.equal(body.ExceptionMessage, '');
    assert.equal(res.headers['iothub-errorcode'], code);
  }

  it('telemetry: chunked body, iothub-app-* and system headers → 204 once stored', async () => {
    const before = hub.calls.length;
    const res = await call({
      method: 'POST',
      path: `/devices/http-device/messages/events?${API}`,
      headers: {
        'iothub-to': '/devices/http-device/messages/events',
        'User-Agent': 'azure-iot-device/1.18.4',
        'iothub-app-Temperature': '21.5',
        'iothub-app-alert': 'high temp',
        'IoTHub-MessageId': 'mid-1',
        'IoTHub-CorrelationId': 'cid-1',
        'IoTHub-UserId': 'user-1',
        'IoTHub-Expiry': '2030-01-01T00:00:00.000Z',
        'iothub-contenttype': 'application/json',
        'iothub-contentencoding': 'utf-8',
      },
      chunks: ['{"temperature":', '21.5}'],
    });
    assert.equal(res.status, 204);
    assert.equal(res.body.length, 0);
    const auth = hub.calls[before];
    assert.equal(auth?.method, 'authenticate');
    assert.equal(auth.method === 'authenticate' ? auth.credentials.authorization : '', SAS);
    const sent = hub.calls[before + 1];
    assert.ok(sent?.method === 'sendTelemetry');
    assert.equal(sent.deviceId, 'http-device');
    assert.equal(sent.message.body.toString(), '{"temperature":21.5}');
    assert.deepEqual({ ...sent.message.applicationProperties }, { Temperature: '21.5', alert: 'high temp' });
    // `iothub-to` equal to the request path only routes the request; it is not the message's `to`.
    assert.deepEqual(
      { ...sent.message.systemProperties },
      {
        '$.mid': 'mid-1',
        '$.cid': 'cid-1',
        '$.uid': 'user-1',
        '$.exp': '2030-01-01T00:00:00.000Z',
        '$.ct': 'application/json',
        '$.ce': 'utf-8',
      },
    );
  });

  it('telemetry with X.509: the TLS chain reaches authenticate; no Authorization header', async () => {
    const before = hub.calls.length;
    const res = await httpsCall({
      port: listener.address().port,
      ca: pki.serverCa.certificate.pem,
      method: 'POST',
      path: `/devices/http-device/messages/events?${API}`,
      cert: pki.device.certificate.pem,
      key: pki.device.privateKey.toPem(),
      body: 'raw',
    });
    assert.equal(res.status, 204);
    const auth = hub.calls[before];
    assert.ok(auth?.method === 'authenticate');
    assert.equal(auth.credentials.authorization, undefined);
    assert.deepEqual(
      auth.credentials.clientCertificates.map((c) => c.subjectCN),
      ['http-device'],
    );
  });

  it('batch: a JSON array of {body: base64, properties} → one message each, in order', async () => {
    const before = hub.telemetry().length;
    const batch = [
      { body: Buffer.from('one').toString('base64'), properties: { 'iothub-app-k': 'v1' } },
      { body: Buffer.from('two').toString('base64') },
      {
        body: Buffer.from('three').toString('base64'),
        properties: { 'iothub-app-k': 'v3', 'dt-subject': 'c1' },
      },
    ];
    const res = await call({
      method: 'POST',
      path: `/devices/http-device/messages/events?${API}`,
      headers: { 'Content-Type': 'application/vnd.microsoft.iothub.json' },
      body: JSON.stringify(batch),
    });
    assert.equal(res.status, 204);
    const got = hub.telemetry().slice(before);
    assert.deepEqual(
      got.map((m) => [m.body.toString(), { ...m.applicationProperties }, { ...m.systemProperties }]),
      [
        ['one', { k: 'v1' }, {}],
        ['two', {}, {}],
        ['three', { k: 'v3' }, { '$.sub': 'c1' }],
      ],
    );
  });

  it('a malformed batch → 400 ArgumentInvalid, nothing stored', async () => {
    const before = hub.telemetry().length;
    for (const body of [
      '[{"body":',
      '{"body":"AA=="}',
      '[{"body":"not base64!"}]',
      '[{"body":"AA==","properties":{"k":1}}]',
    ]) {
      const res = await call({
        method: 'POST',
        path: `/devices/http-device/messages/events?${API}`,
        headers: { 'Content-Type': 'application/vnd.microsoft.iothub.json' },
        body,
      });
      assertHubError(res, 400, 'ArgumentInvalid');
    }
    assert.equal(hub.telemetry().length, before);
  });

  it('a message over 256 KiB → 413 MessageTooLarge (with Content-Length and chunked)', async () => {
    const big = Buffer.alloc(256 * 1024 + 1, 0x61);
    const sized = await call({
      method: 'POST',
      path: `/devices/http-device/messages/events?${API}`,
      body: big,
    });
    assertHubError(sized, 413, 'MessageTooLarge');
    const chunked = await call({
      method: 'POST',
      path: `/devices/http-device/messages/events?${API}`,
      chunks: [big.subarray(0, 100_000), big.subarray(100_000)],
    });
    assertHubError(chunked, 413, 'MessageTooLarge');
    // Exactly 256 KiB is accepted.
    const limit = await call({
      method: 'POST',
      path: `/devices/http-device/messages/events?${API}`,
      body: big.subarray(1),
    });
    assert.equal(limit.status, 204);
  });

  it('C2D: an empty queue → 204', async () => {
    const res = await call({ method: 'GET', path: `/devices/http-device/messages/devicebound?${API}` });
    assert.equal(res.status, 204);
    assert.equal(res.body.length, 0);
  });

  const receive = () => call({ method: 'GET', path: `/devices/http-device/messages/devicebound?${API}` });

  it('C2D: a message → 200 with body, quoted ETag and iothub-* headers', async () => {
    hub.queue.push({
      lockToken: 'lock-1',
      messageId: 'c2d-1',
      body: Buffer.from('hello device'),
      properties: { color: 'blue', Mixed: 'Case' },
      expiry: '2030-01-01T00:00:00.000Z',
      correlationId: 'corr-1',
    });
    const res = await receive();
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'hello device');
    assert.equal(res.headers['etag'], '"lock-1"');
    assert.equal(res.headers['iothub-messageid'], 'c2d-1');
    assert.equal(res.headers['iothub-correlationid'], 'corr-1');
    assert.equal(res.headers['iothub-expiry'], '2030-01-01T00:00:00.000Z');
    assert.equal(res.headers['iothub-to'], '/devices/http-device/messages/devicebound');
    assert.equal(res.headers['iothub-app-color'], 'blue');
    assert.equal(res.headers['iothub-app-mixed'], 'Case');
  });

  it('C2D: complete (DELETE) → 204; the same lock token again → 404 DeviceMessageLockLost', async () => {
    const path = `/devices/http-device/messages/devicebound/lock-1?${API}`;
    const res = await call({ method: 'DELETE', path, headers: { 'If-Match': 'lock-1' } });
    assert.equal(res.status, 204);
    assert.deepEqual(hub.calls.at(-1), {
      method: 'completeC2D',
      deviceId: 'http-device',
      lockToken: 'lock-1',
    });
    assertHubError(await call({ method: 'DELETE', path }), 404, 'DeviceMessageLockLost');
  });

  it('C2D: reject (DELETE …&reject) → 204', async () => {
    hub.queue.push({ lockToken: 'lock-2', messageId: 'c2d-2', body: Buffer.from('x'), properties: {} });
    assert.equal((await receive()).status, 200);
    const res = await call({
      method: 'DELETE',
      path: `/devices/http-device/messages/devicebound/lock-2?${API}&reject`,
    });
    assert.equal(res.status, 204);
    assert.deepEqual(hub.calls.at(-1), { method: 'rejectC2D', deviceId: 'http-device', lockToken: 'lock-2' });
    // `?reject` as the only query works too.
    hub.queue.push({ lockToken: 'lock-3', messageId: 'c2d-3', body: Buffer.from('x'), properties: {} });
    await receive();
    const bare = await call({
      method: 'DELETE',
      path: '/devices/http-device/messages/devicebound/lock-3?reject',
    });
    assert.equal(bare.status, 204);
    assert.equal(hub.calls.at(-1)?.method, 'rejectC2D');
  });

  it('C2D: abandon (POST …/abandon) → 204, and the message comes back', async () => {
    hub.queue.push({ lockToken: 'lock-4', messageId: 'c2d-4', body: Buffer.from('again'), properties: {} });
    await receive();
    const res = await call({
      method: 'POST',
      path: `/devices/http-device/messages/devicebound/lock-4/abandon?${API}`,
      headers: { 'If-Match': 'lock-4' },
    });
    assert.equal(res.status, 204);
    assert.deepEqual(hub.calls.at(-1), {
      method: 'abandonC2D',
      deviceId: 'http-device',
      lockToken: 'lock-4',
    });
    const back = await receive();
    assert.equal(back.status, 200);
    assert.equal(back.body.toString(), 'again');
    assertHubError(
      await call({
        method: 'POST',
        path: `/devices/http-device/messages/devicebound/unknown/abandon?${API}`,
      }),
      404,
      'DeviceMessageLockLost',
    );
  });

  it('refusals: 401 for refused credentials, 404 for an unknown device, 500 without leaking the cause', async () => {
    hub.refuseWith = 401;
    assertHubError(await receive(), 401, 'IotHubUnauthorizedAccess');
    hub.refuseWith = undefined;
    assertHubError(
      await call({ method: 'GET', path: `/devices/nobody/messages/devicebound?${API}` }),
      404,
      'DeviceNotFound',
    );
    const original = hub.sendTelemetry.bind(hub);
    hub.sendTelemetry = () => Promise.reject(new Error('disk full at /var/secret'));
    try {
      const res = await call({
        method: 'POST',
        path: `/devices/http-device/messages/events?${API}`,
        body: 'x',
      });
      assertHubError(res, 500, 'ServerError');
      assert.doesNotMatch(res.body.toString(), /secret/);
    } finally {
      hub.sendTelemetry = original;
    }
  });

  it('unknown hub paths → 404 JSON; a wrong method → 405 with Allow', async () => {
    assertHubError(await call({ method: 'GET', path: `/devices/http-device/twin?${API}` }), 404, 'NotFound');
    const wrong = await call({
      method: 'PUT',
      path: `/devices/http-device/messages/events?${API}`,
      body: 'x',
    });
    assertHubError(wrong, 405, 'MethodNotAllowed');
    assert.equal(wrong.headers['allow'], 'POST');
    assertHubError(
      await call({ method: 'GET', path: `/devices/%E0%A4%A/messages/devicebound?${API}` }),
      400,
      'ArgumentInvalid',
    );
  });

  it('a device id is percent-decoded as the SDK encodes it', async () => {
    hub.devices.add('dev:with space');
    const before = hub.calls.length;
    const res = await call({
      method: 'POST',
      path: `/devices/${encodeURIComponent('dev:with space')}/messages/events?${API}`,
      body: 'x',
    });
    assert.equal(res.status, 204);
    assert.equal(hub.calls[before]?.deviceId, 'dev:with space');
  });

  it('counts requests by route and status', () => {
    const text = metrics.render();
    assert.match(
      text,
      /gatehouse_device_http_requests_total\{route="telemetry",service="hub",status="204"\} \d+/,
    );
    assert.match(
      text,
      /gatehouse_device_http_requests_total\{route="telemetry-batch",service="hub",status="204"\} 1/,
    );
    assert.match(
      text,
      /gatehouse_device_http_requests_total\{route="c2d-complete",service="hub",status="404"\} 1/,
    );
  });
});

describe('hub over HTTPS without a hub handler', () => {
  it('answers 404 JSON for /devices/… (DPS only)', async () => {
    const pki = await createTransportPki();
    const { logger } = captureLogger();
    const dps = new FakeDpsHandler();
    const listener = await startDeviceHttpsListener({
      host: '127.0.0.1',
      port: 0,
      key: pki.server.privateKey.toPem(),
      cert: pki.server.certificate.pem,
      gateway: { dps, logger },
      dpsHandler: dps,
      logger,
    });
    try {
      const res = await httpsCall({
        port: listener.address().port,
        ca: pki.serverCa.certificate.pem,
        method: 'GET',
        path: `/devices/d/messages/devicebound?${API}`,
      });
      assert.equal(res.status, 404);
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    } finally {
      await listener.close();
    }
  });
});
