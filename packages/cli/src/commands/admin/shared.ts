import type { Certificate } from '@gatehouse/pki';
import { CliError } from '../../output.js';
import { readCertificateFile } from '../cert/read.js';

/** The first certificate of a file the user named (PEM, a bundle, DER or base64). */
export function readFirstCertificate(path: string, what: string): Certificate {
  const [certificate] = readCertificateFile(path, what);
  if (!certificate) throw new CliError('ERR_CLI_READ_FILE', `${path} holds no certificate.`);
  return certificate;
}

/**
 * The upload form IoT Central's CLI uses (CENTRAL_API.md §2.1): base64 of the whole PEM text,
 * CRs removed, one trailing newline.
 */
export function base64Pem(certificate: Certificate): string {
  return Buffer.from(certificate.pem.replace(/\r/g, '').trimEnd() + '\n', 'utf8').toString('base64');
}

/** Prints a JSON result, or text lines. */
export function print(json: boolean | undefined, value: unknown, lines: () => string[]): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : lines().join('\n') + '\n');
}

/** A plain text table: a header row, columns padded to their widest cell, the last column free. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** `label  value` lines with the labels padded to one width. */
export function fields(entries: Array<[string, string]>, indent = '  '): string[] {
  const width = Math.max(...entries.map(([label]) => label.length));
  return entries.map(([label, value]) => `${indent}${label.padEnd(width)}  ${value}`);
}

/** An ISO time without the milliseconds, for tables. */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return 'never';
  return iso.replace(/\.\d+Z$/, 'Z');
}

/** Checks that symmetric keys come in pairs; returns them for a request body. */
export function keyPair(
  primaryKey: string | undefined,
  secondaryKey: string | undefined,
): { primaryKey: string; secondaryKey: string } | undefined {
  if (primaryKey === undefined && secondaryKey === undefined) return undefined;
  if (primaryKey === undefined || secondaryKey === undefined) {
    throw new CliError(
      'ERR_CLI_INVALID_OPTION',
      '--primary-key and --secondary-key go together: give both, or neither to have the server generate them.',
    );
  }
  return { primaryKey: primaryKey.trim(), secondaryKey: secondaryKey.trim() };
}
