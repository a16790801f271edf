import { randomBytes, randomUUID } from 'node:crypto';

/** Current time as an ISO-8601 UTC string: the one time format of the store. */
export function nowIso(now: Date = new Date()): string {
  return now.toISOString();
}

/** A fresh opaque etag, in the quoted-base64 style Azure uses (`IjY5MDAz…`). */
export function newEtag(): string {
  return Buffer.from(`"${randomUUID()}"`).toString('base64');
}

/** Upper-case hex of `n` random bytes. */
export function randomHex(n: number): string {
  return randomBytes(n).toString('hex').toUpperCase();
}

/**
 * The length of a text as a person counts characters: Unicode code points. `String.length`
 * counts UTF-16 code units, two for each emoji or other character outside the Basic
 * Multilingual Plane.
 *
 * @example
 * ```ts
 * characterCount('🔑🔑🔑'); // 3 ('🔑🔑🔑'.length is 6)
 * ```
 */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
