/**
 * The hub client keeps working when the link does not (PROTOCOL.md §3.8, §3.9): it reconnects
 * with back-off after the server restarts (same data folder, same MQTT port), and it renews a
 * short-lived SAS token by reconnecting, with methods, C2D, twin and telemetry still working.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deriveDeviceKey } from '@gatehouse/protocol';
import {
  HubClient,
  ProvisioningClient,
  type CloudToDeviceMessage,
  type HubClientEvents,
} from '../src/index.js';
import { eventually, nextEvent, startGatehouse, subscribed, type Gatehouse } from './helpers/gatehouse.js';

async function provisionSas(g: Gatehouse, registrationId: string): Promise<string> {
  const group = await g.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
    'GET',
    '/api/enrollmentGroups/SAS-IoT-Devices',
  );
  const key = deriveDeviceKey(group.body.attestation.symmetricKey.primaryKey, registrationId);
  await ProvisioningClient.create({
    host: 'localhost',
    port: g.mqttPort,
    idScope: g.idScope,
    registrationId,
    ca: g.ca,
    symmetricKey: key,
  }).register();
  return key;
}

/** Everything a live device does, checked from the REST side. */
async function checkFeatures(g: Gatehouse, client: HubClient, deviceId: string, tag: string): Promise<void> {
  await client.sendEvent({ tag });
  const latest = await g.api<{ value: string }>('GET', `/api/devices/${deviceId}/telemetry/tag`);
  assert.equal(latest.body.value, tag);
  const r = await g.api<{ responseCode: number; response: unknown }>(
    'POST',
    `/api/devices/${deviceId}/commands/echo`,
    { request: tag, responseTimeout: 10 },
  );
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.responseCode, 200);
  assert.deepEqual(r.body.response, { echo: tag });
  const c2d = nextEvent<[CloudToDeviceMessage]>(client, 'message', (m) => m.body.toString() === tag);
  await g.api('POST', `/api/devices/${deviceId}/messages`, { body: tag });
  await c2d;
  const desired = nextEvent<HubClientEvents['desired']>(client, 'desired', (p) => p['name'] === tag);
  await g.api('PATCH', `/api/devices/${deviceId}/properties`, { name: tag });
  await desired;
  await client.updateReportedProperties({ last: tag });
  assert.equal((await client.getTwin()).reported['last'], tag);
}

function wire(client: HubClient): void {
  client.onDeviceMethod('echo', (payload) => ({ status: 200, payload: { echo: payload } }));
  client.on('message', () => undefined);
  client.on('desired', () => undefined);
}

describe('HubClient resilience against a real server', { concurrency: false }, () => {
  let g: Gatehouse;
  const clients: HubClient[] = [];

  before(async () => {
    g = await startGatehouse();
  });

  after(async () => {
    for (const c of clients) await c.close();
    await g?.stop();
  });

  it('reconnects after the server restarts, and a message sent while it was down is delivered', async () => {
    const key = await provisionSas(g, 'restart-dev');
    const client = HubClient.fromConnectionString(
      `HostName=localhost;DeviceId=restart-dev;SharedAccessKey=${key}`,
      {
        port: g.mqttPort,
        ca: g.ca,
        reconnect: { initialDelayMs: 200, maxDelayMs: 1000 },
      },
    );
    clients.push(client);
    wire(client);
    await client.open();
    await subscribed(g, 'restart-dev', 'devices/restart-dev/messages/devicebound/#');
    await checkFeatures(g, client, 'restart-dev', 'before');

    const down = nextEvent<HubClientEvents['disconnected']>(client, 'disconnected');
    const port = g.mqttPort;
    await g.stopOnly();
    assert.equal((await down)[0].reason, 'connection lost');
    assert.equal(client.connected, false);
    // Sent while the server is down: waits for the next connection, then resolves on PUBACK.
    const pending = client.sendEvent({ offline: 1 });
    const back = nextEvent<HubClientEvents['connected']>(client, 'connected', undefined, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    await g.start();
    assert.equal(g.server.mqtt.port, port, 'the server came back on the same MQTT port');
    assert.equal((await back)[0].reason, 'reconnect');
    await pending;
    const offline = await g.api<{ value: number }>('GET', '/api/devices/restart-dev/telemetry/offline');
    assert.equal(offline.body.value, 1);
    await eventually(
      () => g.api<{ status: { connected: boolean } }>('GET', '/api/devices/restart-dev'),
      (r) => r.body.status.connected,
      'connected in REST',
    );
    await checkFeatures(g, client, 'restart-dev', 'after');
  });

  it('renews a short-lived SAS token by reconnecting and stays usable', async () => {
    const key = await provisionSas(g, 'renew-dev');
    const client = HubClient.create({
      host: 'localhost',
      port: g.mqttPort,
      deviceId: 'renew-dev',
      symmetricKey: key,
      ca: g.ca,
      tokenValidSeconds: 6,
    });
    clients.push(client);
    wire(client);
    const reasons: string[] = [];
    const disconnects: string[] = [];
    client.on('connected', ({ reason }) => reasons.push(reason));
    client.on('disconnected', ({ reason }) => disconnects.push(reason));
    await client.open();
    const first = await g.api<{ status: { lastConnected: string } }>('GET', '/api/devices/renew-dev');
    // Tokens live 6 s and are renewed at 75 % (4.5 s): wait for two renewals.
    await eventually(
      async () => reasons.filter((r) => r === 'renewal').length,
      (n) => n >= 2,
      'two token renewals',
      20_000,
    );
    assert.deepEqual(disconnects, [], 'a renewal is not reported as a lost connection');
    const later = await g.api<{ status: { lastConnected: string; connected: boolean } }>(
      'GET',
      '/api/devices/renew-dev',
    );
    assert.notEqual(later.body.status.lastConnected, first.body.status.lastConnected);
    assert.equal(later.body.status.connected, true);
    await checkFeatures(g, client, 'renew-dev', 'renewed');
  });
});
