import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { deriveDeviceKey, generateSymmetricKey } from '../src/index.js';
import { assertThrowsCode } from './helpers.js';

describe('deriveDeviceKey', () => {
  it('reproduces the Azure docs vector', () => {
    assert.equal(
      deriveDeviceKey(
        '8isrFI1sGsIlvvFSSFRiMfCNzv21fjbE/+ah/lSh3lF8e2YG1Te7w1KpZhJFFXJrqYKi9yegxkqIChbqOS9Egw==',
        'sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6',
      ),
      'Jsm0lyGpjaVYVP2g3FnmnmG9dI/9qU24wNoykUmermc=',
    );
  });

  it('refuses a non-base64 group key', () => {
    assertThrowsCode(() => deriveDeviceKey('not a key', 'dev'), 'ERR_SAS_BAD_KEY');
    assertThrowsCode(() => deriveDeviceKey('', 'dev'), 'ERR_SAS_BAD_KEY');
  });
});

describe('generateSymmetricKey', () => {
  it('returns 64 random bytes by default', () => {
    const a = generateSymmetricKey();
    assert.equal(Buffer.from(a, 'base64').length, 64);
    assert.notEqual(a, generateSymmetricKey());
  });

  it('honours 16–64 bytes and refuses others', () => {
    assert.equal(Buffer.from(generateSymmetricKey(32), 'base64').length, 32);
    assertThrowsCode(() => generateSymmetricKey(8), 'ERR_PROTOCOL_INVALID_ARGUMENT');
    assertThrowsCode(() => generateSymmetricKey(65), 'ERR_PROTOCOL_INVALID_ARGUMENT');
  });
});
