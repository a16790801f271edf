import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  METHODS_REQUEST_FILTER,
  TWIN_DESIRED_FILTER,
  TWIN_RESPONSE_FILTER,
  c2dFilter,
  c2dTopic,
  desiredPatchTopic,
  hubSubscriptionAllowed,
  isValidDeviceId,
  methodRequestTopic,
  methodResponseTopic,
  parseHubCloudTopic,
  parseHubPublishTopic,
  telemetryTopic,
  twinGetTopic,
  twinPatchReportedTopic,
  twinResponseTopic,
  type HubCloudTopic,
  type HubPublishTopic,
} from '../src/index.js';
import { assertThrowsCode } from './helpers.js';

const DEV = 'my-sym-device';
const RID = 'c7a1e1f0-2b0b-4d47-9d4e-6f3a2f1b9e77';
const OBSERVED =
  'devices/my-sym-device/messages/events/%24.mid=mid-1&%24.cid=cid-1&%24.ct=application%2Fjson&%24.ce=utf-8&alert=high%20temp&x%2Fy=a%26b%3Dc';

describe('parseHubPublishTopic (PROTOCOL.md §3.3–§3.6)', () => {
  const allowed: Array<[string, HubPublishTopic]> = [
    [OBSERVED, { kind: 'telemetry', bag: OBSERVED.slice(`devices/${DEV}/messages/events/`.length) }],
    [`devices/${DEV}/messages/events/`, { kind: 'telemetry', bag: '' }],
    [`devices/${DEV}/messages/events`, { kind: 'telemetry', bag: '' }],
    [`devices/${DEV}/messages/events/%24.on=out1/`, { kind: 'telemetry', bag: '%24.on=out1' }],
    [`$iothub/twin/GET/?$rid=${RID}`, { kind: 'twinGet', rid: RID }],
    [`$iothub/twin/PATCH/properties/reported/?$rid=${RID}`, { kind: 'twinPatchReported', rid: RID }],
    [
      `$iothub/twin/PATCH/properties/reported/?$rid=${RID}&$version=3`,
      { kind: 'twinPatchReported', rid: RID },
    ],
    [`$iothub/methods/res/200/?$rid=${RID}`, { kind: 'methodResponse', status: 200, rid: RID }],
    [`$iothub/methods/res/-1/?$rid=1`, { kind: 'methodResponse', status: -1, rid: '1' }],
  ];
  for (const [topic, expected] of allowed) {
    it(`allows ${topic}`, () => assert.deepEqual(parseHubPublishTopic(DEV, topic), expected));
  }

  const forbidden = [
    'devices/other-device/messages/events/',
    `devices/${DEV}x/messages/events/`,
    `devices/${DEV}/messages/devicebound/`,
    `devices/${DEV}/messages/eventsX`,
    `devices/${DEV}/modules/m/messages/events/`,
    '$iothub/twin/GET/',
    '$iothub/twin/GET/?$rid=',
    '$iothub/twin/PATCH/properties/desired/?$version=1',
    '$iothub/twin/res/200/?$rid=1',
    '$iothub/methods/POST/reboot/?$rid=1',
    '$iothub/methods/res/abc/?$rid=1',
    '$iothub/methods/res/200/?x=1',
    '$iothub/methods/res/200',
    '$dps/registrations/PUT/iotdps-register/?$rid=1',
    '#',
    '',
  ];
  for (const topic of forbidden) {
    it(`forbids ${JSON.stringify(topic)}`, () =>
      assert.equal(parseHubPublishTopic(DEV, topic).kind, 'forbidden'));
  }

  it('module connections publish only on their module events topic', () => {
    assert.deepEqual(parseHubPublishTopic(DEV, `devices/${DEV}/modules/m/messages/events/a=1`, 'm'), {
      kind: 'telemetry',
      bag: 'a=1',
    });
    assert.equal(parseHubPublishTopic(DEV, `devices/${DEV}/messages/events/`, 'm').kind, 'forbidden');
    assert.equal(
      parseHubPublishTopic(DEV, `devices/${DEV}/modules/n/messages/events/`, 'm').kind,
      'forbidden',
    );
  });

  it('forbids everything for an identity that is not a valid device id', () => {
    assert.equal(parseHubPublishTopic('+', 'devices/+/messages/events/').kind, 'forbidden');
  });
});

