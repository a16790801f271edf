/**
 * The device list filtered, sorted and paged in the database (CENTRAL_API.md §1.1–§1.2: `$filter`,
 * `$orderby`, `$top`, `nextLink`), so the first page of a fleet of 100,000 costs an index scan,
 * not a read of the whole table.
 *
 * Paging is by key (keyset): `$skiptoken` holds the sort values and the ID of the last device of
 * the page, and the next page starts after them. A device created or deleted between two pages
 * neither repeats nor pushes another out of the listing, as an offset would. Ties are broken by
 * the device ID (ascending), so the order is total.
 *
 * The fields: `connected` is whether the device's session row names a node holding its
 * connection (device_sessions: on one node as in a cluster), `lastActivity` the stored last
 * activity (device_status). The page's devices are answered with their live status.
 */
import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';

import type { FieldType, FilterNode } from '../api/odata-filter.js';
import type { StoreDialect } from '../store/column-types.js';
import { filterSql, sqlLiteral, type SqlFields } from '../store/odata-sql.js';
import type { Database, DevicesTable } from '../store/schema.js';
import { commonError } from '../validation.js';
import type { DeviceListQuery } from './device-list-query.js';
import type { StoredStatus } from './devices.js';

export interface DeviceListRow {
  row: Selectable<DevicesTable>;
  status: StoredStatus | undefined;
}

/** What a filter may test: the columns of the list (boolean fields as SQL conditions). */
const FILTER_FIELDS: SqlFields = {
  id: { type: 'string', nullable: false, sql: sql`d.id` },
  displayName: { type: 'string', nullable: false, sql: sql`d.display_name` },
  template: { type: 'string', nullable: true, sql: sql`d.template` },
  enabled: { type: 'boolean', nullable: false, sql: sql`(d.enabled = 1)` },
  provisioned: { type: 'boolean', nullable: false, sql: sql`(d.provisioned = 1)` },
  simulated: { type: 'boolean', nullable: false, sql: sql`(d.simulated = 1)` },
  connected: { type: 'boolean', nullable: false, sql: sql`(ss.node_id IS NOT NULL)` },
  lastActivity: { type: 'string', nullable: true, sql: sql`st.last_activity` },
};

/** The fields read from the joined status tables: a query that names none of them skips the joins. */
const JOINED = new Set(['connected', 'lastActivity']);

function hasCall(node: FilterNode): boolean {
  if (node.kind === 'call') return true;
  if (node.kind === 'compare' || node.kind === 'logical') return hasCall(node.left) || hasCall(node.right);
  return node.kind === 'not' && hasCall(node.item);
}

function names(node: FilterNode | undefined, into = new Set<string>()): Set<string> {
  if (!node) return into;
  if (node.kind === 'field') into.add(node.name);
  else if (node.kind === 'compare' || node.kind === 'logical') {
    names(node.left, into);
    names(node.right, into);
  } else if (node.kind === 'not') names(node.item, into);
  else if (node.kind === 'call') for (const a of node.args) names(a, into);
  return into;
}

/** What the list sorts by: booleans as 0/1 (false first), text by code point. */
const SORT_KEYS: Record<string, { type: FieldType; nullable: boolean; sql: RawBuilder<unknown> }> = {
  id: { type: 'string', nullable: false, sql: sql`d.id` },
  displayName: { type: 'string', nullable: false, sql: sql`d.display_name` },
  template: { type: 'string', nullable: true, sql: sql`d.template` },
  enabled: { type: 'number', nullable: false, sql: sql`d.enabled` },
  provisioned: { type: 'number', nullable: false, sql: sql`d.provisioned` },
  simulated: { type: 'number', nullable: false, sql: sql`d.simulated` },
  connected: {
    type: 'number',
    nullable: false,
    sql: sql`(CASE WHEN ss.node_id IS NULL THEN 0 ELSE 1 END)`,
  },
  lastActivity: { type: 'string', nullable: true, sql: sql`st.last_activity` },
};

/** The fields the device list filters and sorts on (the route's `DEVICE_FIELDS` must agree). */
export const DEVICE_LIST_FIELDS = Object.keys(FILTER_FIELDS);

interface Key {
  name: string;
  descending: boolean;
  type: FieldType;
  nullable: boolean;
  sql: RawBuilder<unknown>;
}

type KeyValue = string | number | null;
interface Cursor {
  values: KeyValue[];
}

function badToken(): Error {
  return commonError(
    'ERR_QUERY_INVALID',
    '$skiptoken is not one this server wrote: follow nextLink as it is.',
  );
}

