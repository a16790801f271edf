import { readFile } from 'node:fs/promises';

/**
 * A certificate, chain or key as the app has it: PEM text, a Buffer, or the path of a PEM file.
 * The Azure SDK's `setOptions({ ca })` also accepts either a path or the PEM itself
 * (PROTOCOL.md §3.1), so code ported from it keeps working.
 *
 * @example
 * ```ts
 * import type { PemInput } from '@gatehouse/device';
 * const ca: PemInput = './gatehouse-data/server-ca.pem';
 * const cert: PemInput = fs.readFileSync('mydevice_fullchain.pem');
 * ```
 */
export type PemInput = string | Buffer;

/**
 * Resolve a {@link PemInput} to PEM bytes: text that contains a PEM header is used as is,
 * other text is read as a file path. A file with several certificates (a `_fullchain.pem`) is
 * sent whole, so the device presents its intermediates (PROTOCOL.md §7.4).
 *
 * @example
 * ```ts
 * import { loadPem } from '@gatehouse/device';
 * const ca = await loadPem('./gatehouse-data/server-ca.pem');
 * ```
 */
export async function loadPem(input: PemInput): Promise<Buffer> {
  if (Buffer.isBuffer(input)) return input;
  if (input.includes('-----BEGIN')) return Buffer.from(input, 'utf8');
  return readFile(input);
}
