import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseMqttUsername } from '../src/index.js';

const UA = 'azure-iot-device%2F1.18.4%20(node%20v20.20.2%3B%20Debian%2012%3B%20x64)';

describe('parseMqttUsername: DPS (PROTOCOL.md §1.2)', () => {
  it('parses the observed Node SDK username', () => {
    const u = parseMqttUsername(
      '0ne00ABC123/registrations/my-sym-device/api-version=2019-03-31&ClientVersion=azure-iot-provisioning-device%2F1.9.1',
    );
    assert.deepEqual(
      { ...u, params: { ...u?.params } },
      {
        kind: 'dps',
        idScope: '0ne00ABC123',
        registrationId: 'my-sym-device',
        apiVersion: '2019-03-31',
        params: { 'api-version': '2019-03-31', ClientVersion: 'azure-iot-provisioning-device/1.9.1' },
      },
    );
  });

  const lenient: Array<[string, string, string | undefined]> = [
    ['docs form without ClientVersion', '0ne1/registrations/dev.1/api-version=2019-03-31', '2019-03-31'],
    ['no parameters at all', '0ne1/registrations/dev.1', undefined],
    ['trailing slash only', '0ne1/registrations/dev.1/', undefined],
  ];
  for (const [name, username, apiVersion] of lenient) {
    it(`accepts ${name}`, () => {
      const u = parseMqttUsername(username);
      assert.ok(u && u.kind === 'dps');
      assert.equal(u.idScope, '0ne1');
      assert.equal(u.registrationId, 'dev.1');
      assert.equal(u.apiVersion, apiVersion);
    });
  }
});

describe('parseMqttUsername: hub (PROTOCOL.md §3.1)', () => {
  it('parses the observed device username with model-id and DeviceClientType', () => {
    const u = parseMqttUsername(
      `localhost:18883/my-sym-device/?api-version=2021-04-12&model-id=dtmi:com:example:Thermostat;1&DeviceClientType=${UA}`,
    );
    assert.ok(u && u.kind === 'hub');
    assert.equal(u.hostName, 'localhost:18883');
    assert.equal(u.deviceId, 'my-sym-device');
    assert.equal(u.moduleId, undefined);
    assert.equal(u.apiVersion, '2021-04-12');
    assert.equal(u.modelId, 'dtmi:com:example:Thermostat;1');
    assert.equal(u.deviceClientType, 'azure-iot-device/1.18.4 (node v20.20.2; Debian 12; x64)');
    assert.deepEqual(Object.keys(u.params), ['api-version', 'model-id', 'DeviceClientType']);
  });

  it('parses the username without model-id', () => {
    const u = parseMqttUsername(`hub.example.com/dev-1/?api-version=2021-04-12&DeviceClientType=${UA}`);
    assert.ok(u && u.kind === 'hub');
    assert.equal(u.modelId, undefined);
    assert.equal(u.deviceId, 'dev-1');
  });

  it('parses a module username', () => {
    const u = parseMqttUsername(
      `hub.example.com/dev-1/filter/?api-version=2021-04-12&DeviceClientType=${UA}`,
    );
    assert.ok(u && u.kind === 'hub');
    assert.equal(u.deviceId, 'dev-1');
    assert.equal(u.moduleId, 'filter');
  });

  it('keeps a device id that contains "?"', () => {
    const u = parseMqttUsername('hub/?odd?id/?api-version=2021-04-12');
    assert.ok(u && u.kind === 'hub');
    assert.equal(u.deviceId, '?odd?id');
  });

  it('a hub device named "registrations" is not DPS', () => {
    const u = parseMqttUsername('0ne1/registrations/?api-version=2021-04-12');
    assert.equal(u?.kind, 'hub');
  });

  it('"/?" always means hub: module "dev.1" of device "registrations" (no SDK sends "/?" to DPS)', () => {
    const u = parseMqttUsername('0ne1/registrations/dev.1/?api-version=2021-06-01');
    assert.ok(u && u.kind === 'hub');
    assert.equal(u.deviceId, 'registrations');
    assert.equal(u.moduleId, 'dev.1');
  });

  it('keeps raw values whose percent-encoding is malformed', () => {
    const u = parseMqttUsername('hub/dev/?api-version=2021-04-12&DeviceClientType=50%off');
    assert.ok(u && u.kind === 'hub');
    assert.equal(u.deviceClientType, '50%off');
  });
});

describe('parseMqttUsername: neither', () => {
  for (const username of [
    '',
    'dev-1',
    'hub/dev-1',
    '/registrations/x/api-version=1',
    'scope/registrations//',
    'a/b/c/d/?x=1',
    'hub//?api-version=1',
  ]) {
    it(`${JSON.stringify(username)} → null`, () => assert.equal(parseMqttUsername(username), null));
  }
});
