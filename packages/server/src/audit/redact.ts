/**
 * What the audit log never stores: secrets. Applied to every before/after object before it is
 * written, so neither the table nor `GET /api/auditLogs` nor the `audit` export can hold one.
 *
 * A value is replaced by {@link REDACTED} when its key names a secret (passwords, keys,
 * tokens, SAS, private keys, connection strings, webhook and OAuth secrets), when a
 * customization says `secret: true` (webhook headers and query parameters: EXPORT_RULES.md
 * §1.3), or when the text itself is one whatever its key (a SharedAccessSignature, a PEM
 * private key, a connection string with a key, an already masked `*****`).
 */

export const REDACTED = '[redacted]';

/** Key names (lower case, `_`/`-` removed) whose value is a secret wherever they appear. */
const SECRET_KEYS = new Set([
  'password',
  'newpassword',
  'currentpassword',
  'passwordhash',
  'primarykey',
  'secondarykey',
  'symmetrickey',
  'key',
  'privatekey',
  'secret',
  'secrethash',
  'clientsecret',
  'token',
  'bearertoken',
  'idtoken',
  'accesstoken',
  'refreshtoken',
  'sas',
  'sastoken',
  'sharedaccesssignature',
  'sharedaccesskey',
  'connectionstring',
  'authorization',
  'hmacsecret',
  'signingsecret',
  'webhooksecret',
  'apikey',
]);

/** Key fragments that mark a secret too (`smtpPassword`, `deviceKey`, `oauthClientSecret`). */
const SECRET_FRAGMENTS = ['password', 'secret', 'privatekey', 'connectionstring', 'sharedaccess'];

/** Texts that are secrets whatever their key. */
const SECRET_TEXT = [
  /^\s*sharedaccesssignature\s/i,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /(?:^|;)\s*(?:sharedaccesskey|accountkey)\s*=/i,
  /^\*{3,}$/,
];

function normalise(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, '');
}

/** Whether a property named `key` holds a secret. */
export function isSecretKey(key: string): boolean {
  const k = normalise(key);
  if (SECRET_KEYS.has(k)) return true;
  // `keys` in an attestation holds `{ primaryKey, secondaryKey }`: the whole object goes.
  if (k === 'keys') return true;
  if (k.endsWith('key') && !k.endsWith('publickey') && !k.endsWith('idkey') && k !== 'partitionkey')
    return /(?:primary|secondary|symmetric|access|device|group|shared|signing|account|master|auth)key$/.test(
      k,
    );
  return SECRET_FRAGMENTS.some((f) => k.includes(f));
}

/** Whether `text` is a secret by its shape. */
export function isSecretText(text: string): boolean {
  return SECRET_TEXT.some((re) => re.test(text));
}

/**
 * A deep copy of `value` with every secret replaced by {@link REDACTED}.
 *
 * @example
 * redact({ displayName: 'g', attestation: { symmetricKey: { primaryKey: 'abc' } } })
 * // → { displayName: 'g', attestation: { symmetricKey: '[redacted]' } }
 */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 64) return REDACTED;
  if (typeof value === 'string') return isSecretText(value) ? REDACTED : value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  // `{ value, secret: true }`: a customization the owner marked secret (webhook headers, query).
  const markedSecret = object['secret'] === true && 'value' in object;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(object)) {
    if (markedSecret && key === 'value') out[key] = REDACTED;
    else if (key === 'secret' && typeof v === 'boolean') out[key] = v;
    else if (isSecretKey(key) && v !== null && v !== undefined && v !== '') out[key] = REDACTED;
    else out[key] = redact(v, depth + 1);
  }
  return out;
}
