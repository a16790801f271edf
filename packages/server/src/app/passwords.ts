import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashing with scrypt (RFC 7914), the memory-hard KDF in node:crypto
 * (DESIGN.md security rules: passwords are stored hashed). The parameters are
 * stored with each hash, so they can be raised later without locking anyone
 * out: `scrypt$<N>$<r>$<p>$<salt base64url>$<hash base64url>`.
 */

/** N = 2^15, r = 8, p = 1: OWASP's scrypt baseline; about 32 MiB and ~50 ms per hash. */
const DEFAULT = { N: 32768, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Refuse stored parameters that would let a corrupt row exhaust memory (N·r·128 bytes). */
const MAX_MEMORY = 256 * 1024 * 1024;

/** The shortest password accepted (the contract's rule, CENTRAL_API has none). */
export const MIN_PASSWORD_LENGTH = 8;
/** scrypt takes any length, but a megabyte "password" is an attack, not a password. */
export const MAX_PASSWORD_LENGTH = 1024;

function derive(
  password: string,
  salt: Buffer,
  options: ScryptOptions & { N: number; r: number; p: number },
) {
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(
      password.normalize('NFC'),
      salt,
      KEY_BYTES,
      { ...options, maxmem: Math.max(MAX_MEMORY, 129 * options.N * options.r) },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

/**
 * The stored form of a password: a random salt and the scrypt parameters with the hash.
 *
 * @example
 * ```ts
 * const stored = await hashPassword('correct horse battery staple');
 * await verifyPassword('correct horse battery staple', stored); // true
 * ```
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, DEFAULT);
  return [
    'scrypt',
    DEFAULT.N,
    DEFAULT.r,
    DEFAULT.p,
    salt.toString('base64url'),
    key.toString('base64url'),
  ].join('$');
}

/**
 * Whether `password` matches `stored` (constant-time comparison). With `stored`
 * undefined (unknown user, or no password set) a dummy hash is still computed,
 * so an unknown user name and a wrong password take the same time.
 */
export async function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  const parsed = stored ? parseStored(stored) : undefined;
  if (!parsed) {
    await derive(password, DUMMY_SALT, DEFAULT);
    return false;
  }
  const key = await derive(password, parsed.salt, parsed.params);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

const DUMMY_SALT = randomBytes(SALT_BYTES);

function parseStored(
  stored: string,
): { params: { N: number; r: number; p: number }; salt: Buffer; key: Buffer } | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const valid =
    Number.isInteger(N) &&
    N > 1 &&
    (N & (N - 1)) === 0 &&
    Number.isInteger(r) &&
    r >= 1 &&
    Number.isInteger(p) &&
    p >= 1 &&
    p <= 16 &&
    128 * N * r <= MAX_MEMORY;
  if (!valid) return undefined;
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const key = Buffer.from(parts[5] ?? '', 'base64url');
  if (salt.length < 8 || key.length < 16) return undefined;
  return { params: { N, r, p }, salt, key };
}

/** A generated password for the first administrator: 144 random bits, easy to copy. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
