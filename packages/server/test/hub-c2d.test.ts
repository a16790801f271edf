/**
 * Cloud-to-device messages (PROTOCOL.md §3.4): queued while offline and delivered in order on
 * reconnect (persistent session), QoS 1 with PUBACK = delivered, the property bag in the 5th
 * topic segment, a queue of at most 50, expired messages never sent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { decodePropertyBag } from '@gatehouse/protocol';
import type { Issued } from '@gatehouse/pki';
import type { MqttClient } from 'mqtt';

import {
  connectDevice,
  createHubPki,
  eventually,
  insertDevice,
  selfSigned,
  startHub,
  type HubHarness,
  type HubPki,
} from './helpers/hub-harness.js';

describe('hub: cloud-to-device messages', () => {
  let pki: HubPki;
  let h: HubHarness;

  before(async () => {
    pki = await createHubPki();
    h = await startHub(pki);
  });

  after(async () => {
    await h.destroy();
  });

  async function subscribedOnce(id: string): Promise<Issued> {
    const cert = await selfSigned(id);
    await insertDevice(h, id, { primary: cert });
    const client = await connectDevice(h, pki, id, { identity: cert });
    await client.subscribeAsync(`devices/${id}/messages/devicebound/#`, { qos: 1 });
    await client.endAsync();
    await eventually(() => !h.hub.isConnected(id));
    return cert;
  }

  function collect(client: MqttClient, into: Array<{ topic: string; body: string; qos: number }>): void {
    client.on('message', (topic, payload, packet) =>
      into.push({ topic, body: payload.toString(), qos: packet.qos }),
    );
  }

  it('delivers messages queued while offline, in order, on reconnect without re-subscribing', async () => {
    const id = 'c2d-offline';
    const cert = await subscribedOnce(id);
    const first = await h.hub.sendMessage(id, {
      body: 'one',
      properties: { 'iothub-ack': 'full', 'a b': 'c/d' },
      messageId: 'mid-1',
      correlationId: 'cid-1',
    });
    assert.equal(first.state, 'queued');
    await h.hub.sendMessage(id, { body: { n: 2 } });
    await h.hub.sendMessage(id, { body: 'three' });

    const received: Array<{ topic: string; body: string; qos: number }> = [];
    const client = await connectDevice(h, pki, id, { identity: cert });
    collect(client, received);
    await eventually(() => received.length === 3);
    assert.deepEqual(
      received.map((m) => m.body),
      ['one', '{"n":2}', 'three'],
    );
    assert.ok(received.every((m) => m.qos === 1));
    const [head] = received;
    const segments = head!.topic.split('/');
    assert.equal(segments.length, 5);
    const bag = decodePropertyBag(segments[4]!);
    assert.equal(bag.system['$.mid'], 'mid-1');
    assert.equal(bag.system['$.cid'], 'cid-1');
    assert.equal(bag.system['$.to'], `/devices/${id}/messages/devicebound`);
    assert.ok(bag.system['$.exp']);
    assert.deepEqual({ ...bag.application }, { 'iothub-ack': 'full', 'a b': 'c/d' });
    await eventually(async () => (await h.hub.listMessages(id)).every((m) => m.state === 'delivered'));
    const listed = await h.hub.listMessages(id);
    assert.ok(listed.every((m) => m.delivered !== null));
    await client.endAsync();
  });

  it('delivers at once to a connected, subscribed device', async () => {
    const id = 'c2d-live';
    const cert = await selfSigned(id);
    await insertDevice(h, id, { primary: cert });
    const client = await connectDevice(h, pki, id, { identity: cert });
    await client.subscribeAsync(`devices/${id}/messages/devicebound/#`, { qos: 1 });
    const received: Array<{ topic: string; body: string; qos: number }> = [];
    collect(client, received);
    await h.hub.sendMessage(id, { body: 'now' });
    await eventually(() => received.length === 1);
    await client.endAsync();
  });

  it('refuses the 51st undelivered message with ERR_C2D_QUEUE_FULL', async () => {
    const id = 'c2d-full';
    await insertDevice(h, id);
    for (let i = 0; i < 50; i++) await h.hub.sendMessage(id, { body: `m${i}` });
    await assert.rejects(h.hub.sendMessage(id, { body: 'one too many' }), {
      code: 'ERR_C2D_QUEUE_FULL',
      status: 403,
    });
  });

  it('does not deliver expired messages', async () => {
    const id = 'c2d-expired';
    const cert = await subscribedOnce(id);
    const stale = await h.hub.sendMessage(id, { body: 'stale', ttl: 60 });
    await h.store.db
      .updateTable('c2d_messages')
      .set({ expiry: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', stale.id)
      .execute();
    await h.hub.sendMessage(id, { body: 'fresh' });
    const received: Array<{ topic: string; body: string; qos: number }> = [];
    const client = await connectDevice(h, pki, id, { identity: cert });
    collect(client, received);
    await eventually(() => received.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      received.map((m) => m.body),
      ['fresh'],
    );
    const states = (await h.hub.listMessages(id)).map((m) => m.state).sort();
    assert.deepEqual(states, ['delivered', 'expired']);
    await client.endAsync();
  });

  it('the expiry job marks every device’s queued messages past their expiry, and only those', async () => {
    await insertDevice(h, 'c2d-expire-a');
    await insertDevice(h, 'c2d-expire-b');
    const old = await h.hub.sendMessage('c2d-expire-a', { body: 'old', ttl: 60 });
    await h.hub.sendMessage('c2d-expire-b', { body: 'current', ttl: 3600 });
    await h.store.db
      .updateTable('c2d_messages')
      .set({ expiry: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', old.id)
      .execute();
    assert.equal(await h.hub.c2d.expireAll(), 1);
    assert.deepEqual(
      (await h.hub.listMessages('c2d-expire-a')).map((m) => m.state),
      ['expired'],
    );
    assert.deepEqual(
      (await h.hub.listMessages('c2d-expire-b')).map((m) => m.state),
      ['queued'],
    );
    assert.equal(await h.hub.c2d.expireAll(), 0);
  });

  it('validates messages', async () => {
    await insertDevice(h, 'c2d-invalid');
    await assert.rejects(h.hub.sendMessage('c2d-invalid', {}), { code: 'ERR_C2D_INVALID' });
    await assert.rejects(h.hub.sendMessage('c2d-invalid', { body: 'x', ttl: 0 }), {
      code: 'ERR_C2D_INVALID',
    });
    await assert.rejects(h.hub.sendMessage('c2d-invalid', { body: 'x', properties: { a: 1 } }), {
      code: 'ERR_C2D_INVALID',
    });
    await assert.rejects(h.hub.sendMessage('nobody', { body: 'x' }), { code: 'ERR_DEVICE_NOT_FOUND' });
  });
});
