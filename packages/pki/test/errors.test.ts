import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { PkiError } from '../src/index.js';
import { PKI_ERROR_CODES } from '../src/errors.js';

test('every error code is documented in the README contract, and every documented code exists', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const documented = new Set(readme.match(/ERR_PKI_[A-Z_]+/g));
  assert.deepEqual([...documented].sort(), [...PKI_ERROR_CODES].sort());
});

test('PkiError carries a stable code, a sentence, detail and cause', () => {
  const cause = new Error('inner');
  const err = new PkiError(
    'ERR_PKI_EXPIRED',
    'The certificate "x" expired.',
    { certificate: 'x' },
    { cause },
  );
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'PkiError');
  assert.equal(err.code, 'ERR_PKI_EXPIRED');
  assert.deepEqual(err.detail, { certificate: 'x' });
  assert.equal(err.cause, cause);
  assert.equal(new PkiError('ERR_PKI_NO_PATH', 'No path.').detail, undefined);
});
