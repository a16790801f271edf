/**
 * The redaction every audit before/after goes through (src/audit/redact.ts): a table of
 * inputs and what must be stored, secrets by key, by a `secret: true` marking and by shape.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isSecretKey, redact, REDACTED } from '../src/audit/redact.js';

const R = REDACTED;

describe('audit redaction', () => {
  const cases: Array<[string, unknown, unknown]> = [
    [
      'plain values pass',
      { displayName: 'Thermo', enabled: true, n: 3, none: null },
      { displayName: 'Thermo', enabled: true, n: 3, none: null },
    ],
    ['a password', { email: 'a@b.c', password: 'hunter22' }, { email: 'a@b.c', password: R }],
    [
      'password change fields',
      { currentPassword: 'a', newPassword: 'b' },
      { currentPassword: R, newPassword: R },
    ],
    ['a stored hash', { password_hash: 'scrypt$…' }, { password_hash: R }],
    [
      'device symmetric keys',
      { type: 'symmetricKey', symmetricKey: { primaryKey: 'AAAA', secondaryKey: 'BBBB' } },
      { type: 'symmetricKey', symmetricKey: R },
    ],
    ['keys one by one', { primaryKey: 'AAAA', secondaryKey: 'BBBB' }, { primaryKey: R, secondaryKey: R }],
    [
      'an API token',
      { id: 'ci', token: 'SharedAccessSignature sr=x&sig=y&skn=ci&se=1' },
      { id: 'ci', token: R },
    ],
    ['a SAS under any key', { note: 'SharedAccessSignature sr=a&sig=b' }, { note: R }],
    [
      'a PEM private key under any key',
      { pem: '-----BEGIN PRIVATE KEY-----\nMII…\n-----END PRIVATE KEY-----' },
      { pem: R },
    ],
    ['an EC private key', { privateKey: 'x' }, { privateKey: R }],
    ['a connection string', { connectionString: 'HostName=h;SharedAccessKey=abc' }, { connectionString: R }],
    [
      'a key inside a connection string under any key',
      { target: 'Endpoint=sb://x/;SharedAccessKey=abc' },
      { target: R },
    ],
    [
      'OAuth client secret',
      { authorization: { type: 'oauth', clientId: 'c', clientSecret: 's' } },
      { authorization: R },
    ],
    ['a webhook HMAC secret', { signingSecret: 'whsec' }, { signingSecret: R }],
    [
      'a customization marked secret keeps its flag, loses its value',
      {
        headerCustomizations: {
          'x-key': { value: 'v1', secret: true },
          'x-region': { value: 'eu', secret: false },
        },
      },
      {
        headerCustomizations: {
          'x-key': { value: R, secret: true },
          'x-region': { value: 'eu', secret: false },
        },
      },
    ],
    ['an already masked value', { anything: '*****' }, { anything: R }],
    ['arrays are walked', [{ password: 'p' }, 'SharedAccessSignature sr=a'], [{ password: R }, R]],
    [
      'empty secrets stay empty (nothing to hide)',
      { password: '', primaryKey: null },
      { password: '', primaryKey: null },
    ],
    [
      'thumbprints and public certificates are not secrets',
      { sha1Thumbprint: 'AB', certificate: '-----BEGIN CERTIFICATE-----\nMII…', publicKey: 'x' },
      { sha1Thumbprint: 'AB', certificate: '-----BEGIN CERTIFICATE-----\nMII…', publicKey: 'x' },
    ],
    [
      'ids that merely contain "token" stay',
      { tokenId: 'ci', deviceId: 'd' },
      { tokenId: 'ci', deviceId: 'd' },
    ],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => assert.deepEqual(redact(input), expected));
  }

  it('does not change its input', () => {
    const input = { password: 'p', nested: { primaryKey: 'k' } };
    redact(input);
    assert.deepEqual(input, { password: 'p', nested: { primaryKey: 'k' } });
  });

  it('names the secret keys case- and separator-insensitively', () => {
    for (const k of ['Password', 'PRIMARY_KEY', 'client-secret', 'accessToken', 'smtpPassword', 'deviceKey'])
      assert.ok(isSecretKey(k), k);
    for (const k of ['displayName', 'keyId', 'partitionKey', 'publicKey', 'tokenId', 'monkey'])
      assert.ok(!isSecretKey(k), k);
  });
});
