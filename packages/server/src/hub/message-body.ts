/**
 * How a message body (raw bytes on the wire, PROTOCOL.md §3.3) is shown to REST and live
 * views: JSON when it parses as JSON, else UTF-8 text, else base64.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface DecodedBody {
  body: unknown;
  bodyEncoding: 'json' | 'text' | 'base64';
}

export function decodeBody(bytes: Uint8Array): DecodedBody {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { body: Buffer.from(bytes).toString('base64'), bodyEncoding: 'base64' };
  }
  const trimmed = text.trim();
  if (trimmed !== '') {
    try {
      return { body: JSON.parse(trimmed) as unknown, bodyEncoding: 'json' };
    } catch {
      // not JSON: text
    }
  }
  return { body: text, bodyEncoding: 'text' };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
