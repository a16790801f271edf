/**
 * Finds the shell blocks of the README's journey, in order, from their markers: an HTML comment
 * on the line before a ```sh fence, invisible in rendered Markdown.
 *
 *   <!-- journey: certificates -->                                     run; it must exit 0
 *   <!-- journey: serve, background, wait-for "Gatehouse is running." -->  start it, wait for
 *                                       the text, keep it running until the journey ends
 *   <!-- journey: live-events, run-until "event: telemetry" -->        run until the text
 *                                       shows, then Ctrl+C it (SIGINT)
 *   <!-- journey: skip -->                                             not run (e.g. npm ci)
 *
 * `timeout 90s` changes how long a step may take (default 120 s). Every shell block in the
 * journey section (from "## The journey" to the next "## " heading) must carry a marker, so a
 * new command cannot slip past the check.
 */

export type StepMode = 'run' | 'background' | 'run-until';

export interface JourneyStep {
  /** The marker's name, unique in the README. */
  name: string;
  mode: StepMode;
  /** background: the text whose appearance means it is up; run-until: the text that ends it. */
  text?: string;
  timeoutMs: number;
  /** The block's commands, exactly as in the README. */
  script: string;
  /** 1-based line of the marker, for messages. */
  line: number;
}

export class JourneyMarkupError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`README.md:${line}: ${message}`);
    this.name = 'JourneyMarkupError';
  }
}

const MARKER = /^<!--\s*journey:\s*(.*?)\s*-->\s*$/;
const FENCE_OPEN = /^```(\w*)\s*$/;
const SHELL = new Set(['sh', 'bash', 'shell', 'console']);
const NAME = /^[a-z0-9][a-z0-9-]*$/;
const DEFAULT_TIMEOUT_MS = 120_000;

/** Splits `a, b "x, y", c` on commas outside double quotes. */
function splitOptions(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      parts.push(current.trim());
      current = '';
    } else current += ch;
  }
  parts.push(current.trim());
  return parts;
}

function parseMarker(body: string, line: number): Omit<JourneyStep, 'script'> | 'skip' {
  const [name = '', ...options] = splitOptions(body);
  if (name === 'skip') {
    if (options.length > 0) throw new JourneyMarkupError(line, '"skip" takes no options.');
    return 'skip';
  }
  if (!NAME.test(name)) {
    throw new JourneyMarkupError(
      line,
      `"${name}" is not a step name (lower-case letters, digits, hyphens), or "skip".`,
    );
  }
  const step: Omit<JourneyStep, 'script'> = { name, mode: 'run', timeoutMs: DEFAULT_TIMEOUT_MS, line };
  let waitFor: string | undefined;
  let until: string | undefined;
  let background = false;
  for (const option of options) {
    let m: RegExpExecArray | null;
    if (option === 'background') background = true;
    else if ((m = /^wait-for\s+"([^"]+)"$/.exec(option))) waitFor = m[1];
    else if ((m = /^run-until\s+"([^"]+)"$/.exec(option))) until = m[1];
    else if ((m = /^timeout\s+(\d+)s$/.exec(option))) step.timeoutMs = Number(m[1]) * 1000;
    else {
      throw new JourneyMarkupError(
        line,
        `unknown option "${option}" (background, wait-for "text", run-until "text", timeout Ns).`,
      );
    }
  }
  if (background && until !== undefined) {
    throw new JourneyMarkupError(line, 'choose background or run-until, not both.');
  }
  if (background !== (waitFor !== undefined)) {
    throw new JourneyMarkupError(line, 'background and wait-for "text" go together.');
  }
  if (background) {
    step.mode = 'background';
    step.text = waitFor;
  } else if (until !== undefined) {
    step.mode = 'run-until';
    step.text = until;
  }
  return step;
}

/** The journey's steps in README order; throws {@link JourneyMarkupError} on bad markup. */
export function extractJourney(markdown: string): JourneyStep[] {
  const lines = markdown.split(/\r?\n/);
  const steps: JourneyStep[] = [];
  let inJourney = false;
  let pending: { marker: Omit<JourneyStep, 'script'> | 'skip'; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] ?? '';
    const lineNo = i + 1;
    if (/^## /.test(text)) inJourney = /^## The journey\b/.test(text);
    const marker = MARKER.exec(text);
    if (marker) {
      if (pending) throw new JourneyMarkupError(pending.line, 'a marker must be followed by a ```sh block.');
      pending = { marker: parseMarker(marker[1] ?? '', lineNo), line: lineNo };
      continue;
    }
    const fence = FENCE_OPEN.exec(text);
    if (!fence) {
      if (pending && text.trim() !== '') {
        throw new JourneyMarkupError(pending.line, 'a marker must be followed by a ```sh block.');
      }
      continue;
    }
    // A fenced block: find its end, whatever its language.
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end] ?? '')) end++;
    if (end >= lines.length) throw new JourneyMarkupError(lineNo, 'unclosed code fence.');
    const shell = SHELL.has(fence[1] ?? '');
    const body = lines.slice(i + 1, end).join('\n');
    if (pending) {
      if (!shell) {
        throw new JourneyMarkupError(pending.line, `a marker must be followed by a \`\`\`sh block.`);
      }
      if (pending.marker !== 'skip') {
        const { name } = pending.marker;
        if (steps.some((s) => s.name === name)) {
          throw new JourneyMarkupError(pending.line, `step name "${name}" is used twice.`);
        }
        steps.push({ ...pending.marker, script: body });
      }
      pending = undefined;
    } else if (shell && inJourney) {
      throw new JourneyMarkupError(
        lineNo,
        'this shell block in the journey has no marker: add <!-- journey: <step-name> --> (or <!-- journey: skip -->) on the line before it.',
      );
    }
    i = end;
  }
  if (pending) throw new JourneyMarkupError(pending.line, 'a marker must be followed by a ```sh block.');
  return steps;
}
