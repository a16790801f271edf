/**
 * The real Azure SDK across every way a device connects (PROTOCOL.md §1–§6):
 * {X.509 group, X.509 individual, SAS group, SAS individual} × {Mqtt, MqttWs,
 * Http} for provisioning, the same kinds × the same transports for hub
 * telemetry, twin, methods and C2D over MqttWs, and C2D over Http. The SDK
 * fixes the ports (8883 MQTT, 443 HTTPS/WSS), so this file holds both locks,
 * always 8883 first.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  provisionWithSdk,
  sdkCredential,
  sdkEnrollments,
  startSdkDevice,
  type CredentialKind,
  type SdkCredential,
  type SdkEnrollments,
  type SdkTransport,
} from './helpers/azure-credentials.js';
import type { AzureHubDevice } from './helpers/azure-hub.js';
import { holdPortLock } from './helpers/port-lock.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const TRANSPORTS: SdkTransport[] = ['mqtt', 'mqttws', 'http'];

async function eventually<T>(
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let v = await read();
  while (!ok(v)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
    v = await read();
  }
  return v;
}

describe('every attestation × every transport with the real Azure SDK', { concurrency: false }, () => {
  let server: TestServer;
  const releases: Array<() => void> = [];
  let enrollments: SdkEnrollments;
  const devices: AzureHubDevice[] = [];

  before(async () => {
    releases.push(await holdPortLock(8883));
    releases.push(await holdPortLock(443));
    server = await startTestServer({ mqttPort: 8883, httpsPort: 443 });
    assert.ok(server.https, `the HTTPS listener is up (${server.httpsError ?? ''})`);
    enrollments = await sdkEnrollments(server, 'matrix');
  });

  after(async () => {
    for (const d of devices) await d.stop();
    await server?.stop();
    for (const r of releases.reverse()) r();
  });

  /** A fresh identity of the given kind, ready to provision. */
  function credential(kind: CredentialKind, transport: SdkTransport): Promise<SdkCredential> {
    return sdkCredential(enrollments, kind, `${kind}-${transport}`);
  }

  function startDevice(
    c: SdkCredential,
    transport: SdkTransport,
    extra: Record<string, string> = {},
  ): AzureHubDevice {
    const d = startSdkDevice(server, c, transport, extra);
    devices.push(d);
    return d;
  }

  for (const kind of ['x509-group', 'x509-individual', 'sas-group', 'sas-individual'] as const) {
    for (const transport of TRANSPORTS) {
      it(`${kind} provisions over ${transport} and sends telemetry to the hub over ${transport}`, async () => {
        const c = await credential(kind, transport);
        const reg = await provisionWithSdk(server, c, transport);
        assert.equal(reg.ok, true, `${kind}/${transport}: ${JSON.stringify(reg.error)}`);
        assert.equal(reg.result?.deviceId, c.registrationId);
        assert.equal(reg.result?.assignedHub, 'localhost');

        const device = startDevice(c, transport, { TELEMETRY_COUNT: '1' });
        await device.waitFor((e) => e.event === 'sent', 30_000, `${kind}/${transport} telemetry`);
        const latest = await server.api<{ value: number }>(
          'GET',
          `/api/devices/${c.registrationId}/telemetry/temp`,
        );
        assert.equal(latest.status, 200, JSON.stringify(latest.body));
        assert.equal(latest.body.value, 20);
        await device.stop();
      });
    }
  }

  it('twin, methods and C2D over MqttWs', async () => {
    const c = await credential('x509-group', 'mqttws');
    const device = startDevice(c, 'mqttws');
    await device.waitFor((e) => e.event === 'reported', 30_000, 'start-up twin patch over WSS');
    const desired = device.next(
      (e) => e.event === 'desired' && (e['delta'] as Record<string, unknown>)['brightness'] !== undefined,
      20_000,
      'desired over WSS',
    );
    await server.api('PATCH', `/api/devices/${c.registrationId}/properties`, { brightness: 3 });
    await desired;
    await eventually(
      () =>
        server.api<{ $metadata?: Record<string, { ackCode?: number }> }>(
          'GET',
          `/api/devices/${c.registrationId}/properties`,
        ),
      (r) => r.body.$metadata?.['brightness']?.ackCode === 200,
      'ack over WSS',
    );
    const cmd = await server.api<{ responseCode: number }>(
      'POST',
      `/api/devices/${c.registrationId}/commands/blink`,
      { request: 4 },
    );
    assert.equal(cmd.status, 201, JSON.stringify(cmd.body));
    assert.equal(cmd.body.responseCode, 200);
    await server.api('POST', `/api/devices/${c.registrationId}/messages`, { body: 'over wss' });
    await device.waitFor((e) => e.event === 'c2d' && e['body'] === 'over wss', 20_000, 'C2D over WSS');
    await device.stop();
  });

  it('C2D over Http: received by polling and completed', async () => {
    const c = await credential('sas-group', 'http');
    const sent = await server.api('POST', `/api/devices/${c.registrationId}/messages`, {
      body: 'over http',
      properties: { k: 'v' },
    });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const device = startDevice(c, 'http');
    const msg = await device.waitFor((e) => e.event === 'c2d', 30_000, 'C2D over HTTP');
    assert.equal(msg['body'], 'over http');
    await eventually(
      () =>
        server.api<{ value: Array<{ state: string }> }>('GET', `/api/devices/${c.registrationId}/messages`),
      (r) => r.body.value[0]?.state === 'delivered',
      'completed over HTTP',
    );
    await device.stop();
  });
});
