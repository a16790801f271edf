/**
 * IoT Central's device query, the filter of device groups (EXPORT_RULES.md §3, §5.1), and later
 * of data exports: `SELECT * FROM devices [WHERE expr]`. This file only parses: a tokenizer that
 * keeps the position of every token, and a recursive-descent parser that turns the text into an
 * expression tree, refusing a bad token with {@link DeviceQueryError} (its 1-based `position` and
 * the token's text). device-query-eval.ts evaluates the tree, in SQL where it can.
 *
 * Grammar (EXPORT_RULES.md §3's EBNF, the subset that selects devices):
 * ```
 * query    := SELECT '*' FROM source [WHERE expr]
 * source   := 'devices' | templateId            ; a template ID is `$template = templateId`
 * expr     := term (OR term)* ; term := factor (AND factor)*
 * factor   := NOT factor | '(' expr ')' | pred
 * pred     := operand cmp literal | operand IN '[' literal (',' literal)* ']'
 *           | (CONTAINS | STARTS_WITH | ENDS_WITH) '(' operand ',' string ')'
 * cmp      := '=' | '==' | '!=' | '<>' | '>' | '<' | '>=' | '<='
 * operand  := $id | $displayName | $template | $simulated | $provisioned | $enabled
 *           | name | component '.' name          ; a device or cloud property
 * literal  := "dq-string" | 'sq-string' | number | true | false | null
 * ```
 * Keywords are case-insensitive; names and strings are not. `STARTS_WITH` and `ENDS_WITH` are
 * Gatehouse extensions (§3 marks them so).
 */

/** EXPORT_RULES.md §3: IoT Central caps a query at 350 characters (the /query API); we allow more for groups. */
export const MAX_QUERY_LENGTH = 2048;
/** Nesting of parentheses and NOT: enough for any hand-written filter, bounded for the recursion. */
export const MAX_QUERY_DEPTH = 32;
/** EXPORT_RULES.md §5.1: at most 100 filters per group. */
export const MAX_QUERY_PREDICATES = 100;

/** A refusal that names where: `position` is 1-based in the query text, `token` is what was found there. */
export class DeviceQueryError extends Error {
  constructor(
    readonly position: number,
    readonly token: string,
    readonly reason: string,
  ) {
    super(`${reason} at position ${position}${token === '' ? ' (the end of the query)' : ` ('${token}')`}`);
    this.name = 'DeviceQueryError';
  }
}

export type SystemField = '$id' | '$displayName' | '$template' | '$simulated' | '$provisioned' | '$enabled';
export const SYSTEM_FIELDS: Record<string, { field: SystemField; type: 'string' | 'boolean' }> = {
  $id: { field: '$id', type: 'string' },
  $displayname: { field: '$displayName', type: 'string' },
  $template: { field: '$template', type: 'string' },
  $simulated: { field: '$simulated', type: 'boolean' },
  $provisioned: { field: '$provisioned', type: 'boolean' },
  $enabled: { field: '$enabled', type: 'boolean' },
};

export type Literal = string | number | boolean | null;
export type Operand =
  { kind: 'system'; field: SystemField } | { kind: 'property'; component?: string; name: string };
export type Comparison = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type TextFunction = 'contains' | 'startsWith' | 'endsWith';

export type QueryExpr =
  | { kind: 'and' | 'or'; items: QueryExpr[] }
  | { kind: 'not'; item: QueryExpr }
  | { kind: 'compare'; operand: Operand; op: Comparison; value: Literal }
  | { kind: 'in'; operand: Operand; values: Literal[] }
  | { kind: 'text'; fn: TextFunction; operand: Operand; value: string };

export interface DeviceQuery {
  /** The text as given. */
  text: string;
  /** `FROM <templateId>` instead of `FROM devices`. */
  template?: string;
  /** Absent: every device. */
  where?: QueryExpr;
}

type Token =
  | { kind: 'word'; text: string; at: number }
  | { kind: 'string'; value: string; text: string; at: number }
  | { kind: 'number'; value: number; text: string; at: number }
  | { kind: 'punct'; text: string; at: number }
  | { kind: 'end'; text: ''; at: number };

const PUNCT = ['>=', '<=', '<>', '!=', '==', '=', '<', '>', '(', ')', ',', '[', ']', '*'];
const FUNCTIONS: Record<string, TextFunction> = {
  contains: 'contains',
  starts_with: 'startsWith',
  ends_with: 'endsWith',
};

