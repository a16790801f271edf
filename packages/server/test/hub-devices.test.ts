/**
 * The device registry of the hub API (CENTRAL_API.md §1.2 Devices, §3): PUT creates or
 * replaces, PATCH merges, status fields, events; deleting a device closes its connection and
 * removes its twin, session, queued C2D and history.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { HubEvent } from '../src/hub/hub-api.js';
import {
  closed,
  connackCode,
  connectDevice,
  createHubPki,
  eventually,
  insertDevice,
  selfSigned,
  startHub,
  type HubHarness,
  type HubPki,
} from './helpers/hub-harness.js';

describe('hub: devices', () => {
  let pki: HubPki;
  let h: HubHarness;

  before(async () => {
    pki = await createHubPki();
    h = await startHub(pki);
  });

  after(async () => {
    await h.destroy();
  });

  it('creates a device with defaults, replaces it with PUT and merges with PATCH', async () => {
    const events: HubEvent[] = [];
    const unsubscribe = h.hub.subscribe((e) => events.push(e));
    const created = await h.hub.putDevice('dev-a', {});
    assert.deepEqual(
      { ...created, etag: undefined },
      {
        id: 'dev-a',
        etag: undefined,
        displayName: 'dev-a',
        enabled: true,
        provisioned: false,
        simulated: false,
        status: { connected: false, lastActivity: null, lastConnected: null },
      },
    );
    const replaced = await h.hub.putDevice('dev-a', {
      displayName: 'Sensor A',
      template: 'dtmi:com:example:Thermostat;1',
      simulated: true,
      etag: created.etag,
    });
    assert.equal(replaced.displayName, 'Sensor A');
    assert.equal(replaced.template, 'dtmi:com:example:Thermostat;1');
    assert.notEqual(replaced.etag, created.etag);
    const patched = await h.hub.patchDevice('dev-a', { displayName: 'Renamed' });
    assert.equal(patched.displayName, 'Renamed');
    assert.equal(patched.template, 'dtmi:com:example:Thermostat;1');
    assert.equal(patched.simulated, true);
    await assert.rejects(h.hub.patchDevice('dev-a', { etag: created.etag, enabled: false }), {
      code: 'ERR_ETAG_MISMATCH',
    });
    await assert.rejects(h.hub.patchDevice('dev-a', { enabled: 'no' }), { code: 'ERR_DEVICE_INVALID' });
    await assert.rejects(h.hub.putDevice('bad id!', {}), { code: 'ERR_INVALID_ID' });
    await assert.rejects(h.hub.getDevice('missing'), { code: 'ERR_DEVICE_NOT_FOUND', status: 404 });
    assert.ok((await h.hub.listDevices()).some((d) => d.id === 'dev-a'));
    assert.deepEqual(
      events.filter((e) => e.type === 'deviceChanged').map((e) => (e as { change: string }).change),
      ['created', 'updated', 'updated'],
    );
    unsubscribe();
  });

  it('reports connection status and emits connected/disconnected events', async () => {
    const cert = await selfSigned('dev-status');
    await insertDevice(h, 'dev-status', { primary: cert });
    const events: string[] = [];
    const unsubscribe = h.hub.subscribe((e) => events.push(e.type), 'dev-status');
    const client = await connectDevice(h, pki, 'dev-status', { identity: cert });
    await eventually(() => events.includes('connected'));
    const online = await h.hub.getDevice('dev-status');
    assert.equal(online.status.connected, true);
    assert.ok(online.status.lastConnected);
    await client.publishAsync('devices/dev-status/messages/events/', '{"t":1}', { qos: 1 });
    await eventually(() => events.includes('telemetry'));
    await client.endAsync();
    await eventually(() => events.includes('disconnected'));
    const offline = await h.hub.getDevice('dev-status');
    assert.equal(offline.status.connected, false);
    assert.ok(offline.status.lastActivity);
    unsubscribe();
  });

  it('deletes a device: closes its connection and removes twin, session, C2D and telemetry', async () => {
    const cert = await selfSigned('dev-gone');
    await insertDevice(h, 'dev-gone', { primary: cert });
    const client = await connectDevice(h, pki, 'dev-gone', { identity: cert });
    await client.subscribeAsync('$iothub/methods/POST/#', { qos: 0 });
    await client.publishAsync('devices/dev-gone/messages/events/', '{"t":1}', { qos: 1 });
    await h.hub.patchProperties('dev-gone', { x: 1 });
    await h.hub.sendMessage('dev-gone', { body: 'queued' });
    const done = closed(client);
    await h.hub.deleteDevice('dev-gone');
    await done;
    for (const table of ['twins', 'hub_sessions', 'c2d_messages', 'telemetry', 'telemetry_latest'] as const) {
      const rows = await h.store.db
        .selectFrom(table)
        .selectAll()
        .where('device_id', '=', 'dev-gone')
        .execute();
      assert.equal(rows.length, 0, table);
    }
    await assert.rejects(h.hub.getDevice('dev-gone'), { code: 'ERR_DEVICE_NOT_FOUND' });
    assert.equal(await connackCode(connectDevice(h, pki, 'dev-gone', { identity: cert })), 5);
  });
});
