import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  DPS_RESPONSE_FILTER,
  dpsOperationStatusTopic,
  dpsRegisterTopic,
  dpsResponseTopic,
  parseDpsRequestTopic,
  parseDpsResponseTopic,
  type DpsRequestTopic,
} from '../src/index.js';
import { assertThrowsCode } from './helpers.js';

const RID = '6f1c0f56-3f0e-4b53-9a57-2d1b3e0f7a10';
const RID2 = 'b1e02da8-5d0e-4c53-8f5e-0f5b8ee1f1aa';
const OP = '5.316aac5bdc130deb.b1e02da8-5d0e-4c53-8f5e-0f5b8ee1f1aa';

describe('parseDpsRequestTopic (PROTOCOL.md §1.4, §1.6)', () => {
  const table: Array<[string, DpsRequestTopic | null]> = [
    [`$dps/registrations/PUT/iotdps-register/?$rid=${RID}`, { kind: 'register', rid: RID }],
    [
      `$dps/registrations/GET/iotdps-get-operationstatus/?$rid=${RID2}&operationId=${OP}`,
      { kind: 'operationStatus', rid: RID2, operationId: OP },
    ],
    [
      `$dps/registrations/GET/iotdps-get-operationstatus/?operationId=${OP}&$rid=${RID2}`,
      { kind: 'operationStatus', rid: RID2, operationId: OP },
    ],
    [`$dps/registrations/PUT/iotdps-register/?$rid=a%20b`, { kind: 'register', rid: 'a b' }],
    [`$dps/registrations/PUT/iotdps-register/?`, null],
    [`$dps/registrations/PUT/iotdps-register/?$rid=`, null],
    [`$dps/registrations/PUT/iotdps-register/?$rid=%ZZ`, null],
    [`$dps/registrations/PUT/iotdps-register?$rid=${RID}`, null],
    [`$dps/registrations/GET/iotdps-get-operationstatus/?$rid=${RID}`, null],
    [`$dps/registrations/GET/iotdps-get-operationstatus/?operationId=${OP}`, null],
    [`$dps/registrations/res/200/?$rid=${RID}`, null],
    [`devices/x/messages/events/`, null],
  ];
  for (const [topic, expected] of table) {
    it(topic, () => assert.deepEqual(parseDpsRequestTopic(topic), expected));
  }
});

describe('dpsResponseTopic', () => {
  it('builds 202 with retry-after and 200 without', () => {
    assert.equal(dpsResponseTopic(202, RID, 3), `$dps/registrations/res/202/?$rid=${RID}&retry-after=3`);
    assert.equal(dpsResponseTopic(200, RID), `$dps/registrations/res/200/?$rid=${RID}`);
    assert.equal(dpsResponseTopic(429, RID, 1.5), `$dps/registrations/res/429/?$rid=${RID}&retry-after=1.5`);
  });

  it('round-trips with parseDpsResponseTopic, including odd rids', () => {
    for (const rid of [RID, 'a&b=c', '1']) {
      assert.deepEqual(parseDpsResponseTopic(dpsResponseTopic(202, rid, 2)), {
        status: 202,
        rid,
        retryAfterSeconds: 2,
      });
    }
  });

  it('refuses bad arguments', () => {
    assertThrowsCode(() => dpsResponseTopic(99, RID), 'ERR_PROTOCOL_INVALID_ARGUMENT');
    assertThrowsCode(() => dpsResponseTopic(200.5, RID), 'ERR_PROTOCOL_INVALID_ARGUMENT');
    assertThrowsCode(() => dpsResponseTopic(200, ''), 'ERR_PROTOCOL_INVALID_ARGUMENT');
    assertThrowsCode(() => dpsResponseTopic(202, RID, -1), 'ERR_PROTOCOL_INVALID_ARGUMENT');
  });

  it('exposes the response filter', () => assert.equal(DPS_RESPONSE_FILTER, '$dps/registrations/res/#'));
});

describe('device-side DPS topics', () => {
  it('request builders round-trip with the server parser', () => {
    assert.deepEqual(parseDpsRequestTopic(dpsRegisterTopic(RID)), { kind: 'register', rid: RID });
    assert.deepEqual(parseDpsRequestTopic(dpsOperationStatusTopic(RID2, OP)), {
      kind: 'operationStatus',
      rid: RID2,
      operationId: OP,
    });
    assert.equal(
      dpsOperationStatusTopic(RID2, OP),
      `$dps/registrations/GET/iotdps-get-operationstatus/?$rid=${RID2}&operationId=${OP}`,
    );
  });

  it('parseDpsResponseTopic refuses foreign topics', () => {
    for (const t of [
      '$dps/registrations/res/200',
      '$dps/registrations/res/abc/?$rid=1',
      '$dps/registrations/res/200/?x=1',
    ]) {
      assert.equal(parseDpsResponseTopic(t), null);
    }
    assert.deepEqual(parseDpsResponseTopic('$dps/registrations/res/202/?$rid=1&retry-after=x'), {
      status: 202,
      rid: '1',
    });
  });

  it('refuses an empty operationId', () => {
    assertThrowsCode(() => dpsOperationStatusTopic(RID, ''), 'ERR_PROTOCOL_INVALID_ARGUMENT');
  });
});
