/**
 * The common-password check of the password rules (OWASP ASVS 5.0 6.2.4: refuse the passwords
 * attackers try first). The list is Firefox Accounts' 50,000 most common passwords of 8
 * characters or more (`fxa-common-password-list`, MPL-2.0), compared as typed and in lower
 * case. It is read on the first check, when a password is set, never on a sign-in.
 */
import { createRequire } from 'node:module';

let common: ReadonlySet<string> | undefined;

function list(): ReadonlySet<string> {
  if (common === undefined) {
    const require = createRequire(import.meta.url);
    const { Decoder } = (require('incremental-encoder') as { default: { Decoder: new () => Decoder } })
      .default;
    const encoded = require('fxa-common-password-list/src/encoded-passwords') as string;
    common = new Set(new Decoder().decode(encoded.split('\n')));
  }
  return common;
}

interface Decoder {
  decode(lines: string[]): string[];
}

export function isCommonPassword(password: string): boolean {
  const words = list();
  return words.has(password) || words.has(password.toLowerCase());
}
