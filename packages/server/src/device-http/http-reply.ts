import type { ServerResponse } from 'node:http';

/** The content type of every JSON answer; the DPS client parses a body only with it (PROTOCOL.md §2). */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** Sends `body` as JSON with `status` and extra headers, unless an answer already went out. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': JSON_CONTENT_TYPE,
    'Content-Length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/** Sends a bodiless answer (204, or an empty 200). */
export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, headers);
  res.end();
}

/** `decodeURIComponent` that answers undefined instead of throwing on a malformed escape. */
export function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
