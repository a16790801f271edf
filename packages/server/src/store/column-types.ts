import { sql, type Expression } from 'kysely';

/** The two databases the store runs on (store/open-store.ts picks one). */
export type StoreDialect = 'sqlite' | 'postgres';

type DataType = 'text' | 'integer' | 'bigint' | 'blob' | 'bytea' | Expression<unknown>;

/**
 * Column types that mean the same on both databases. SQLite's `text` compares bytes; on
 * PostgreSQL a `text` column takes the database's collation (en_US sorts `a-b` after `ab`),
 * so PostgreSQL text is `collate "C"`: equality, ORDER BY and range scans of ids and ISO
 * times behave as on SQLite. `integer` is 64-bit on SQLite but 32-bit on PostgreSQL, so a
 * value that can pass 2^31 (a sequence, a millisecond counter) is `big`. Blobs are `bytea`.
 */
export interface ColumnTypes {
  text: DataType;
  integer: DataType;
  big: DataType;
  blob: DataType;
}

export function columnTypes(dialect: StoreDialect): ColumnTypes {
  return dialect === 'postgres'
    ? { text: sql`text collate "C"`, integer: 'integer', big: 'bigint', blob: 'bytea' }
    : { text: 'text', integer: 'integer', big: 'integer', blob: 'blob' };
}
