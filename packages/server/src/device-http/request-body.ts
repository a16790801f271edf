/**
 * Reads a device request body with a size cap. IoT Hub caps a message at 256 KiB
 * (PROTOCOL.md §4; `MAX_MESSAGE_BYTES`), and DPS requests are a few hundred bytes.
 */
import type { IncomingMessage } from 'node:http';

import { MAX_MESSAGE_BYTES } from '@gatehouse/protocol';

/** Largest body a device may send: 256 KiB. */
export const MAX_DEVICE_BODY_BYTES = MAX_MESSAGE_BYTES;

/**
 * An oversized body is still read (and discarded) up to this many bytes, so that the 413
 * reaches a client that is still sending; beyond it the connection is dropped.
 */
const DRAIN_LIMIT_BYTES = 4 * 1024 * 1024;

export type BodyResult = { tooLarge: false; body: Buffer } | { tooLarge: true; bytes: number };

/**
 * Resolves with the whole body (chunked or with Content-Length), or `tooLarge` once the
 * request ended; rejects if the request fails or exceeds the drain limit (then the socket
 * is destroyed and no answer is possible).
 */
export function readBody(req: IncomingMessage, limit = MAX_DEVICE_BODY_BYTES): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > DRAIN_LIMIT_BYTES) {
      // Not worth reading: answer now; the server closes the connection after the answer.
      req.resume();
      resolve({ tooLarge: true, bytes: declared });
      return;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    let tooLarge = Number.isFinite(declared) && declared > limit;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > DRAIN_LIMIT_BYTES) {
        req.destroy();
        reject(new Error(`request body over ${DRAIN_LIMIT_BYTES} bytes; connection dropped`));
        return;
      }
      if (bytes > limit) {
        tooLarge = true;
        chunks.length = 0;
      }
      if (!tooLarge) chunks.push(chunk);
    });
    req.once('end', () =>
      resolve(tooLarge ? { tooLarge: true, bytes } : { tooLarge: false, body: Buffer.concat(chunks) }),
    );
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new Error('request aborted'));
    });
  });
}
