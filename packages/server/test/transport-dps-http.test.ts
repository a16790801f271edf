/**
 * DPS over HTTPS (PROTOCOL.md §2) on the device HTTPS listener, port 0, with a fake DPS
 * handler and raw node:https requests shaped like azure-iot-provisioning-device-http's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startDeviceHttpsListener, type DeviceHttpsListener } from '../src/device-http/index.js';
import { Metrics } from '../src/metrics.js';
import { captureLogger, FakeDpsHandler } from './helpers/gateway-harness.js';
import {
  createTransportPki,
  httpsCall,
  type HttpsCall,
  type TransportPki,
} from './helpers/transport-fixtures.js';

const SCOPE = '0ne00000A1';
const API = 'api-version=2019-03-31';
/** What the SDK sends on every DPS request (§2). */
const SDK_HEADERS = {
  Accept: 'application/json',
  'Content-Type': 'application/json; charset=utf-8',
  'User-Agent': 'azure-iot-provisioning-device/1.9.1',
};

describe('DPS over HTTPS (PROTOCOL.md §2)', () => {
  let pki: TransportPki;
  let listener: DeviceHttpsListener;
  const handler = new FakeDpsHandler();
  const metrics = new Metrics();

  before(async () => {
    pki = await createTransportPki('http-dps-device');
    const { logger } = captureLogger();
    listener = await startDeviceHttpsListener({
      host: '127.0.0.1',
      port: 0,
      key: pki.server.privateKey.toPem(),
      cert: pki.server.certificate.pem,
      gateway: { dps: handler, logger },
      dpsHandler: handler,
      logger,
      metrics,
    });
  });

  after(async () => {
    await listener?.close();
  });

  const call = (c: Omit<HttpsCall, 'port' | 'ca'>) =>
    httpsCall({ port: listener.address().port, ca: pki.serverCa.certificate.pem, ...c });
  const register = (registrationId: string, extra: Partial<HttpsCall> = {}) =>
    call({
      method: 'PUT',
      path: `/${SCOPE}/registrations/${registrationId}/register?${API}`,
      headers: SDK_HEADERS,
      body: JSON.stringify({ registrationId }),
      ...extra,
    });

  function assertJson(res: { headers: Record<string, unknown> }) {
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  }

  it('register → 202 with Retry-After, Location and the operation body', async () => {
    const before = handler.calls.length;
    const res = await register('http-dps-device');
    assert.equal(res.status, 202);
    assertJson(res);
    assert.equal(res.headers['retry-after'], '3');
    assert.equal(
      res.headers['location'],
      `/${SCOPE}/registrations/http-dps-device/operations/5.fake.1?${API}`,
    );
    assert.ok(res.headers['x-ms-request-id']);
    assert.deepEqual(res.json(), { operationId: '5.fake.1', status: 'assigning' });
    const c = handler.calls[before];
    assert.equal(c?.method, 'register');
    assert.deepEqual(JSON.parse(c.method === 'register' ? c.payload.toString() : ''), {
      registrationId: 'http-dps-device',
    });
    assert.equal(c.ctx.transport, 'https');
    assert.equal(c.ctx.idScope, SCOPE);
    assert.equal(c.ctx.registrationId, 'http-dps-device');
    assert.match(c.ctx.remoteAddress ?? '', /127\.0\.0\.1/);
  });

  it('poll: GET with a `{}` body → 200 with the registration state', async () => {
    const before = handler.calls.length;
    const res = await call({
      method: 'GET',
      path: `/${SCOPE}/registrations/http-dps-device/operations/5.fake.1?${API}`,
      headers: SDK_HEADERS,
      body: '{}',
    });
    assert.equal(res.status, 200);
    assertJson(res);
    assert.equal(res.headers['retry-after'], undefined);
    assert.equal(res.headers['location'], undefined);
    const body = res.json<{ status: string; registrationState: { assignedHub: string } }>();
    assert.equal(body.status, 'assigned');
    assert.equal(body.registrationState.assignedHub, 'localhost');
    const c = handler.calls[before];
    assert.equal(c?.method, 'operationStatus');
    assert.equal(c.method === 'operationStatus' ? c.operationId : '', '5.fake.1');
    // A poll without a body works as well, and a malformed GET body is ignored.
    const bare = await call({ method: 'GET', path: `/${SCOPE}/registrations/x/operations/op?${API}` });
    assert.equal(bare.status, 200);
    const odd = await call({
      method: 'GET',
      path: `/${SCOPE}/registrations/x/operations/op?${API}`,
      body: '{',
    });
    assert.equal(odd.status, 200);
  });

  it('passes a SAS Authorization header through, and ignores any other scheme', async () => {
    const sas = `SharedAccessSignature sr=${SCOPE}%2Fregistrations%2Fsas-1&sig=abc&skn=registration&se=9`;
    let before = handler.calls.length;
    await register('sas-1', { headers: { ...SDK_HEADERS, Authorization: sas } });
    assert.equal(handler.calls[before]?.ctx.sasToken, sas);
    assert.deepEqual(handler.calls[before]?.ctx.clientCertificates, []);
    before = handler.calls.length;
    await register('sas-1', { headers: { ...SDK_HEADERS, Authorization: 'Bearer abc' } });
    assert.equal(handler.calls[before]?.ctx.sasToken, undefined);
  });

  it('passes the X.509 chain of the TLS connection, leaf first, as sent', async () => {
    let before = handler.calls.length;
    await register('http-dps-device', {
      cert: pki.device.certificate.pem,
      key: pki.device.privateKey.toPem(),
    });
    assert.deepEqual(
      handler.calls[before]?.ctx.clientCertificates.map((c) => c.sha256Thumbprint),
      [pki.device.certificate.sha256Thumbprint],
    );
    before = handler.calls.length;
    await register('http-dps-device', {
      cert: pki.device.certificate.pem + pki.deviceRoot.certificate.pem,
      key: pki.device.privateKey.toPem(),
    });
    assert.deepEqual(
      handler.calls[before]?.ctx.clientCertificates.map((c) => c.subjectCN),
      ['http-dps-device', 'transport-test-device-root'],
    );
  });

  it('answers the handler’s refusals with their status, JSON and Retry-After', async () => {
    handler.registerReply = () => ({
      status: 401,
      body: { errorCode: 401002, trackingId: 't', message: 'Invalid certificate.', timestampUtc: 'now' },
    });
    const refused = await register('bad');
    assert.equal(refused.status, 401);
    assertJson(refused);
    assert.equal(refused.json()['errorCode'], 401002);
    handler.registerReply = () => ({ status: 429, body: { errorCode: 429001 }, retryAfterSeconds: 0.5 });
    const throttled = await register('busy');
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers['retry-after'], '0.5');
    handler.registerReply = () => {
      throw new Error('database on fire');
    };
    const failed = await register('boom');
    assert.equal(failed.status, 500);
    assertJson(failed);
    assert.equal(failed.json()['errorCode'], 500000);
    handler.registerReply = () => ({ status: 200, body: [] as unknown as Record<string, unknown> });
    const unsendable = await register('odd');
    assert.equal(unsendable.status, 500);
    assertJson(unsendable);
    handler.registerReply = new FakeDpsHandler().registerReply;
  });

  it('a body over 256 KiB → 413 JSON; the handler is not called', async () => {
    const before = handler.calls.length;
    const big = JSON.stringify({ registrationId: 'big', payload: 'x'.repeat(300 * 1024) });
    const res = await register('big', { body: big });
    assert.equal(res.status, 413);
    assertJson(res);
    assert.equal(res.json()['errorCode'], 413000);
    const chunked = await register('big', {
      body: undefined,
      chunks: [big.slice(0, 200_000), big.slice(200_000)],
    });
    assert.equal(chunked.status, 413);
    assertJson(chunked);
    assert.equal(handler.calls.length, before);
  });

  it('a malformed JSON register body → 400 JSON', async () => {
    const res = await register('broken', { body: '{"registrationId":' });
    assert.equal(res.status, 400);
    assertJson(res);
    assert.equal(res.json()['errorCode'], 400004);
  });

  it('any other path → 404 JSON; a wrong method → 405 JSON with Allow', async () => {
    for (const path of [
      '/',
      '/favicon.ico',
      `/${SCOPE}/registrations/x`,
      `/${SCOPE}/registrations/x/register/more`,
    ]) {
      const res = await call({ method: 'GET', path });
      assert.equal(res.status, 404, path);
      assertJson(res);
      assert.equal(res.json()['errorCode'], 404201);
    }
    const wrong = await call({ method: 'GET', path: `/${SCOPE}/registrations/x/register?${API}` });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers['allow'], 'PUT');
    assertJson(wrong);
    const badEscape = await register('%E0%A4%A');
    assert.equal(badEscape.status, 400);
    assertJson(badEscape);
  });

  it('counts requests by service, route and status', () => {
    const text = metrics.render();
    assert.match(
      text,
      /gatehouse_device_http_requests_total\{route="register",service="dps",status="202"\} \d+/,
    );
    assert.match(
      text,
      /gatehouse_device_http_requests_total\{route="unknown",service="dps",status="404"\} 4/,
    );
    assert.match(
      text,
      /gatehouse_device_http_requests_total\{route="register",service="dps",status="413"\} 2/,
    );
  });
});