/** Splits the query into tokens; an unreadable character or an open string is refused where it starts. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const punct = PUNCT.find((p) => text.startsWith(p, i));
    if (punct !== undefined) {
      tokens.push({ kind: 'punct', text: punct, at: i });
      i += punct.length;
    } else if (c === '"' || c === "'") {
      // A quote inside is escaped with a backslash (IoT Central's examples never need more).
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length)
          throw new DeviceQueryError(i + 1, text.slice(i, i + 20), 'the string has no closing quote');
        const d = text[j]!;
        if (d === '\\' && j + 1 < text.length) {
          value += text[j + 1];
          j += 2;
          continue;
        }
        if (d === c) break;
        value += d;
        j++;
      }
      tokens.push({ kind: 'string', value, text: text.slice(i, j + 1), at: i });
      i = j + 1;
    } else if (/[-0-9]/.test(c)) {
      const m = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i));
      if (!m) throw new DeviceQueryError(i + 1, c, 'unexpected character');
      tokens.push({ kind: 'number', value: Number(m[0]), text: m[0], at: i });
      i += m[0].length;
    } else if (/[A-Za-z_$]/.test(c)) {
      // Names, `component.name`, keywords and template IDs (`dtmi:com:example:Thermostat;1`,
      // `urn:…`) are one token each.
      const m = /^[A-Za-z_$][A-Za-z0-9_$]*(?:(?::[A-Za-z0-9_]+)+(?:;\d+)?|\.[A-Za-z][A-Za-z0-9_]*)?/.exec(
        text.slice(i),
      )!;
      tokens.push({ kind: 'word', text: m[0], at: i });
      i += m[0].length;
    } else {
      throw new DeviceQueryError(i + 1, c, 'unexpected character');
    }
  }
  tokens.push({ kind: 'end', text: '', at: text.length });
  return tokens;
}

/**
 * Parses a device query; throws {@link DeviceQueryError} naming the first token that does not fit.
 *
 * @example
 * parseDeviceQuery('SELECT * FROM devices WHERE $template = "dtmi:x:y;1" AND $provisioned = true')
 */
