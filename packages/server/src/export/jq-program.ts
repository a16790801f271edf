/**
 * How an export's jq `transform` is prepared for a long-running jq process: its module
 * directives are checked (only IoT Central's `iotc` module exists), its body becomes a function,
 * and a fixed main loop answers every input with exactly one line, so outputs can be matched to
 * inputs however many values (none, one, several) the program emits.
 */

/** A transform that jq (or our own check of its directives) refuses to compile. */
export class TransformCompileError extends Error {
  constructor(
    message: string,
    /** 1-based line of the user's program, when jq names one. */
    readonly line?: number,
    /** 1-based column, when known (jq 1.6 and 1.7 report lines only). */
    readonly column?: number,
  ) {
    super(message);
    this.name = 'TransformCompileError';
  }
}

/**
 * The `iotc` module IoT Central offers to transforms (D-XFORM): `find(f)` returns each element
 * of the input array for which `f` is true.
 */
export const IOTC_MODULE = 'def find(f): .[] | select(f);\n';

/** Longest program accepted: a transform is a few lines, and jq gets it as one argument. */
export const MAX_PROGRAM_LENGTH = 64 * 1024;

const FUNCTION_NAME = '__gatehouse_transform';

/**
 * `input` and `inputs` would read the next exported messages, not values of this one: inside the
 * transform they raise an error instead. Kept on the first line so jq's line numbers stay the
 * user's.
 */
const SHADOWED =
  'def input: error("input is not available in a transform"); ' +
  'def inputs: error("inputs is not available in a transform"); ';

/**
 * The main loop: for every input, one compact line `{"ok":[outputs…]}` or `{"error":"…"}`. A
 * runtime error on one message is caught so the process goes on with the next one.
 */
const MAIN =
  `inputs | try {ok: [${FUNCTION_NAME}]} ` + 'catch {error: (if type == "string" then . else tojson end)}';

export interface PreparedProgram {
  /** What jq runs (`jq -n -c --unbuffered -L <iotc dir> <text>`). */
  text: string;
  /** Lines of the user's program, to keep jq's line numbers inside it. */
  lines: number;
}

/** Blanks and `#` comments from `at`, as jq's lexer skips them. */
function skipBlank(program: string, at: number): number {
  let i = at;
  for (;;) {
    const c = program[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++;
    else if (c === '#') {
      const end = program.indexOf('\n', i);
      i = end < 0 ? program.length : end + 1;
    } else return i;
  }
}

function lineAt(program: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < program.length; i++) if (program[i] === '\n') line++;
  return line;
}

const IMPORT = /^import\s+"([^"\\]*)"\s+as\s+(\$?[A-Za-z_][A-Za-z0-9_]*)\s*;/;
const INCLUDE = /^include\s+"([^"\\]*)"\s*;/;

/**
 * Checks the leading `import`/`include` directives and wraps the rest.
 *
 * @throws TransformCompileError for an empty program, a program that is too long, or a module
 * other than `iotc`.
 */
export function prepareProgram(program: unknown): PreparedProgram {
  if (typeof program !== 'string')
    throw new TransformCompileError('The transform must be a string holding a jq program.');
  if (program.length > MAX_PROGRAM_LENGTH)
    throw new TransformCompileError(
      `The transform is ${program.length} characters long; at most ${MAX_PROGRAM_LENGTH} are allowed.`,
    );
  let at = skipBlank(program, 0);
  for (;;) {
    const rest = program.slice(at);
    if (!/^(import|include)\b/.test(rest)) break;
    const match = IMPORT.exec(rest) ?? INCLUDE.exec(rest);
    const path = match?.[1];
    const alias = match && match[0].startsWith('import') ? match[2] : undefined;
    if (!match || path !== 'iotc' || alias?.startsWith('$')) {
      throw new TransformCompileError(
        'Only the IoT Central module can be imported: write `import "iotc" as iotc;`.',
        lineAt(program, at),
      );
    }
    at = skipBlank(program, at + match[0].length);
  }
  if (at >= program.length)
    throw new TransformCompileError('The transform is empty: use `.` to export messages unchanged.');
  const directives = program.slice(0, at);
  const body = program.slice(at);
  return {
    text: `${directives}def ${FUNCTION_NAME}: ${SHADOWED}${body}\n;\n${MAIN}\n`,
    lines: lineAt(program, program.length),
  };
}

/**
 * jq's compile errors in the user's terms: the first `jq: error: …` line without jq's shell hint,
 * its line number clamped to the program (an unfinished program fails on the wrapper's `;`).
 */
export function compileErrorFrom(stderr: string, lines: number): TransformCompileError {
  const first = stderr
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith('jq: error'));
  if (!first) return new TransformCompileError(`jq refused the transform: ${stderr.trim().slice(0, 300)}`);
  let text = first.replace(/^jq: error:\s*/, '').replace(' (Unix shell quoting issues?)', '');
  let line: number | undefined;
  const where = /\s*at <top-level>, line (\d+):?$/.exec(text);
  if (where) {
    line = Math.min(Number(where[1]), lines);
    text = text.slice(0, where.index) + ` (line ${line})`;
  }
  text = text.replaceAll(FUNCTION_NAME, 'transform');
  return new TransformCompileError(`The transform does not compile: ${text}`, line);
}
