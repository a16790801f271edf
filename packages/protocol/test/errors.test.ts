import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { PROTOCOL_ERROR_CODES, ProtocolError, isProtocolError } from '../src/index.js';

// README.md sits next to dist/: ../../README.md from dist/test/.
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('ProtocolError', () => {
  it('carries a stable code and is an Error', () => {
    const err = new ProtocolError('ERR_SAS_EXPIRED', 'expired');
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'ProtocolError');
    assert.equal(err.code, 'ERR_SAS_EXPIRED');
    assert.ok(isProtocolError(err));
    assert.ok(isProtocolError(err, 'ERR_SAS_EXPIRED'));
    assert.ok(!isProtocolError(err, 'ERR_SAS_BAD_SIGNATURE'));
    assert.ok(!isProtocolError(new Error('x')));
  });

  it('every code is documented in README.md and every documented code exists', () => {
    const documented = new Set(readme.match(/`ERR_[A-Z0-9_]+`/g)?.map((s) => s.slice(1, -1)));
    const codes = new Set(Object.keys(PROTOCOL_ERROR_CODES));
    assert.deepEqual(
      [...codes].filter((c) => !documented.has(c)),
      [],
      'codes missing from README.md',
    );
    assert.deepEqual(
      [...documented].filter((c) => !codes.has(c)),
      [],
      'README.md documents unknown codes',
    );
  });
});
