/**
 * Known-answer tests for what the client puts on the wire and reads from it (STYLE.md §11):
 * the telemetry property bag captured from the Azure SDK (PROTOCOL.md §3.3), C2D bags (§3.4),
 * and the reconnect back-off.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, decodeCloudToDeviceMessage, encodeTelemetry, isDeviceError } from '../src/index.js';

describe('telemetry property bag', () => {
  it('matches the bag captured from azure-iot-device-mqtt byte for byte', () => {
    const { bag, payload } = encodeTelemetry(Buffer.from('{}'), {
      messageId: 'mid-1',
      correlationId: 'cid-1',
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      properties: { alert: 'high temp', 'x/y': 'a&b=c' },
    });
    assert.equal(
      bag,
      '%24.mid=mid-1&%24.cid=cid-1&%24.ct=application%2Fjson&%24.ce=utf-8&alert=high%20temp&x%2Fy=a%26b%3Dc',
    );
    assert.equal(payload.toString(), '{}');
  });

  it('serialises objects as JSON with content type and encoding, strings as UTF-8 without', () => {
    assert.deepEqual(encodeTelemetry({ temp: 21 }), {
      payload: Buffer.from('{"temp":21}'),
      bag: '%24.ct=application%2Fjson&%24.ce=utf-8',
    });
    assert.deepEqual(encodeTelemetry('héllo'), { payload: Buffer.from('héllo', 'utf8'), bag: '' });
    assert.equal(encodeTelemetry(new Uint8Array([1, 2])).payload.length, 2);
  });

  it('sends the component and a dt-subject property as $.sub', () => {
    assert.equal(encodeTelemetry('x', { component: 'thermostat1' }).bag, '%24.sub=thermostat1');
    assert.equal(encodeTelemetry('x', { properties: { 'dt-subject': 'c2' } }).bag, '%24.sub=c2');
  });

  it('refuses a body over 256 KiB', () => {
    assert.throws(
      () => encodeTelemetry(Buffer.alloc(256 * 1024 + 1)),
      (err: unknown) => isDeviceError(err, 'ERR_DEVICE_MESSAGE_TOO_LARGE'),
    );
    assert.doesNotThrow(() => encodeTelemetry(Buffer.alloc(256 * 1024)));
  });
});

describe('cloud-to-device property bag', () => {
  it('maps the real hub bag onto message fields and application properties', () => {
    const msg = decodeCloudToDeviceMessage(
      '%24.mid=m-1&%24.to=%2Fdevices%2Fd1%2Fmessages%2FdeviceBound&%24.cid=c-1&%24.ct=text%2Fplain&iothub-ack=full&kind=greeting%20card',
      Buffer.from('hi'),
    );
    assert.equal(msg.messageId, 'm-1');
    assert.equal(msg.to, '/devices/d1/messages/deviceBound');
    assert.equal(msg.correlationId, 'c-1');
    assert.equal(msg.contentType, 'text/plain');
    assert.deepEqual(msg.properties, { 'iothub-ack': 'full', kind: 'greeting card' });
    assert.equal(msg.systemProperties['$.mid'], 'm-1');
    assert.equal(msg.body.toString(), 'hi');
  });

  it('accepts an empty bag', () => {
    const msg = decodeCloudToDeviceMessage('', Buffer.alloc(0));
    assert.deepEqual(msg.properties, {});
    assert.equal(msg.messageId, undefined);
  });
});

describe('reconnect back-off', () => {
  it('grows exponentially up to the cap, with jitter in the upper half', () => {
    const options = { initialDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(
      backoffDelay(0, options, () => 0),
      50,
    );
    assert.equal(
      backoffDelay(0, options, () => 1),
      100,
    );
    assert.equal(
      backoffDelay(2, options, () => 1),
      400,
    );
    assert.equal(
      backoffDelay(10, options, () => 1),
      1000,
    );
    assert.equal(
      backoffDelay(10, options, () => 0),
      500,
    );
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(3, options);
      assert.ok(d >= 400 && d <= 800, String(d));
    }
  });
});
