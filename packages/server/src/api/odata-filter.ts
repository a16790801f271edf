import { commonError } from '../validation.js';

/**
 * The OData `$filter` subset IoT Central's list calls take (CENTRAL_API.md §1.2, "OData $filter
 * on the list-devices call"): comparisons `eq ne lt le gt ge` between a field and a literal,
 * combined with `and`, `or`, `not` and parentheses, and the string functions `indexof`,
 * `contains`, `startswith`, `endswith`, `tolower`, `toupper`. It is parsed once into a typed
 * tree, then either evaluated in memory over the listed items ({@link parseFilter}) or
 * translated to SQL (store/odata-sql.ts: the device list filters in the database).
 *
 * Bad input answers 400 ERR_QUERY_INVALID naming the position and what was expected; the
 * length and nesting caps keep a crafted filter from costing more than a parse.
 */

export type FieldType = 'string' | 'boolean' | 'number';
/** The fields one list can filter and sort on: name → type and how to read it from an item. */
export type FieldTable<T> = Record<string, { type: FieldType; get: (item: T) => Scalar }>;
export type Scalar = string | number | boolean | null;

export const MAX_FILTER_LENGTH = 2048;
export const MAX_FILTER_DEPTH = 32;

type Token =
  | { kind: 'name'; text: string; at: number }
  | { kind: 'string'; value: string; at: number }
  | { kind: 'number'; value: number; at: number }
  | { kind: 'punct'; text: '(' | ')' | ','; at: number }
  | { kind: 'end'; at: number };

const COMPARISONS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
export type Comparison = (typeof COMPARISONS)[number];

function invalid(message: string): Error {
  return commonError('ERR_QUERY_INVALID', `$filter: ${message}.`);
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: 'punct', text: c, at: i });
      i++;
    } else if (c === "'") {
      // OData string literal: a quote inside is written twice.
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length)
          throw invalid(`the string that starts at position ${i + 1} has no closing quote`);
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += text[j];
        j++;
      }
      tokens.push({ kind: 'string', value, at: i });
      i = j + 1;
    } else if (/[-0-9]/.test(c)) {
      const m = /^-?\d+(\.\d+)?/.exec(text.slice(i));
      if (!m) throw invalid(`unexpected '${c}' at position ${i + 1}`);
      tokens.push({ kind: 'number', value: Number(m[0]), at: i });
      i += m[0].length;
    } else if (/[A-Za-z_$@]/.test(c)) {
      const m = /^[A-Za-z_$@][A-Za-z0-9_$@.]*/.exec(text.slice(i))!;
      tokens.push({ kind: 'name', text: m[0], at: i });
      i += m[0].length;
    } else {
      throw invalid(`unexpected '${c}' at position ${i + 1}`);
    }
  }
  tokens.push({ kind: 'end', at: text.length });
  return tokens;
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'end':
      return 'the end';
    case 'name':
    case 'punct':
      return `'${t.text}' at position ${t.at + 1}`;
    case 'string':
      return `the string '${t.value}' at position ${t.at + 1}`;
    case 'number':
      return `the number ${t.value} at position ${t.at + 1}`;
  }
}

function compare(op: Comparison, a: Scalar, b: Scalar): boolean {
  if (op === 'eq') return a === b;
  if (op === 'ne') return a !== b;
  // Ordering against null is false, as in OData.
  if (a === null || b === null) return false;
  switch (op) {
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
  }
}

export type StringFunction = 'indexof' | 'contains' | 'startswith' | 'endswith' | 'tolower' | 'toupper';

const STRING_FUNCTIONS: Record<
  StringFunction,
  { args: 1 | 2; type: FieldType; fn: (a: string, b: string) => Scalar }
> = {
  indexof: { args: 2, type: 'number', fn: (a, b) => a.indexOf(b) },
  contains: { args: 2, type: 'boolean', fn: (a, b) => a.includes(b) },
  startswith: { args: 2, type: 'boolean', fn: (a, b) => a.startsWith(b) },
  endswith: { args: 2, type: 'boolean', fn: (a, b) => a.endsWith(b) },
  tolower: { args: 1, type: 'string', fn: (a) => a.toLowerCase() },
  toupper: { args: 1, type: 'string', fn: (a) => a.toUpperCase() },
};

/**
 * A parsed filter: every node knows its type, checked while parsing, so both evaluators (in
 * memory below, SQL in store/odata-sql.ts) only translate.
 */
