import type { x509 } from './webcrypto.js';

/** A name as @peculiar/x509's `Name.toJSON()` gives it: per RDN, each type's values. */
export type NameJson = Array<Record<string, string[]>>;

/**
 * A comparison key for a distinguished name following RFC 5280 §7.1: two names match when they
 * have the same RDNs in the same order and each attribute value matches after insignificant
 * whitespace is removed and case is folded (the LDAP StringPrep rules of RFC 4518, simplified to
 * NFKC + whitespace folding + lower case). This lets a name encoded as PrintableString by one
 * tool match the same name encoded as UTF8String by another.
 */
export function canonicalName(name: x509.Name | NameJson): string {
  const json = Array.isArray(name) ? name : name.toJSON();
  const rdns = json.map((rdn) => {
    const entries = Object.entries(rdn).map(
      ([type, values]) =>
        [type, values.map((v) => v.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase())] as const,
    );
    return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  });
  return JSON.stringify(rdns);
}