describe('hubSubscriptionAllowed (ACL, PROTOCOL.md §3.2)', () => {
  const table: Array<[string, boolean]> = [
    [`devices/${DEV}/messages/devicebound/#`, true],
    ['$iothub/methods/POST/#', true],
    ['$iothub/twin/res/#', true],
    ['$iothub/twin/PATCH/properties/desired/#', true],
    ['devices/other-device/messages/devicebound/#', false],
    ['devices/+/messages/devicebound/#', false],
    [`devices/${DEV}/messages/#`, false],
    [`devices/${DEV}/#`, false],
    [`devices/${DEV}/messages/events/#`, false],
    ['#', false],
    ['+', false],
    ['$iothub/#', false],
    ['$iothub/+/res/#', false],
    ['$iothub/twin/#', false],
    ['$dps/registrations/res/#', false],
    ['', false],
  ];
  for (const [filter, ok] of table) {
    it(`${JSON.stringify(filter)} → ${ok}`, () => assert.equal(hubSubscriptionAllowed(DEV, filter), ok));
  }

  it('a device id that is a wildcard never gets the C2D filter', () => {
    for (const id of ['+', '#', 'a/b', '']) {
      assert.equal(isValidDeviceId(id), false);
      assert.equal(hubSubscriptionAllowed(id, `devices/${id}/messages/devicebound/#`), false);
    }
  });

  it('modules get their inputs filter, not device C2D', () => {
    assert.equal(hubSubscriptionAllowed(DEV, `devices/${DEV}/modules/m/inputs/#`, 'm'), true);
    assert.equal(hubSubscriptionAllowed(DEV, `devices/${DEV}/modules/n/inputs/#`, 'm'), false);
    assert.equal(hubSubscriptionAllowed(DEV, `devices/${DEV}/messages/devicebound/#`, 'm'), false);
    assert.equal(hubSubscriptionAllowed(DEV, `devices/${DEV}/modules/m/inputs/#`), false);
  });

  it('the filter constants are the ones the SDK subscribes', () => {
    assert.equal(METHODS_REQUEST_FILTER, '$iothub/methods/POST/#');
    assert.equal(TWIN_RESPONSE_FILTER, '$iothub/twin/res/#');
    assert.equal(TWIN_DESIRED_FILTER, '$iothub/twin/PATCH/properties/desired/#');
    assert.equal(c2dFilter(DEV), `devices/${DEV}/messages/devicebound/#`);
  });
});

