/**
 * CSV answers (README "Telemetry series"): RFC 4180 lines, streamed, at most a row cap, then
 * a last line `# truncated at N rows`; downloaded under a file name from the device, the field
 * and the window.
 */
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';

/** Rows a CSV answer holds at most. */
export const CSV_MAX_ROWS = 100_000;

/** One cell: quoted when it holds a comma, quote, CR or LF (RFC 4180 §2.6), or always when asked. */
export function csvCell(value: string | number, quote = false): string {
  const text = String(value);
  return quote || /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** `2024-05-01T10:00:00.000Z` → `20240501T100000Z`: no colons, which some file systems refuse. */
function fileTime(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z').replaceAll(/[-:]/g, '');
}

/** `<deviceId>-<name>-<from>-<to>.csv`, with anything but letters, digits, - _ . replaced. */
export function csvFileName(parts: readonly string[], from: string, to: string): string {
  const safe = parts.map((p) => p.replaceAll(/[^A-Za-z0-9._-]/g, '_'));
  return `${[...safe, fileTime(from), fileTime(to)].join('-')}.csv`;
}

/** Sends `header` then the rows' lines as a stream, cut at `maxRows`. */
export function sendCsv(
  reply: FastifyReply,
  fileName: string,
  header: string,
  rows: AsyncIterable<string> | Iterable<string>,
  maxRows: number,
): FastifyReply {
  async function* lines(): AsyncGenerator<string> {
    yield `${header}\r\n`;
    let n = 0;
    for await (const row of rows) {
      if (n === maxRows) {
        yield `# truncated at ${maxRows} rows\r\n`;
        return;
      }
      n++;
      yield `${row}\r\n`;
    }
  }
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${fileName}"`)
    .send(Readable.from(lines()));
}
