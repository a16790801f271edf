/** One `-----BEGIN <label>-----` … `-----END <label>-----` block (RFC 7468 §2). */
export interface PemBlock {
  label: string;
  /** The decoded body; empty when the body is not valid base64. */
  der: Buffer;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes strict base64 (whitespace ignored), or returns undefined. */
export function decodeBase64(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 === 1 || !BASE64.test(compact)) return undefined;
  return Buffer.from(compact, 'base64');
}

/**
 * Finds every PEM block in the text. Text between blocks is ignored, as OpenSSL and Node do
 * (RFC 7468 §2: "Data before the encapsulation boundaries are permitted"), which is what lets
 * create_test_cert.js's trailing `null` line through.
 */
export function findPemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    const label = match[1] ?? '';
    let body = match[2] ?? '';
    // RFC 1421 headers (e.g. `Proc-Type:`) end at the first empty line.
    if (/^\s*[A-Za-z-]+:/.test(body))
      body = body
        .split(/\r?\n\r?\n/)
        .slice(1)
        .join('\n');
    blocks.push({ label, der: decodeBase64(body) ?? Buffer.alloc(0) });
  }
  return blocks;
}

/** Encodes DER as PEM with 64-character lines (RFC 7468 §2). */
export function encodePem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