export type FilterNode =
  | { kind: 'literal'; type: FieldType | 'null'; value: Scalar }
  | { kind: 'field'; type: FieldType; name: string }
  | { kind: 'compare'; type: 'boolean'; op: Comparison; left: FilterNode; right: FilterNode }
  | { kind: 'logical'; type: 'boolean'; op: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; type: 'boolean'; item: FilterNode }
  | { kind: 'call'; type: FieldType; name: StringFunction; args: FilterNode[] };

/** The types of the fields a filter may name. */
export type FieldTypes = Record<string, { type: FieldType }>;

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(
    private readonly text: string,
    private readonly tokens: Token[],
    private readonly fields: FieldTypes,
  ) {}

  parse(): FilterNode {
    const expr = this.or();
    const t = this.peek();
    if (t.kind !== 'end') throw invalid(`expected 'and', 'or' or the end, found ${describe(t)}`);
    return this.condition(expr);
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    return this.tokens[this.pos++]!;
  }

  /** Keywords and operators are case-insensitive (OData 4.01 §5.1.1). */
  private isWord(t: Token, words: readonly string[]): t is Token & { kind: 'name' } {
    return t.kind === 'name' && words.includes(t.text.toLowerCase());
  }

  /**
   * Takes a binary operator (`and`, `or`, `eq` …) if one is next. OData asks for white space
   * on both sides (`RWS "and" RWS`): `1and x` or `'a'or x` is refused, not guessed at.
   */
  private operator(words: readonly string[]): string | undefined {
    const t = this.peek();
    if (!this.isWord(t, words)) return undefined;
    const before = this.text[t.at - 1];
    const after = this.text[t.at + t.text.length];
    if (before !== ' ' && before !== '\t')
      throw invalid(`'${t.text}' at position ${t.at + 1} needs a space before it`);
    // At the very end, the missing operand is the clearer message (below).
    if (after !== undefined && after !== ' ' && after !== '\t')
      throw invalid(`'${t.text}' at position ${t.at + 1} needs a space after it`);
    this.pos++;
    return t.text.toLowerCase();
  }

  private expectPunct(text: '(' | ')' | ','): void {
    const t = this.next();
    if (t.kind !== 'punct' || t.text !== text) throw invalid(`expected '${text}', found ${describe(t)}`);
  }

  /** Checks that `e` is a condition (a boolean expression). */
  private condition(e: FilterNode): FilterNode {
    if (e.type !== 'boolean')
      throw invalid('the filter must be a condition (a comparison or a boolean field)');
    return e;
  }

  private nest<R>(f: () => R): R {
    if (++this.depth > MAX_FILTER_DEPTH) throw invalid(`nested deeper than ${MAX_FILTER_DEPTH} levels`);
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  // Precedence, lowest first (OData 4.01 §5.1.1.1): or, and, comparisons, not.
  private or(): FilterNode {
    return this.logical('or', () => this.and());
  }

  private and(): FilterNode {
    return this.logical('and', () => this.comparison());
  }

  private logical(op: 'and' | 'or', operand: () => FilterNode): FilterNode {
    let left = operand();
    while (this.operator([op])) {
      const a = this.condition(left);
      const b = this.condition(operand());
      left = { kind: 'logical', type: 'boolean', op, left: a, right: b };
    }
    return left;
  }

  private comparison(): FilterNode {
    const left = this.unary();
    const at = this.peek();
    const op = this.operator(COMPARISONS) as Comparison | undefined;
    if (op === undefined) return left;
    const right = this.unary();
    if (left.type !== 'null' && right.type !== 'null' && left.type !== right.type) {
      throw invalid(`${describe(at)} compares a ${left.type} with a ${right.type}`);
    }
    if ((left.type === 'null' || right.type === 'null') && op !== 'eq' && op !== 'ne') {
      throw invalid(`${describe(at)}: null can only be compared with eq or ne`);
    }
    return { kind: 'compare', type: 'boolean', op, left, right };
  }

  /** `not` binds tighter than a comparison. */
  private unary(): FilterNode {
    const t = this.peek();
    if (this.isWord(t, ['not']) && this.tokens[this.pos + 1]?.kind !== 'end') {
      const after = this.text[t.at + t.text.length];
      if (after !== ' ' && after !== '\t' && after !== '(') {
        throw invalid(`'${t.text}' at position ${t.at + 1} needs a space or '(' after it`);
      }
      this.pos++;
      const item = this.nest(() => this.condition(this.unary()));
      return { kind: 'not', type: 'boolean', item };
    }
    return this.operand();
  }

  private operand(): FilterNode {
    const t = this.next();
    switch (t.kind) {
      case 'string':
        return { kind: 'literal', type: 'string', value: t.value };
      case 'number':
        return { kind: 'literal', type: 'number', value: t.value };
      case 'punct': {
        if (t.text !== '(') break;
        const inner = this.nest(() => this.or());
        this.expectPunct(')');
        return inner;
      }
      case 'name': {
        const word = t.text.toLowerCase();
        if (word === 'true' || word === 'false') {
          return { kind: 'literal', type: 'boolean', value: word === 'true' };
        }
        if (word === 'null') return { kind: 'literal', type: 'null', value: null };
        if (Object.hasOwn(STRING_FUNCTIONS, word) && this.peek().kind === 'punct') {
          return this.call(t.text, word as StringFunction);
        }
        const field = Object.hasOwn(this.fields, t.text) ? this.fields[t.text] : undefined;
        if (!field) {
          throw invalid(
            `unknown field '${t.text}' at position ${t.at + 1}; the fields are ${Object.keys(this.fields).join(', ')}`,
          );
        }
        return { kind: 'field', type: field.type, name: t.text };
      }
      case 'end':
        break;
    }
    throw invalid(`expected a field, a literal or '(', found ${describe(t)}`);
  }

  private call(written: string, name: StringFunction): FilterNode {
    const fn = STRING_FUNCTIONS[name];
    this.expectPunct('(');
    const args = this.nest(() => {
      const list = [this.or()];
      while (this.peek().kind === 'punct' && (this.peek() as { text: string }).text === ',') {
        this.pos++;
        list.push(this.or());
      }
      return list;
    });
    this.expectPunct(')');
    if (args.length !== fn.args)
      throw invalid(`${written}() takes ${fn.args} argument${fn.args === 1 ? '' : 's'}`);
    for (const a of args) {
      if (a.type !== 'string') throw invalid(`the arguments of ${written}() must be strings`);
    }
    return { kind: 'call', type: fn.type, name, args };
  }
}