describe('hub → device topic builders', () => {
  it('twinResponseTopic', () => {
    assert.equal(twinResponseTopic(200, RID), `$iothub/twin/res/200/?$rid=${RID}`);
    assert.equal(twinResponseTopic(204, RID, 7), `$iothub/twin/res/204/?$rid=${RID}&$version=7`);
    assertThrowsCode(() => twinResponseTopic(2000, RID), 'ERR_PROTOCOL_INVALID_ARGUMENT');
    assertThrowsCode(() => twinResponseTopic(200, RID, -1), 'ERR_PROTOCOL_INVALID_ARGUMENT');
    assertThrowsCode(() => twinResponseTopic(200, ''), 'ERR_PROTOCOL_INVALID_ARGUMENT');
  });

  it('desiredPatchTopic', () => {
    assert.equal(desiredPatchTopic(5), '$iothub/twin/PATCH/properties/desired/?$version=5');
    assertThrowsCode(() => desiredPatchTopic(1.5), 'ERR_PROTOCOL_INVALID_ARGUMENT');
  });

  it('methodRequestTopic', () => {
    assert.equal(methodRequestTopic('reboot', '1'), '$iothub/methods/POST/reboot/?$rid=1');
    for (const name of ['', 'a/b', 'a?b', '#', 'a+b', 'a b']) {
      assertThrowsCode(() => methodRequestTopic(name, '1'), 'ERR_PROTOCOL_INVALID_ARGUMENT');
    }
  });

  it('c2dTopic puts the whole bag in the 5th segment', () => {
    const topic = c2dTopic(DEV, {
      system: { '$.mid': 'm1', '$.to': `/devices/${DEV}/messages/deviceBound` },
      application: { 'iothub-ack': 'full' },
    });
    assert.equal(
      topic,
      `devices/${DEV}/messages/devicebound/%24.mid=m1&%24.to=%2Fdevices%2F${DEV}%2Fmessages%2FdeviceBound&iothub-ack=full`,
    );
    assert.equal(topic.split('/').length, 5);
    assert.equal(c2dTopic(DEV), `devices/${DEV}/messages/devicebound/`);
    assertThrowsCode(() => c2dTopic(DEV, 'a=/x'), 'ERR_PROTOCOL_INVALID_ARGUMENT');
    assertThrowsCode(() => c2dTopic('+'), 'ERR_PROTOCOL_INVALID_ARGUMENT');
  });
});

describe('device-side topics round-trip with the server parser', () => {
  it('telemetry, twin and method response', () => {
    assert.equal(
      telemetryTopic(DEV, { system: { '$.mid': 'mid-1' } }),
      `devices/${DEV}/messages/events/%24.mid=mid-1`,
    );
    assert.equal(telemetryTopic(DEV, '', 'm'), `devices/${DEV}/modules/m/messages/events/`);
    assert.deepEqual(parseHubPublishTopic(DEV, telemetryTopic(DEV, 'a=1')), {
      kind: 'telemetry',
      bag: 'a=1',
    });
    assert.deepEqual(parseHubPublishTopic(DEV, twinGetTopic(RID)), { kind: 'twinGet', rid: RID });
    assert.deepEqual(parseHubPublishTopic(DEV, twinPatchReportedTopic(RID)), {
      kind: 'twinPatchReported',
      rid: RID,
    });
    assert.deepEqual(parseHubPublishTopic(DEV, methodResponseTopic(500, RID)), {
      kind: 'methodResponse',
      status: 500,
      rid: RID,
    });
    assertThrowsCode(() => telemetryTopic('a/b'), 'ERR_PROTOCOL_INVALID_ARGUMENT');
    assertThrowsCode(() => methodResponseTopic(1.5, RID), 'ERR_PROTOCOL_INVALID_ARGUMENT');
  });

  it('parseHubCloudTopic', () => {
    const table: Array<[string, HubCloudTopic | null]> = [
      [c2dTopic(DEV, 'a=1'), { kind: 'c2d', bag: 'a=1' }],
      [twinResponseTopic(204, RID, 7), { kind: 'twinResponse', status: 204, rid: RID, version: 7 }],
      [twinResponseTopic(200, RID), { kind: 'twinResponse', status: 200, rid: RID }],
      [desiredPatchTopic(5), { kind: 'desiredPatch', version: 5 }],
      [methodRequestTopic('reboot', '1'), { kind: 'methodRequest', name: 'reboot', rid: '1' }],
      ['$iothub/methods/POST/reboot?$rid=1', { kind: 'methodRequest', name: 'reboot', rid: '1' }],
      ['devices/other/messages/devicebound/a=1', null],
      ['$iothub/methods/POST/?$rid=1', null],
      ['$iothub/twin/res/200/', null],
      ['elsewhere', null],
    ];
    for (const [topic, expected] of table) assert.deepEqual(parseHubCloudTopic(DEV, topic), expected, topic);
  });
});
