/**
 * Small string helpers shared by the parsers. Internal: not re-exported from the package index.
 *
 * @internal
 * @packageDocumentation
 */

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict standard base64 (RFC 4648 §4, padded). `Buffer.from(x, 'base64')` silently skips junk. */
export function isBase64(text: string): boolean {
  return text.length > 0 && BASE64.test(text);
}

/** `decodeURIComponent` that answers `undefined` instead of throwing on malformed `%XX`. */
export function tryDecodeURIComponent(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/**
 * `encodeURIComponent` plus `!'()*`, byte-for-byte as azure-iot-common's
 * `encodeUriComponentStrict` (note the lower-case hex it produces for `*`: `%2a`).
 */
export function encodeUriComponentStrict(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16));
}

/** An object without prototype, so keys such as `__proto__` from the wire stay plain data. */
export function emptyRecord(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}

/**
 * Parses `a=1&b=2` the way the SDK's `querystring.parse` reads topic queries for the keys we
 * need: split on `&`, then at the first `=`, percent-decode. Empty segments are skipped, a key
 * without `=` gets `''`, the first occurrence of a key wins. `undefined` on malformed `%XX`.
 */
export function parseQuery(query: string): Record<string, string> | undefined {
  const out = emptyRecord();
  for (const segment of query.split('&')) {
    if (segment === '') continue;
    const eq = segment.indexOf('=');
    const key = tryDecodeURIComponent(eq === -1 ? segment : segment.slice(0, eq));
    const value = eq === -1 ? '' : tryDecodeURIComponent(segment.slice(eq + 1));
    if (key === undefined || value === undefined) return undefined;
    if (!(key in out)) out[key] = value;
  }
  return out;
}

/** True for an integer HTTP-style status code 100–599. */
export function isStatusCode(status: number): boolean {
  return Number.isInteger(status) && status >= 100 && status <= 599;
}
