import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { decodePropertyBag, encodePropertyBag, type PropertyBag } from '../src/index.js';
import { assertThrowsCode } from './helpers.js';

const plain = (bag: PropertyBag) => ({ system: { ...bag.system }, application: { ...bag.application } });

describe('decodePropertyBag (PROTOCOL.md §3.3)', () => {
  it('decodes the observed telemetry bag', () => {
    const bag = decodePropertyBag(
      '%24.mid=mid-1&%24.cid=cid-1&%24.ct=application%2Fjson&%24.ce=utf-8&alert=high%20temp&x%2Fy=a%26b%3Dc',
    );
    assert.deepEqual(plain(bag), {
      system: { '$.mid': 'mid-1', '$.cid': 'cid-1', '$.ct': 'application/json', '$.ce': 'utf-8' },
      application: { alert: 'high temp', 'x/y': 'a&b=c' },
    });
  });

  const table: Array<[string, string, PropertyBag]> = [
    ['empty bag', '', { system: {}, application: {} }],
    ['"+" stays "+"', 'a=1+1', { system: {}, application: { a: '1+1' } }],
    ['key without "="', 'flag', { system: {}, application: { flag: '' } }],
    ['empty value', 'k=', { system: {}, application: { k: '' } }],
    ['"=" inside value splits at first', 'k=a=b', { system: {}, application: { k: 'a=b' } }],
    ['trailing "&" and empty segments', 'a=1&&b=2&', { system: {}, application: { a: '1', b: '2' } }],
    ['literal "$." key', '$.to=%2Fdevices%2Fd', { system: { '$.to': '/devices/d' }, application: {} }],
    [
      '$.exp and $.on',
      '%24.exp=2026-01-01T00%3A00%3A00.000Z&%24.on=out1',
      { system: { '$.exp': '2026-01-01T00:00:00.000Z', '$.on': 'out1' }, application: {} },
    ],
    ['repeated key keeps the last', 'k=1&k=2', { system: {}, application: { k: '2' } }],
    ['UTF-8', 'temp%C3%A9=%E2%82%AC', { system: {}, application: { tempé: '€' } }],
  ];
  for (const [name, text, expected] of table) {
    it(name, () => assert.deepEqual(plain(decodePropertyBag(text)), expected));
  }

  it('keeps __proto__ as plain data', () => {
    const bag = decodePropertyBag('__proto__=x');
    assert.equal(Object.keys(bag.application)[0], '__proto__');
    assert.equal(bag.application['__proto__'], 'x');
  });

  for (const bad of ['a=%', 'a=%2', 'a=%ZZ', '%E0%A4%A=1', '=v', 'a=%C3']) {
    it(`refuses ${JSON.stringify(bad)}`, () =>
      assertThrowsCode(() => decodePropertyBag(bad), 'ERR_PROPERTY_BAG_MALFORMED'));
  }
});

describe('encodePropertyBag (PROTOCOL.md §3.4)', () => {
  it('encodes like the hub: $ as %24, every "/" escaped, system first', () => {
    assert.equal(
      encodePropertyBag({
        application: { 'iothub-ack': 'full' },
        system: { '$.to': '/devices/dev-1/messages/deviceBound', '$.mid': 'm 1' },
      }),
      '%24.to=%2Fdevices%2Fdev-1%2Fmessages%2FdeviceBound&%24.mid=m%201&iothub-ack=full',
    );
  });

  it('escapes "&" and "=" so the SDK split on "&" then "=" works', () => {
    assert.equal(encodePropertyBag({ application: { 'x/y': 'a&b=c' } }), 'x%2Fy=a%26b%3Dc');
  });

  it('round-trips through decodePropertyBag', () => {
    const input = { system: { '$.mid': 'ä/ö?#+' }, application: { 'k k': '%41', e: '' } };
    assert.deepEqual(plain(decodePropertyBag(encodePropertyBag(input))), input);
  });

  it('encodes nothing to the empty string and refuses empty names', () => {
    assert.equal(encodePropertyBag({}), '');
    assertThrowsCode(() => encodePropertyBag({ application: { '': 'v' } }), 'ERR_PROTOCOL_INVALID_ARGUMENT');
  });
});
