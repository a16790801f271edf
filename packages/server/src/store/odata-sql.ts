/**
 * Translates a parsed OData `$filter` (api/odata-filter.ts) into a SQL condition that gives the
 * same answer as the in-memory evaluation, on SQLite and on PostgreSQL, so a list can filter in
 * the database and page there.
 *
 * Where the two differ from SQL's defaults, the translation spells the in-memory meaning out:
 * - `eq` / `ne` are never unknown (`null eq null` is true, `x ne null` true for a value): they are
 *   `IS` / `IS NOT` on SQLite and `IS [NOT] DISTINCT FROM` on PostgreSQL.
 * - An ordering comparison with null is false, not unknown (`not (template lt 'x')` holds for a
 *   device without a template): `COALESCE(a < b, FALSE)`.
 * - A string function of null is unknown and so is its negation, as SQL's NULL is, and `and`,
 *   `or`, `not` follow the same three-valued logic in both.
 * - Text compares by code point: SQLite's BINARY collation, PostgreSQL's `collate "C"` columns
 *   (store/column-types.ts). `tolower`/`toupper` map ASCII letters only on SQLite (`lower()`).
 * Literals are bound parameters, never spliced into the text.
 */
import { sql, type RawBuilder, type SqlBool } from 'kysely';

import type { Comparison, FieldType, FilterNode, Scalar } from '../api/odata-filter.js';
import type { StoreDialect } from './column-types.js';

/** A field of a list as SQL sees it; boolean fields are SQL conditions (`(d.enabled = 1)`). */
export type SqlFields = Record<string, { type: FieldType; nullable: boolean; sql: RawBuilder<unknown> }>;

/** `v op x` as `x op' v`. */
function mirror(op: Comparison): Comparison {
  return op === 'lt' ? 'gt' : op === 'gt' ? 'lt' : op === 'le' ? 'ge' : op === 'ge' ? 'le' : op;
}

/** A literal as a typed parameter (PostgreSQL cannot guess the type of `$1 < $2`). */
export function sqlLiteral(value: Scalar, dialect: StoreDialect): RawBuilder<unknown> {
  if (value === null) return sql`NULL`;
  if (typeof value === 'boolean') return value ? sql`TRUE` : sql`FALSE`;
  if (dialect === 'sqlite') return sql`${value}`;
  return typeof value === 'number' ? sql`CAST(${value} AS double precision)` : sql`CAST(${value} AS text)`;
}

function expr(node: FilterNode, fields: SqlFields, dialect: StoreDialect): RawBuilder<unknown> {
  switch (node.kind) {
    case 'literal':
      return sqlLiteral(node.value, dialect);
    case 'field':
      return fields[node.name]!.sql;
    case 'compare': {
      const a = expr(node.left, fields, dialect);
      const b = expr(node.right, fields, dialect);
      // Against a literal value the comparison is spelt so an index on the other side serves it:
      // `x = v AND x IS NOT NULL` is never unknown, as `eq` must be, and is a range to the planner.
      const literal = [node.left, node.right].find((n) => n.kind === 'literal' && n.value !== null);
      if (literal) {
        const other = literal === node.left ? node.right : node.left;
        const x = literal === node.left ? b : a;
        const canBeNull = other.kind !== 'field' || fields[other.name]!.nullable;
        const op = { eq: '=', ne: '<>', lt: '<', le: '<=', gt: '>', ge: '>=' }[
          literal === node.left ? mirror(node.op) : node.op
        ];
        const test = sql`${x} ${sql.raw(op)} ${literal === node.left ? a : b}`;
        if (!canBeNull) return sql`(${test})`;
        return node.op === 'ne' ? sql`(${test} OR ${x} IS NULL)` : sql`(${test} AND ${x} IS NOT NULL)`;
      }
      const pg = dialect === 'postgres';
      switch (node.op) {
        case 'eq':
          return pg ? sql`(${a} IS NOT DISTINCT FROM ${b})` : sql`(${a} IS ${b})`;
        case 'ne':
          return pg ? sql`(${a} IS DISTINCT FROM ${b})` : sql`(${a} IS NOT ${b})`;
        case 'lt':
          return sql`COALESCE(${a} < ${b}, FALSE)`;
        case 'le':
          return sql`COALESCE(${a} <= ${b}, FALSE)`;
        case 'gt':
          return sql`COALESCE(${a} > ${b}, FALSE)`;
        case 'ge':
          return sql`COALESCE(${a} >= ${b}, FALSE)`;
      }
      break;
    }
    case 'logical': {
      const a = expr(node.left, fields, dialect);
      const b = expr(node.right, fields, dialect);
      return node.op === 'and' ? sql`(${a} AND ${b})` : sql`(${a} OR ${b})`;
    }
    case 'not':
      return sql`(NOT ${expr(node.item, fields, dialect)})`;
    case 'call': {
      const [a, b = sql`''`] = node.args.map((arg) => expr(arg, fields, dialect));
      // Position in characters, 0-based, -1 when absent (instr/strpos count from 1, 0 when absent).
      const position = dialect === 'postgres' ? sql`(strpos(${a}, ${b}) - 1)` : sql`(instr(${a}, ${b}) - 1)`;
      switch (node.name) {
        case 'indexof':
          return position;
        case 'contains':
          return sql`(${position} >= 0)`;
        case 'startswith':
          return sql`(substr(${a}, 1, length(${b})) = ${b})`;
        case 'endswith':
          return sql`(length(${a}) >= length(${b}) AND substr(${a}, length(${a}) - length(${b}) + 1) = ${b})`;
        case 'tolower':
          return sql`lower(${a})`;
        case 'toupper':
          return sql`upper(${a})`;
      }
    }
  }
  throw new Error('unreachable filter node');
}

/**
 * The SQL condition of a parsed filter over the given fields (a row matches when it is true).
 *
 * @example
 * select.where(filterSql(parseFilterTree("enabled eq true", fields), fields, 'sqlite'));
 */
export function filterSql(node: FilterNode, fields: SqlFields, dialect: StoreDialect): RawBuilder<SqlBool> {
  return sql<SqlBool>`${expr(node, fields, dialect)}`;
}
