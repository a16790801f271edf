import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  buildDeviceConnectionString,
  parseDeviceConnectionString,
  type DeviceConnectionString,
  type ProtocolErrorCode,
} from '../src/index.js';
import { assertThrowsCode } from './helpers.js';

const KEY = 'Jsm0lyGpjaVYVP2g3FnmnmG9dI/9qU24wNoykUmermc=';

describe('parseDeviceConnectionString', () => {
  const table: Array<[string, DeviceConnectionString]> = [
    [
      `HostName=localhost;DeviceId=my-sym-device;SharedAccessKey=${KEY}`,
      { hostName: 'localhost', deviceId: 'my-sym-device', sharedAccessKey: KEY },
    ],
    ['HostName=hub:18883;DeviceId=d;x509=true', { hostName: 'hub:18883', deviceId: 'd', x509: true }],
    [
      `HostName=h;DeviceId=d;ModuleId=m;SharedAccessKeyName=pol;SharedAccessKey=${KEY};GatewayHostName=edge;`,
      {
        hostName: 'h',
        deviceId: 'd',
        moduleId: 'm',
        sharedAccessKeyName: 'pol',
        sharedAccessKey: KEY,
        gatewayHostName: 'edge',
      },
    ],
    [
      'SharedAccessSignature=SharedAccessSignature sr=h%2Fdevices%2Fd&sig=a%3D&se=1;DeviceId=d;HostName=h;Unknown=1',
      {
        hostName: 'h',
        deviceId: 'd',
        sharedAccessSignature: 'SharedAccessSignature sr=h%2Fdevices%2Fd&sig=a%3D&se=1',
      },
    ],
    ['HostName=h;DeviceId=d;x509=TRUE', { hostName: 'h', deviceId: 'd', x509: true }],
  ];
  for (const [text, expected] of table) {
    it(text, () => assert.deepEqual(parseDeviceConnectionString(text), expected));
  }

  const bad: Array<[string, ProtocolErrorCode]> = [
    ['HostName=h;DeviceId;SharedAccessKey=k', 'ERR_CONNECTION_STRING_MALFORMED'],
    ['HostName=h;HostName=h2;DeviceId=d;x509=true', 'ERR_CONNECTION_STRING_MALFORMED'],
    ['HostName=h;DeviceId=d;x509=yes', 'ERR_CONNECTION_STRING_MALFORMED'],
    ['=x;HostName=h;DeviceId=d;x509=true', 'ERR_CONNECTION_STRING_MALFORMED'],
    ['DeviceId=d;x509=true', 'ERR_CONNECTION_STRING_INCOMPLETE'],
    ['HostName=h;x509=true', 'ERR_CONNECTION_STRING_INCOMPLETE'],
    ['HostName=h;DeviceId=d', 'ERR_CONNECTION_STRING_INCOMPLETE'],
    ['HostName=h;DeviceId=d;x509=false', 'ERR_CONNECTION_STRING_INCOMPLETE'],
    ['hostname=h;deviceid=d;x509=true', 'ERR_CONNECTION_STRING_INCOMPLETE'],
    ['', 'ERR_CONNECTION_STRING_INCOMPLETE'],
  ];
  for (const [text, code] of bad) {
    it(`refuses ${JSON.stringify(text)} with ${code}`, () =>
      assertThrowsCode(() => parseDeviceConnectionString(text), code));
  }
});

describe('buildDeviceConnectionString', () => {
  it('builds in conventional order and round-trips', () => {
    const cs: DeviceConnectionString = {
      hostName: 'h',
      deviceId: 'd',
      sharedAccessKey: KEY,
      gatewayHostName: 'g',
    };
    const text = buildDeviceConnectionString(cs);
    assert.equal(text, `HostName=h;DeviceId=d;SharedAccessKey=${KEY};GatewayHostName=g`);
    assert.deepEqual(parseDeviceConnectionString(text), cs);
    assert.equal(
      buildDeviceConnectionString({ hostName: 'h', deviceId: 'd', x509: true }),
      'HostName=h;DeviceId=d;x509=true',
    );
  });

  it('refuses values with ";" and incomplete input', () => {
    assertThrowsCode(
      () => buildDeviceConnectionString({ hostName: 'h', deviceId: 'd;x', x509: true }),
      'ERR_CONNECTION_STRING_MALFORMED',
    );
    assertThrowsCode(
      () => buildDeviceConnectionString({ hostName: 'h', deviceId: 'd' }),
      'ERR_CONNECTION_STRING_INCOMPLETE',
    );
  });
});
