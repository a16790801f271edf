/**
 * Queries of hot paths (a registration, a connection's revocation check) compiled once and
 * then run with new values: kysely's builder and compiler cost more per registration than the
 * database's indexed lookup or single-row upsert. A query is built once with a placeholder string for each value, and each
 * parameter of the compiled SQL is then taken from the value its placeholder stands for: the
 * same SQL as building the query each time, on either dialect.
 */
import type { Compilable, CompiledQuery, Kysely } from 'kysely';

/** Where a compiled parameter's value comes from: a key, a field of a row, or a constant. */
type Slot = { key: number } | { row: number; column: string } | { constant: unknown };

const PLACEHOLDER = '\u0000gatehouse-placeholder:';

export class CompiledQueries<DB> {
  private readonly cache = new Map<string, { query: CompiledQuery; slots: Slot[] }>();

  constructor(private readonly db: Kysely<DB>) {}

  /**
   * The rows of a lookup by one or more keys: each parameter is one of `keys`, or a constant the
   * query itself holds (a `limit`), kept as compiled.
   */
  async rows<R>(name: string, build: (...keys: string[]) => Compilable<R>, keys: string[]): Promise<R[]> {
    let compiled = this.cache.get(name);
    if (!compiled) {
      compiled = this.compile(name, build(...keys.map((_, i) => `${PLACEHOLDER}${i}`)));
      this.cache.set(name, compiled);
    }
    const result = await this.db.executeQuery<R>({
      ...compiled.query,
      parameters: compiled.slots.map((s) => ('key' in s ? keys[s.key] : valueOf(s, []))),
    });
    return result.rows;
  }

  /**
   * Runs a statement built from rows of column values (an upsert's values and its update set),
   * on `db` (the caller's transaction). Compiled once for each set of columns the rows have:
   * a column whose value is `undefined` is left out, as kysely leaves it out.
   */
  async run(
    db: Kysely<DB>,
    name: string,
    rows: Array<Record<string, unknown>>,
    build: (...rows: Array<Record<string, unknown>>) => Compilable<unknown>,
  ): Promise<void> {
    const signature = `${name}|${rows.map((r) => definedColumns(r).join(',')).join('|')}`;
    let compiled = this.cache.get(signature);
    if (!compiled) {
      const placeholders = rows.map((r, i) =>
        Object.fromEntries(definedColumns(r).map((c) => [c, `${PLACEHOLDER}${i}:${c}`])),
      );
      compiled = this.compile(name, build(...placeholders));
      this.cache.set(signature, compiled);
    }
    await db.executeQuery({
      ...compiled.query,
      parameters: compiled.slots.map((s) => valueOf(s, rows)),
    });
  }

  /** Compiles and maps each parameter to what it stands for. */
  private compile(name: string, query: Compilable<unknown>): { query: CompiledQuery; slots: Slot[] } {
    const compiled = query.compile();
    const slots = compiled.parameters.map((p): Slot => {
      if (typeof p !== 'string' || !p.startsWith(PLACEHOLDER)) return { constant: p };
      const ref = p.slice(PLACEHOLDER.length);
      const colon = ref.indexOf(':');
      if (colon < 0) return { key: Number(ref) };
      return { row: Number(ref.slice(0, colon)), column: ref.slice(colon + 1) };
    });
    if (compiled.sql.includes(PLACEHOLDER))
      throw new Error(`compiled query ${name} has a value in its SQL text, not as a parameter`);
    return { query: compiled, slots };
  }
}

function definedColumns(row: Record<string, unknown>): string[] {
  return Object.keys(row).filter((c) => row[c] !== undefined);
}

function valueOf(slot: Slot, rows: Array<Record<string, unknown>>): unknown {
  if ('constant' in slot) return slot.constant;
  if ('row' in slot) return rows[slot.row]![slot.column];
  throw new Error('a key parameter outside a lookup');
}
