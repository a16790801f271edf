import assert from 'node:assert/strict';

import { ProtocolError, type ProtocolErrorCode } from '../src/index.js';

/** Asserts that `fn` throws a ProtocolError carrying exactly `code`. */
export function assertThrowsCode(fn: () => unknown, code: ProtocolErrorCode): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ProtocolError, `expected ProtocolError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}