/** The sort keys, ending with the device ID (unique: nothing after it matters). */
function sortKeys(order: DeviceListQuery['order']): Key[] {
  const keys: Key[] = [];
  for (const o of order ?? []) {
    const k = SORT_KEYS[o.field];
    if (!k) throw commonError('ERR_QUERY_INVALID', `$orderby: unknown field '${o.field}'.`);
    keys.push({ name: o.field, descending: o.descending, ...k });
    if (o.field === 'id') return keys;
  }
  keys.push({ name: 'id', descending: false, ...SORT_KEYS['id']! });
  return keys;
}

/** The order a token belongs to: a token of another order is refused, not misread. */
function signature(keys: Key[]): string {
  return keys.map((k) => `${k.name}${k.descending ? '-' : '+'}`).join(',');
}

function encodeToken(keys: Key[], values: KeyValue[]): string {
  return Buffer.from(JSON.stringify({ s: signature(keys), k: values })).toString('base64url');
}

function decodeToken(token: string, keys: Key[]): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
  } catch {
    throw badToken();
  }
  const { s, k } = (parsed ?? {}) as { s?: unknown; k?: unknown };
  if (s !== signature(keys) || !Array.isArray(k) || k.length !== keys.length) throw badToken();
  k.forEach((v: unknown, i) => {
    const key = keys[i]!;
    const ok =
      (v === null && key.nullable) ||
      (key.type === 'string' && typeof v === 'string' && v.length <= 4096) ||
      (key.type === 'number' && typeof v === 'number' && Number.isSafeInteger(v));
    if (!ok) throw badToken();
  });
  return { values: k as KeyValue[] };
}

/**
 * The rows after the cursor in the order of `keys`: for some i, the keys before i equal the
 * cursor's and key i comes after it. Nulls sort first ascending and last descending, as the
 * in-memory sort does (IoT Central). The leading `>=` / `<=` on the first key lets the database
 * start its index scan at the cursor instead of skipping up to it.
 */
function afterCursor(keys: Key[], cursor: Cursor, dialect: StoreDialect): RawBuilder<unknown> {
  const value = (i: number) => {
    const v = cursor.values[i] ?? null;
    // An integer column compared with an integer, so PostgreSQL keeps to its index.
    return dialect === 'postgres' && typeof v === 'number'
      ? sql`CAST(${v} AS integer)`
      : sqlLiteral(v, dialect);
  };
  const equal = (i: number) =>
    cursor.values[i] === null ? sql`${keys[i]!.sql} IS NULL` : sql`${keys[i]!.sql} = ${value(i)}`;
  const later = (i: number): RawBuilder<unknown> => {
    const k = keys[i]!;
    if (cursor.values[i] === null) return k.descending ? sql`FALSE` : sql`${k.sql} IS NOT NULL`;
    if (!k.descending) return sql`${k.sql} > ${value(i)}`;
    return k.nullable ? sql`(${k.sql} < ${value(i)} OR ${k.sql} IS NULL)` : sql`${k.sql} < ${value(i)}`;
  };
  const branches = keys.map((_, i) => {
    const parts = [...keys.slice(0, i).map((__, j) => equal(j)), later(i)];
    return sql`(${sql.join(parts, sql` AND `)})`;
  });
  const any = sql`(${sql.join(branches, sql` OR `)})`;
  const first = keys[0]!;
  if (cursor.values[0] === null) return any;
  if (!first.descending) return sql`(${first.sql} >= ${value(0)} AND ${any})`;
  if (!first.nullable) return sql`(${first.sql} <= ${value(0)} AND ${any})`;
  return any;
}

function orderSql(k: Key, dialect: StoreDialect, split: boolean): RawBuilder<unknown> {
  // SQLite sorts NULL first ascending and last descending already; PostgreSQL the other way.
  // Within one run of a split key all its values are null or none are: no clause, so the
  // index's own order serves.
  if (split) return sql`${k.sql} ${k.descending ? sql`DESC` : sql`ASC`}`;
  const nulls =
    dialect === 'postgres' && k.nullable ? (k.descending ? sql` NULLS LAST` : sql` NULLS FIRST`) : sql``;
  return sql`${k.sql} ${k.descending ? sql`DESC` : sql`ASC`}${nulls}`;
}

/**
 * One page of the device list, and the token of the next when more remain.
 *
 * @example
 * const { rows, nextToken } = await listDevicePage(db, 'sqlite', { top: 25, order: [{ field: 'displayName', descending: false }] });
 */
