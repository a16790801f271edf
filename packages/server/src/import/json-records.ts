/**
 * Splits an export file into JSON values with the line each starts on. Azure's exports come in
 * three layouts: JSON lines (`az iot hub device-identity export` writes one device per line to
 * `devices.txt`), a JSON array (`az … list`), one JSON object (`az … show`, or an IoT Central
 * collection `{ "value": [ … ] }`, whose items are the records).
 */
import type { ReadRefusal, RecordSource } from './records.js';

export interface JsonValueAt {
  value: unknown;
  source: RecordSource;
}

export interface JsonRecords {
  values: JsonValueAt[];
  refusals: ReadRefusal[];
}

export function readJsonRecords(file: string, text: string): JsonRecords {
  const body = text.replace(/^\uFEFF/, '');
  const start = body.search(/\S/);
  if (start < 0) return { values: [], refusals: [] };
  const first = body[start];
  if (first === '[' || first === '{') {
    let parsed: unknown;
    let error: Error | undefined;
    try {
      parsed = JSON.parse(body);
    } catch (err) {
      error = err as Error;
    }
    if (error === undefined)
      return { values: itemsOf(file, body, parsed, lineAt(body, start)), refusals: [] };
    // A file of several objects one per line is JSON lines, not one broken document.
    if (first === '[' || !looksLikeJsonLines(body)) {
      return {
        values: [],
        refusals: [
          {
            source: { file, line: errorLine(body, error) },
            code: 'ERR_IMPORT_JSON',
            message: `The file is not valid JSON: ${error.message}.`,
          },
        ],
      };
    }
  }
  return readJsonLines(file, body);
}

function readJsonLines(file: string, body: string): JsonRecords {
  const values: JsonValueAt[] = [];
  const refusals: ReadRefusal[] = [];
  body.split(/\r?\n/).forEach((text, index) => {
    if (text.trim() === '') return;
    const source = { file, line: index + 1 };
    try {
      values.push({ value: JSON.parse(text), source });
    } catch (err) {
      refusals.push({
        source,
        code: 'ERR_IMPORT_JSON',
        message: `The line is not valid JSON: ${(err as Error).message}.`,
      });
    }
  });
  return { values, refusals };
}

/** Every non-blank line starts with `{`: the export's layout (one object per line). */
function looksLikeJsonLines(body: string): boolean {
  const lines = body.split(/\r?\n/).filter((l) => l.trim() !== '');
  return lines.length > 1 && lines.every((l) => l.trimStart().startsWith('{'));
}

function itemsOf(file: string, body: string, parsed: unknown, firstLine: number): JsonValueAt[] {
  const collection = Array.isArray(parsed) ? parsed : isCollection(parsed) ? parsed.value : undefined;
  if (collection === undefined) return [{ value: parsed, source: { file, line: firstLine } }];
  const lines = elementLines(body, !Array.isArray(parsed));
  return collection.map((value, i) => ({ value, source: { file, line: lines[i] ?? firstLine } }));
}

function isCollection(v: unknown): v is { value: unknown[] } {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Array.isArray((v as { value?: unknown }).value)
  );
}

/**
 * The line on which each element of the records array starts: the root array, or the `value`
 * array of a root object. A small scanner over the (already validated) text: it tracks
 * strings, nesting depth and the current key of the root object.
 */
function elementLines(text: string, underValue: boolean): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let stringStart = 0;
  let lastString = '';
  let rootKey = '';
  let target = -1;
  let expecting = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') line++;
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') {
        inString = false;
        lastString = text.slice(stringStart + 1, i);
      }
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') continue;
    if (expecting && depth === target && c !== ']') {
      lines.push(line);
      expecting = false;
    }
    if (c === '"') {
      inString = true;
      stringStart = i;
    } else if (c === '[' || c === '{') {
      depth++;
      if (c === '[' && target < 0 && (underValue ? depth === 2 && rootKey === 'value' : depth === 1)) {
        target = depth;
        expecting = true;
      }
    } else if (c === ']' || c === '}') {
      if (depth === target) target = -2; // done: only the first records array counts
      depth--;
    } else if (c === ',' && depth === target) {
      expecting = true;
    } else if (c === ':' && depth === 1) {
      rootKey = lastString;
    }
  }
  return lines;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

/** V8 names the position ("at position 42", newer versions also "(line 3 column 5)"). */
function errorLine(text: string, error: Error): number {
  const explicit = /\(line (\d+) column \d+\)/.exec(error.message);
  if (explicit) return Number(explicit[1]);
  const position = /at position (\d+)/.exec(error.message);
  if (position) return lineAt(text, Number(position[1]));
  return lineAt(text, text.length);
}

/**
 * Reads a file and turns each JSON value into a record with `toRecord`; a thrown
 * `{ code, message }` (RecordProblem) becomes a refusal at the value's line.
 */
export function mapJsonRecords<R>(
  file: string,
  text: string,
  toRecord: (value: Record<string, unknown>, source: RecordSource) => R,
): { records: R[]; refusals: ReadRefusal[] } {
  const { values, refusals } = readJsonRecords(file, text);
  const records: R[] = [];
  for (const { value, source } of values) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      refusals.push({ source, code: 'ERR_IMPORT_JSON', message: 'The record is not a JSON object.' });
      continue;
    }
    try {
      records.push(toRecord(value as Record<string, unknown>, source));
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown; id?: unknown };
      if (typeof e.code !== 'string' || !e.code.startsWith('ERR_')) throw err;
      const id = idHint(value as Record<string, unknown>);
      refusals.push({ source, code: e.code, message: String(e.message), ...(id ? { id } : {}) });
    }
  }
  refusals.sort((a, b) => a.source.line - b.source.line);
  return { records, refusals };
}

/** The record's ID for a refusal line, when it has one under a usual name. */
function idHint(value: Record<string, unknown>): string | undefined {
  for (const name of ['id', 'deviceId', 'enrollmentGroupId', 'registrationId', '@id']) {
    const v = value[name];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}