export function parseDeviceQuery(text: string): DeviceQuery {
  if (text.length > MAX_QUERY_LENGTH) {
    throw new DeviceQueryError(
      MAX_QUERY_LENGTH + 1,
      '',
      `the query is longer than ${MAX_QUERY_LENGTH} characters`,
    );
  }
  const tokens = tokenize(text);
  let pos = 0;
  let predicates = 0;
  const peek = () => tokens[pos]!;
  const fail = (t: Token, reason: string): never => {
    throw new DeviceQueryError(t.at + 1, t.text, reason);
  };
  const isWord = (t: Token, word: string) => t.kind === 'word' && t.text.toLowerCase() === word;
  const keyword = (word: string) => {
    const t = peek();
    if (!isWord(t, word)) fail(t, `expected ${word.toUpperCase()}`);
    pos++;
  };
  const punct = (p: string, what = `'${p}'`) => {
    const t = peek();
    if (t.kind !== 'punct' || t.text !== p) fail(t, `expected ${what}`);
    pos++;
  };

  keyword('select');
  punct('*', "'*' (only SELECT * selects devices)");
  keyword('from');
  const source = peek();
  if (source.kind !== 'word') fail(source, "expected 'devices' or a device template ID");
  pos++;
  const query: DeviceQuery = { text };
  if (source.text.toLowerCase() !== 'devices') {
    if (!source.text.includes(':')) fail(source, "expected 'devices' or a device template ID");
    query.template = source.text;
  }
  if (peek().kind === 'end') return query;
  keyword('where');

  const operand = (): Operand => {
    const t = peek();
    if (t.kind !== 'word')
      return fail(t, 'expected a field ($id, $displayName, $template, …) or a property name');
    if (t.text.startsWith('$')) {
      const sys = SYSTEM_FIELDS[t.text.toLowerCase()];
      if (!sys) {
        return fail(
          t,
          `unknown system field; use ${Object.values(SYSTEM_FIELDS)
            .map((s) => s.field)
            .join(', ')}`,
        );
      }
      pos++;
      return { kind: 'system', field: sys.field };
    }
    const m = /^([A-Za-z][A-Za-z0-9_]*)(?:\.([A-Za-z][A-Za-z0-9_]*))?$/.exec(t.text);
    if (!m) return fail(t, 'expected a property name or component.name');
    pos++;
    if (m[2] !== undefined) return { kind: 'property', component: m[1]!, name: m[2] };
    return { kind: 'property', name: t.text };
  };

  const literal = (): Literal => {
    const t = peek();
    pos++;
    if (t.kind === 'string' || t.kind === 'number') return t.value;
    if (t.kind === 'word') {
      const w = t.text.toLowerCase();
      if (w === 'true') return true;
      if (w === 'false') return false;
      if (w === 'null') return null;
    }
    return fail(t, 'expected a value (a "string", a number, true, false or null)');
  };

  const predicate = (): QueryExpr => {
    if (++predicates > MAX_QUERY_PREDICATES) fail(peek(), `more than ${MAX_QUERY_PREDICATES} conditions`);
    const t = peek();
    const fn = t.kind === 'word' ? FUNCTIONS[t.text.toLowerCase()] : undefined;
    if (fn !== undefined && tokens[pos + 1]?.text === '(') {
      pos += 2;
      const target = operand();
      punct(',');
      const v = peek();
      if (v.kind !== 'string')
        fail(v, `expected a "string" as the second argument of ${t.text.toUpperCase()}`);
      pos++;
      punct(')');
      return { kind: 'text', fn, operand: target, value: (v as { value: string }).value };
    }
    const left = operand();
    const op = peek();
    if (isWord(op, 'in')) {
      pos++;
      punct('[', "'[' after IN");
      const values = [literal()];
      while (peek().text === ',') {
        pos++;
        values.push(literal());
      }
      punct(']', "',' or ']'");
      return { kind: 'in', operand: left, values };
    }
    if (op.kind !== 'punct' || !['=', '==', '!=', '<>', '<', '<=', '>', '>='].includes(op.text)) {
      return fail(op, 'expected a comparison (= != <> < <= > >=), IN or the end of the condition');
    }
    pos++;
    const normalized: Comparison = op.text === '==' ? '=' : op.text === '<>' ? '!=' : (op.text as Comparison);
    const value = literal();
    checkType(left, value, tokens[pos - 1]!);
    return { kind: 'compare', operand: left, op: normalized, value };
  };

  const checkType = (left: Operand, value: Literal, at: Token) => {
    if (left.kind !== 'system' || value === null) return;
    const type = Object.values(SYSTEM_FIELDS).find((s) => s.field === left.field)!.type;
    if (typeof value !== type)
      fail(at, `${left.field} is a ${type}; expected ${type === 'boolean' ? 'true or false' : 'a "string"'}`);
  };

  const factor = (depth: number): QueryExpr => {
    if (depth > MAX_QUERY_DEPTH) fail(peek(), `nested deeper than ${MAX_QUERY_DEPTH} levels`);
    const t = peek();
    if (isWord(t, 'not')) {
      pos++;
      return { kind: 'not', item: factor(depth + 1) };
    }
    if (t.kind === 'punct' && t.text === '(') {
      pos++;
      const inner = expr(depth + 1);
      punct(')', "')' or AND/OR");
      return inner;
    }
    return predicate();
  };
  const term = (depth: number): QueryExpr => {
    const items = [factor(depth)];
    while (isWord(peek(), 'and')) {
      pos++;
      items.push(factor(depth));
    }
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  };
  const expr = (depth: number): QueryExpr => {
    const items = [term(depth)];
    while (isWord(peek(), 'or')) {
      pos++;
      items.push(term(depth));
    }
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  };

  query.where = expr(0);
  if (peek().kind !== 'end') fail(peek(), 'expected AND, OR or the end of the query');
  return query;
}

/** The property names (with their component) a query reads: the evaluator loads only those. */
export function queryProperties(query: DeviceQuery): Array<{ component?: string; name: string }> {
  const out: Array<{ component?: string; name: string }> = [];
  const walk = (e: QueryExpr | undefined): void => {
    if (!e) return;
    switch (e.kind) {
      case 'and':
      case 'or':
        e.items.forEach(walk);
        return;
      case 'not':
        walk(e.item);
        return;
      default:
        if (e.operand.kind === 'property') out.push(e.operand);
    }
  };
  walk(query.where);
  return out;
}
