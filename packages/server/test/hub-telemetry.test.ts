/**
 * Telemetry (PROTOCOL.md §3.3, §3.7): QoS 1 is PUBACKed only once stored, with group commit;
 * property bags decoded; latest values and history; retention; and the publishes and
 * subscriptions that close the connection (a device only touches its own topics).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { MqttClient } from 'mqtt';

import {
  closed,
  connectDevice,
  createHubPki,
  insertDevice,
  selfSigned,
  startHub,
  type HubHarness,
  type HubPki,
} from './helpers/hub-harness.js';

describe('hub: telemetry', () => {
  let pki: HubPki;
  let h: HubHarness;

  before(async () => {
    pki = await createHubPki();
    h = await startHub(pki);
  });

  after(async () => {
    await h.destroy();
  });

  async function device(id: string): Promise<MqttClient> {
    const cert = await selfSigned(id);
    await insertDevice(h, id, { primary: cert });
    return connectDevice(h, pki, id, { identity: cert });
  }

  function rows(id: string): Array<Record<string, unknown>> {
    return h.store.sqlite.prepare('SELECT * FROM telemetry WHERE device_id = ? ORDER BY id').all(id) as Array<
      Record<string, unknown>
    >;
  }

  async function closedWith(client: MqttClient, action: () => void, reason: string): Promise<void> {
    const done = closed(client);
    action();
    await done;
    const lines = h.log.lines.filter((l) => l['msg'] === 'mqtt connection closed');
    assert.ok(
      lines.some((l) => String(l['detail']).includes(reason)),
      `expected a close with '${reason}', got ${JSON.stringify(lines.map((l) => l['detail']))}`,
    );
  }

  it('stores a QoS 1 message before the PUBACK, with the property bag decoded', async () => {
    const client = await device('tel-1');
    const topic =
      'devices/tel-1/messages/events/%24.mid=mid-1&%24.cid=cid-1&%24.ct=application%2Fjson&%24.ce=utf-8&%24.sub=thermostat1&alert=high%20temp&x%2Fy=a%26b%3Dc';
    await client.publishAsync(topic, JSON.stringify({ temperature: 21.5, humid: 40 }), { qos: 1 });
    // The PUBACK has arrived: the row must already be committed.
    const [row] = rows('tel-1');
    assert.ok(row);
    assert.equal(row['component'], 'thermostat1');
    assert.equal(row['content_type'], 'application/json');
    assert.deepEqual(JSON.parse(String(row['system_properties'])), {
      '$.mid': 'mid-1',
      '$.cid': 'cid-1',
      '$.ct': 'application/json',
      '$.ce': 'utf-8',
      '$.sub': 'thermostat1',
    });
    assert.deepEqual(JSON.parse(String(row['properties'])), { alert: 'high temp', 'x/y': 'a&b=c' });
    const latest = await h.hub.latestTelemetry('tel-1', 'temperature', 'thermostat1');
    assert.equal(latest.value, 21.5);
    await assert.rejects(h.hub.latestTelemetry('tel-1', 'temperature'), { code: 'ERR_TELEMETRY_NOT_FOUND' });
    await client.endAsync();
  });

  it('stores QoS 0 messages (no acknowledgement) and keeps non-JSON bodies', async () => {
    const client = await device('tel-0');
    await client.publishAsync('devices/tel-0/messages/events/', 'plain text', { qos: 0 });
    await client.publishAsync('devices/tel-0/messages/events/', Buffer.from([0xff, 0x00, 0xfe]), { qos: 0 });
    await h.hub.ingest.flush();
    await new Promise((r) => setTimeout(r, 50));
    await h.hub.ingest.flush();
    const history = await h.hub.telemetryHistory('tel-0', {});
    assert.deepEqual(
      history.map((m) => [m.bodyEncoding, m.body]),
      [
        ['text', 'plain text'],
        ['base64', Buffer.from([0xff, 0x00, 0xfe]).toString('base64')],
      ],
    );
    await client.endAsync();
  });

  it('group-commits concurrent QoS 1 publishes from several clients, acknowledging all', async () => {
    const ids = ['gc-1', 'gc-2', 'gc-3', 'gc-4'];
    const clients = await Promise.all(ids.map((id) => device(id)));
    const batchesBefore = h.hub.ingest.batches;
    const messagesBefore = h.hub.ingest.messages;
    const perClient = 250;
    await Promise.all(
      clients.map((client, i) =>
        Promise.all(
          Array.from({ length: perClient }, (_, n) =>
            client.publishAsync(`devices/${ids[i]}/messages/events/`, JSON.stringify({ n }), { qos: 1 }),
          ),
        ),
      ),
    );
    for (const id of ids) assert.equal(rows(id).length, perClient);
    const messages = h.hub.ingest.messages - messagesBefore;
    const batches = h.hub.ingest.batches - batchesBefore;
    assert.equal(messages, perClient * ids.length);
    assert.ok(batches < messages, `expected batching, got ${batches} commits for ${messages} messages`);
    assert.ok(h.hub.ingest.largestBatch > 1);
    assert.match(h.metrics.render(), /gatehouse_hub_telemetry_batches_total \d+/);
    await Promise.all(clients.map((c) => c.endAsync()));
  });

  it('answers latest values and history by time range and field name', async () => {
    const client = await device('hist-1');
    const t0 = new Date();
    await client.publishAsync('devices/hist-1/messages/events/', JSON.stringify({ temp: 1 }), { qos: 1 });
    await new Promise((r) => setTimeout(r, 15));
    const t1 = new Date();
    await client.publishAsync('devices/hist-1/messages/events/', JSON.stringify({ temp: 2, humid: 50 }), {
      qos: 1,
    });
    await client.publishAsync('devices/hist-1/messages/events/', JSON.stringify({ humid: 51 }), { qos: 1 });
    assert.equal((await h.hub.latestTelemetry('hist-1', 'temp')).value, 2);
    assert.equal((await h.hub.latestTelemetry('hist-1', 'humid')).value, 51);
    const all = await h.hub.telemetryHistory('hist-1', { from: t0 });
    assert.deepEqual(
      all.map((m) => m.body),
      [{ temp: 1 }, { temp: 2, humid: 50 }, { humid: 51 }],
    );
    const later = await h.hub.telemetryHistory('hist-1', { from: t1 });
    assert.equal(later.length, 2);
    const before = await h.hub.telemetryHistory('hist-1', { to: t1 });
    assert.deepEqual(
      before.map((m) => m.body),
      [{ temp: 1 }],
    );
    const temps = await h.hub.telemetryHistory('hist-1', { name: 'temp' });
    assert.deepEqual(
      temps.map((m) => m.body),
      [{ temp: 1 }, { temp: 2, humid: 50 }],
    );
    const lastOne = await h.hub.telemetryHistory('hist-1', { limit: 1 });
    assert.deepEqual(
      lastOne.map((m) => m.body),
      [{ humid: 51 }],
    );
    await assert.rejects(h.hub.telemetryHistory('hist-1', { limit: 0 }), {
      code: 'ERR_TELEMETRY_QUERY_INVALID',
    });
    await assert.rejects(h.hub.telemetryHistory('nobody', {}), { code: 'ERR_DEVICE_NOT_FOUND' });
    await client.endAsync();
  });

  it('deletes telemetry older than the retention period', async () => {
    await insertDevice(h, 'ret-1');
    const old = new Date(Date.now() - 31 * 24 * 3600 * 1000).toISOString();
    const base = {
      deviceId: 'ret-1',
      component: null,
      contentType: null,
      systemProperties: {},
      properties: {},
    };
    await Promise.all([
      h.hub.ingest.submit({ ...base, enqueuedAt: old, body: Buffer.from('{"a":1}') }),
      h.hub.ingest.submit({ ...base, enqueuedAt: new Date().toISOString(), body: Buffer.from('{"a":2}') }),
    ]);
    const deleted = await h.hub.applyRetention();
    assert.ok(deleted >= 1);
    assert.deepEqual(
      rows('ret-1').map((r) => String(r['body'])),
      ['{"a":2}'],
    );
  });

  it('closes a device that publishes to another device’s topic', async () => {
    const client = await device('acl-pub');
    await closedWith(
      client,
      () =>
        void client.publishAsync('devices/other/messages/events/', 'x', { qos: 1 }).catch(() => undefined),
      'own events topic',
    );
  });

  it('closes a device that subscribes to #', async () => {
    const client = await device('acl-sub');
    await closedWith(
      client,
      () => void client.subscribeAsync('#', { qos: 0 }).catch(() => undefined),
      "'#' refused",
    );
  });

  it('closes a device that subscribes to another device’s C2D topic', async () => {
    const client = await device('acl-sub2');
    await closedWith(
      client,
      () => void client.subscribeAsync('devices/other/messages/devicebound/#').catch(() => undefined),
      'refused',
    );
  });

  it('closes a device that publishes with QoS 2', async () => {
    const client = await device('acl-qos2');
    await closedWith(
      client,
      () =>
        void client.publishAsync('devices/acl-qos2/messages/events/', 'x', { qos: 2 }).catch(() => undefined),
      'QoS 2',
    );
  });

  it('closes a device that publishes 300 KiB (gateway) or just over 256 KiB (hub)', async () => {
    const big = await device('acl-big');
    const done = closed(big);
    void big
      .publishAsync('devices/acl-big/messages/events/', Buffer.alloc(300 * 1024), { qos: 1 })
      .catch(() => undefined);
    await done;
    const over = await device('acl-over');
    await closedWith(
      over,
      () =>
        void over
          .publishAsync('devices/acl-over/messages/events/', Buffer.alloc(256 * 1024 + 10), { qos: 1 })
          .catch(() => undefined),
      'exceeds 262144',
    );
    assert.equal(rows('acl-big').length + rows('acl-over').length, 0);
  });

  it('closes a device whose property bag is malformed', async () => {
    const client = await device('acl-bag');
    await closedWith(
      client,
      () =>
        void client
          .publishAsync('devices/acl-bag/messages/events/%ZZ=1', 'x', { qos: 1 })
          .catch(() => undefined),
      'malformed property bag',
    );
  });

  it('closes a device that publishes to a topic outside the hub’s', async () => {
    const client = await device('acl-topic');
    await closedWith(
      client,
      () => void client.publishAsync('$iothub/something/else', 'x', { qos: 0 }).catch(() => undefined),
      'not open to devices',
    );
  });
});
