import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  DPS_ERROR_CODES,
  dpsErrorBody,
  isValidRegistrationId,
  parseRegisterRequest,
  type RegistrationOperationStatus,
} from '../src/index.js';
import { assertThrowsCode } from './helpers.js';

describe('parseRegisterRequest (PROTOCOL.md §1.4)', () => {
  it('parses the SDK body with and without payload', () => {
    assert.deepEqual(parseRegisterRequest(Buffer.from('{"registrationId":"my-sym-device"}')), {
      registrationId: 'my-sym-device',
    });
    assert.deepEqual(
      parseRegisterRequest(Buffer.from('{"registrationId":"r","payload":{"hello":"world"},"tpm":{"x":1}}')),
      { registrationId: 'r', payload: { hello: 'world' } },
    );
    assert.deepEqual(parseRegisterRequest(Buffer.from('{"registrationId":"r","payload":null}')), {
      registrationId: 'r',
    });
  });

  const bad = [
    '',
    ' ',
    'not json',
    '[]',
    '"r"',
    'null',
    '{}',
    '{"registrationId":5}',
    '{"registrationId":""}',
    '{"registrationId":"r","payload":[1]}',
    '{"registrationId":"r","payload":"x"}',
  ];
  for (const body of bad) {
    it(`refuses ${JSON.stringify(body)}`, () =>
      assertThrowsCode(() => parseRegisterRequest(Buffer.from(body)), 'ERR_DPS_REQUEST_MALFORMED'));
  }
});

describe('dpsErrorBody (PROTOCOL.md §1.9)', () => {
  it('builds the ProvisioningServiceErrorDetails shape', () => {
    const now = new Date('2019-12-20T21:30:46.673Z');
    assert.deepEqual(dpsErrorBody(401002, 'Invalid certificate.', 'tid', now), {
      errorCode: 401002,
      trackingId: 'tid',
      message: 'Invalid certificate.',
      timestampUtc: '2019-12-20T21:30:46.673Z',
    });
  });

  it('defaults trackingId to a UUID', () => {
    assert.match(dpsErrorBody(500000, 'x').trackingId, /^[0-9a-f-]{36}$/);
  });
});

describe('DPS_ERROR_CODES', () => {
  it('holds the attested codes, each = status × 1000 + detail', () => {
    const codes = Object.values(DPS_ERROR_CODES).map((c) => c.errorCode);
    assert.deepEqual(codes, [400004, 401000, 401002, 404201, 429001, 500000]);
    for (const c of Object.values(DPS_ERROR_CODES)) assert.equal(Math.floor(c.errorCode / 1000), c.status);
  });
});

describe('isValidRegistrationId (PROTOCOL.md §7.1)', () => {
  const table: Array<[string, boolean]> = [
    ['sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6', true],
    ['my-sym-device', true],
    ['A.b_c:d-9', true],
    ['x', true],
    ['dev-', true],
    ['a'.repeat(128), true],
    ['a'.repeat(129), false],
    ['', false],
    ['dev.', false],
    ['dev_', false],
    ['dev:', false],
    ['dev 1', false],
    ['dev/1', false],
    ['dév', false],
  ];
  for (const [id, ok] of table) {
    it(`${JSON.stringify(id.length > 20 ? `${id.slice(0, 10)}…(${id.length})` : id)} → ${ok}`, () =>
      assert.equal(isValidRegistrationId(id), ok));
  }
  it('honours maxLength for X.509 (CN ≤ 64)', () => {
    assert.equal(isValidRegistrationId('a'.repeat(65), { maxLength: 64 }), false);
  });
});

describe('RegistrationOperationStatus type', () => {
  it('accepts the compact example the SDK accepted (PROTOCOL.md §1.7)', () => {
    const body: RegistrationOperationStatus = JSON.parse(
      '{"operationId":"5.fake.1","status":"assigned","registrationState":{"x509":{},"registrationId":"my-sym-device","createdDateTimeUtc":"2026-11-28T17:54:51.364Z","assignedHub":"localhost","deviceId":"my-sym-device","status":"assigned","substatus":"initialAssignment","lastUpdatedDateTimeUtc":"2026-11-28T17:54:51.364Z","etag":"ImV0YWctMSI=","payload":{"echo":{"hello":"world"}}}}',
    ) as RegistrationOperationStatus;
    assert.equal(body.registrationState?.assignedHub, 'localhost');
  });
});
