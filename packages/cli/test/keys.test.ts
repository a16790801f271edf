import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { gatehouse } from './helpers/cli.js';

// The documented vector (PROTOCOL.md §6.2).
const GROUP_KEY = '8isrFI1sGsIlvvFSSFRiMfCNzv21fjbE/+ah/lSh3lF8e2YG1Te7w1KpZhJFFXJrqYKi9yegxkqIChbqOS9Egw==';
const ID = 'sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6';
const DERIVED = 'Jsm0lyGpjaVYVP2g3FnmnmG9dI/9qU24wNoykUmermc=';

test('keys derive prints the derived device key (known answer)', () => {
  const r = gatehouse(tmpdir(), 'keys', 'derive', '--group-key', GROUP_KEY, '--id', ID);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), DERIVED);
  const j = gatehouse(tmpdir(), 'keys', 'derive', '--group-key', GROUP_KEY, '--id', ID, '--json');
  assert.deepEqual(JSON.parse(j.stdout), { registrationId: ID, deviceKey: DERIVED });
});

test('keys derive refuses a bad group key, a bad ID and missing options', () => {
  for (const args of [
    ['--group-key', 'not base64!', '--id', ID],
    ['--group-key', 'AAAA', '--id', ID],
    ['--group-key', GROUP_KEY, '--id', 'bad/id'],
  ]) {
    const r = gatehouse(tmpdir(), 'keys', 'derive', ...args);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^ERR_CLI_INVALID_OPTION: /);
  }
  const missing = gatehouse(tmpdir(), 'keys', 'derive', '--id', ID);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /^ERR_CLI_USAGE: .*--group-key/);
});