export async function listDevicePage(
  db: Kysely<Database>,
  dialect: StoreDialect,
  query: DeviceListQuery,
): Promise<{ rows: DeviceListRow[]; nextToken?: string }> {
  const keys = sortKeys(query.order);
  const cursor = query.skipToken === undefined ? undefined : decodeToken(query.skipToken, keys);
  const joined = [...names(query.filter), ...keys.map((k) => k.name)].some((n) => JOINED.has(n));
  const searches = query.filter !== undefined && hasCall(query.filter);
  const conditions: RawBuilder<unknown>[] = [];
  if (query.filter) conditions.push(filterSql(query.filter, FILTER_FIELDS, dialect));
  if (cursor) conditions.push(afterCursor(keys, cursor, dialect));
  if (query.ids) {
    // One parameter for the whole set, however large the group: a JSON text or a text array.
    conditions.push(
      dialect === 'postgres'
        ? sql`d.id = ANY(CAST(${[...query.ids]} AS text[]))`
        : sql`d.id IN (SELECT value FROM json_each(${JSON.stringify(query.ids)}))`,
    );
  }
  const want = query.top === undefined ? undefined : query.top + 1;
  const select = async (extra: RawBuilder<unknown> | undefined, limit: number | undefined) => {
    const all = extra ? [...conditions, extra] : conditions;
    const where = all.length === 0 ? sql`` : sql`WHERE ${sql.join(all, sql` AND `)}`;
    const selectKeys = keys.map((k, i) => sql`${k.sql} AS ${sql.ref(`k${i}`)}`);
    // A string function (a search) no index serves: on SQLite, reading the table and sorting the
    // matches costs the same whatever they are, where walking the sort index to find a few rare
    // ones costs a lookup per device (about 20 ms against 50 for 100,000: bench/device-list.ts).
    const devices = dialect === 'sqlite' && searches ? sql`devices d NOT INDEXED` : sql`devices d`;
    const from = joined
      ? sql`${devices} LEFT JOIN device_status st ON st.device_id = d.id
          LEFT JOIN device_sessions ss ON ss.device_id = d.id`
      : devices;
    const result = await sql<Record<string, unknown>>`
      SELECT d.*, ${sql.join(selectKeys)} FROM ${from} ${where}
      ORDER BY ${sql.join(keys.map((k, i) => orderSql(k, dialect, i === 0 && extra !== undefined)))}
      ${limit === undefined ? sql`` : sql`LIMIT ${limit}`}`.execute(db);
    return result.rows;
  };
  let rows: Array<Record<string, unknown>> = [];
  const first = keys[0]!;
  if (!first.nullable) {
    rows = await select(undefined, want);
  } else {
    // A nullable first key (last activity, template) is read in two runs, the nulls and the
    // values, each a plain index range: one query over both cannot use an index on the joined
    // table for its order, and sorts the whole fleet for one page.
    const nullsFirst = !first.descending;
    const runs = nullsFirst ? [true, false] : [false, true];
    for (const nulls of runs) {
      if (want !== undefined && rows.length >= want) break;
      // Past the run the cursor is in: nothing to read there.
      if (cursor && (cursor.values[0] === null) !== nulls && nulls === nullsFirst) continue;
      const more = await select(
        nulls ? sql`${first.sql} IS NULL` : sql`${first.sql} IS NOT NULL`,
        want === undefined ? undefined : want - rows.length,
      );
      rows.push(...more);
    }
  }
  let nextToken: string | undefined;
  if (query.top !== undefined && rows.length > query.top) {
    rows = rows.slice(0, query.top);
    const last = rows[rows.length - 1]!;
    nextToken = encodeToken(
      keys,
      keys.map((_, i) => {
        const v = last[`k${i}`];
        return v === null || v === undefined ? null : typeof v === 'string' ? v : Number(v);
      }),
    );
  }
  const statuses = await statusOf(
    db,
    rows.map((r) => r['id'] as string),
  );
  return {
    rows: rows.map((r) => ({ row: deviceRow(r), status: statuses.get(r['id'] as string) })),
    ...(nextToken !== undefined ? { nextToken } : {}),
  };
}

/** The stored status of the page's devices (at most a page: one IN list). */
async function statusOf(db: Kysely<Database>, ids: string[]): Promise<Map<string, StoredStatus>> {
  const out = new Map<string, StoredStatus>();
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const status = await db.selectFrom('device_status').selectAll().where('device_id', 'in', chunk).execute();
    const held = await db
      .selectFrom('device_sessions')
      .select(['device_id', 'node_id'])
      .where('device_id', 'in', chunk)
      .where('node_id', 'is not', null)
      .execute();
    for (const s of status)
      out.set(s.device_id, { last_connected: s.last_connected, last_activity: s.last_activity });
    for (const h of held) {
      out.set(h.device_id, {
        last_connected: null,
        last_activity: null,
        ...out.get(h.device_id),
        heldBy: h.node_id ?? '',
      });
    }
  }
  return out;
}

function deviceRow(r: Record<string, unknown>): Selectable<DevicesTable> {
  const row = { ...r };
  for (const key of Object.keys(row)) if (/^k\d+$/.test(key)) delete row[key];
  return row as unknown as Selectable<DevicesTable>;
}