/** Evaluates a node for one item: a scalar, or null (unknown, e.g. a function of a null field). */
function evaluator<T>(node: FilterNode, fields: FieldTable<T>): (item: T) => Scalar {
  switch (node.kind) {
    case 'literal': {
      const v = node.value;
      return () => v;
    }
    case 'field':
      return fields[node.name]!.get;
    case 'compare': {
      const a = evaluator(node.left, fields);
      const b = evaluator(node.right, fields);
      const op = node.op;
      return (item) => compare(op, a(item), b(item));
    }
    case 'logical': {
      // Three-valued logic: `decisive` (false for and, true for or) wins, then unknown, then the other.
      const a = truth(evaluator(node.left, fields));
      const b = truth(evaluator(node.right, fields));
      const decisive = node.op === 'or';
      return (item) => {
        const x = a(item);
        const y = b(item);
        return x === decisive || y === decisive ? decisive : x === null || y === null ? null : !decisive;
      };
    }
    case 'not': {
      // `not` of unknown stays unknown.
      const inner = truth(evaluator(node.item, fields));
      return (item) => {
        const v = inner(item);
        return v === null ? null : !v;
      };
    }
    case 'call': {
      const fn = STRING_FUNCTIONS[node.name].fn;
      const [a, b] = node.args.map((arg) => evaluator(arg, fields)) as [
        (item: T) => Scalar,
        ((item: T) => Scalar) | undefined,
      ];
      return (item) => {
        const x = a(item);
        const y = b ? b(item) : '';
        // A missing (null) field matches no string function, as in OData.
        if (typeof x !== 'string' || typeof y !== 'string') return null;
        return fn(x, y);
      };
    }
  }
}

function truth<T>(e: (item: T) => Scalar): (item: T) => boolean | null {
  return (item) => {
    const v = e(item);
    return typeof v === 'boolean' ? v : null;
  };
}

/**
 * Parse an OData `$filter` into a typed tree over fields of the given types.
 *
 * @example
 * const tree = parseFilterTree("enabled eq true", { enabled: { type: 'boolean' } });
 */
export function parseFilterTree(text: string, fields: FieldTypes): FilterNode {
  if (text.length > MAX_FILTER_LENGTH) throw invalid(`longer than ${MAX_FILTER_LENGTH} characters`);
  if (text.trim() === '') throw invalid('empty');
  return new Parser(text, tokenize(text), fields).parse();
}

/**
 * Compile an OData `$filter` into a predicate over items with the given fields.
 *
 * @example
 * const keep = parseFilter("enabled eq true and indexof(displayName,'sensor') ge 0", DEVICE_FIELDS);
 * devices.filter(keep);
 */
export function parseFilter<T>(text: string, fields: FieldTable<T>): (item: T) => boolean {
  const e = truth(evaluator(parseFilterTree(text, fields), fields));
  // Null (unknown) is not a match, as in OData.
  return (item) => e(item) === true;
}
