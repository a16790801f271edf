/**
 * Evaluates a parsed device query (device-query.ts) over the store: which devices a group holds
 * now (EXPORT_RULES.md §5.1: "a dynamic query, evaluated each time it is used").
 *
 * Where it runs: the system fields are columns of `devices`, so equality, `!=`, IN, `= null` and
 * the booleans are exact portable SQL (SQLite and PostgreSQL compare text the same way for
 * equality). What SQL cannot express the same way on both is checked in memory over the rows SQL
 * kept: CONTAINS / STARTS_WITH / ENDS_WITH narrow with `LIKE … ESCAPE` (case-insensitive on
 * SQLite, case-sensitive on PostgreSQL, so a superset either way) and are re-checked exactly;
 * `<` `>` on text depend on the collation; and device properties live in the twin's JSON and
 * cloud properties in their own table, read only for the rows left. A missing field makes a
 * condition unknown, as SQL's NULL does: unknown is false in a WHERE, and NOT unknown is unknown.
 */
import { sql, type ExpressionBuilder, type Expression, type Kysely, type SqlBool } from 'kysely';

import { readAck } from '../hub/properties.js';
import { isPlainObject } from '../hub/message-body.js';
import type { Database } from '../store/schema.js';
import type { DeviceQuery, Literal, Operand, QueryExpr, SystemField } from './device-query.js';
import { queryProperties } from './device-query.js';

/** One device as the in-memory check sees it. */
export interface QueryDevice {
  id: string;
  displayName: string;
  template: string | null;
  simulated: boolean;
  provisioned: boolean;
  enabled: boolean;
  /** A property value (reported, unwrapped from its ack; else the cloud property), undefined when absent. */
  property(component: string | undefined, name: string): unknown;
}

const COLUMNS: Record<
  SystemField,
  'id' | 'display_name' | 'template' | 'simulated' | 'provisioned' | 'enabled'
> = {
  $id: 'id',
  $displayName: 'display_name',
  $template: 'template',
  $simulated: 'simulated',
  $provisioned: 'provisioned',
  $enabled: 'enabled',
};
const BOOLEAN_FIELDS: readonly SystemField[] = ['$simulated', '$provisioned', '$enabled'];

type Eb = ExpressionBuilder<Database, 'devices'>;
/** A node's SQL: `sql` undefined means "no narrowing" (true); `exact` means SQL alone decides. */
type Compiled = { sql: ((eb: Eb) => Expression<SqlBool>) | undefined; exact: boolean };

function columnValue(field: SystemField, value: Literal): Literal {
  return BOOLEAN_FIELDS.includes(field) && typeof value === 'boolean' ? (value ? 1 : 0) : value;
}

function likePattern(fn: 'contains' | 'startsWith' | 'endsWith', text: string): string {
  const escaped = text.replace(/[\\%_]/g, (c) => `\\${c}`);
  return fn === 'contains' ? `%${escaped}%` : fn === 'startsWith' ? `${escaped}%` : `%${escaped}`;
}

function compile(e: QueryExpr): Compiled {
  switch (e.kind) {
    case 'and': {
      const parts = e.items.map(compile);
      const kept = parts.flatMap((p) => (p.sql ? [p.sql] : []));
      return {
        sql: kept.length === 0 ? undefined : (eb) => eb.and(kept.map((k) => k(eb))),
        exact: parts.every((p) => p.exact),
      };
    }
    case 'or': {
      const parts = e.items.map(compile);
      if (parts.some((p) => p.sql === undefined)) return { sql: undefined, exact: false };
      return { sql: (eb) => eb.or(parts.map((p) => p.sql!(eb))), exact: parts.every((p) => p.exact) };
    }
    case 'not': {
      const inner = compile(e.item);
      if (!inner.exact || inner.sql === undefined) return { sql: undefined, exact: false };
      return { sql: (eb) => eb.not(inner.sql!(eb)), exact: true };
    }
    case 'compare': {
      if (e.operand.kind !== 'system') return { sql: undefined, exact: false };
      const column = COLUMNS[e.operand.field];
      if (e.value === null) {
        if (e.op !== '=' && e.op !== '!=') return { sql: undefined, exact: false };
        const op = e.op === '=' ? 'is' : 'is not';
        return { sql: (eb) => eb(column, op, null), exact: true };
      }
      if (e.op !== '=' && e.op !== '!=') return { sql: undefined, exact: false };
      const value = columnValue(e.operand.field, e.value);
      const op = e.op === '=' ? '=' : '!=';
      return { sql: (eb) => eb(column, op, value as string), exact: true };
    }
    case 'in': {
      if (e.operand.kind !== 'system' || e.values.some((v) => v === null))
        return { sql: undefined, exact: false };
      const field = e.operand.field;
      const column = COLUMNS[field];
      const values = e.values.map((v) => columnValue(field, v)) as string[];
      return { sql: (eb) => eb(column, 'in', values), exact: true };
    }
    case 'text': {
      if (e.operand.kind !== 'system') return { sql: undefined, exact: false };
      const column = COLUMNS[e.operand.field];
      const pattern = likePattern(e.fn, e.value);
      return {
        sql: () => sql<SqlBool>`${sql.ref(column)} like ${pattern} escape ${'\\'}`,
        exact: false,
      };
    }
  }
}

/** Three-valued: true, false, or null (unknown). */
type Truth = boolean | null;

function read(device: QueryDevice, operand: Operand): unknown {
  if (operand.kind === 'property') return device.property(operand.component, operand.name);
  switch (operand.field) {
    case '$id':
      return device.id;
    case '$displayName':
      return device.displayName;
    case '$template':
      return device.template ?? undefined;
    case '$simulated':
      return device.simulated;
    case '$provisioned':
      return device.provisioned;
    case '$enabled':
      return device.enabled;
  }
}

function compareValues(actual: unknown, op: string, expected: Literal): Truth {
  if (expected === null) {
    if (op === '=') return actual === undefined || actual === null;
    if (op === '!=') return !(actual === undefined || actual === null);
    return null;
  }
  if (actual === undefined || actual === null) return null;
  if (typeof actual !== typeof expected) return op === '!=' ? true : false;
  const a = actual as string | number | boolean;
  switch (op) {
    case '=':
      return a === expected;
    case '!=':
      return a !== expected;
    case '<':
      return a < expected;
    case '<=':
      return a <= expected;
    case '>':
      return a > expected;
    default:
      return a >= expected;
  }
}

/** The in-memory check of one device against the whole WHERE (SQL's three-valued logic). */
export function evaluate(e: QueryExpr, device: QueryDevice): Truth {
  switch (e.kind) {
    case 'and': {
      let unknown = false;
      for (const item of e.items) {
        const v = evaluate(item, device);
        if (v === false) return false;
        if (v === null) unknown = true;
      }
      return unknown ? null : true;
    }
    case 'or': {
      let unknown = false;
      for (const item of e.items) {
        const v = evaluate(item, device);
        if (v === true) return true;
        if (v === null) unknown = true;
      }
      return unknown ? null : false;
    }
    case 'not': {
      const v = evaluate(e.item, device);
      return v === null ? null : !v;
    }
    case 'compare':
      return compareValues(read(device, e.operand), e.op, e.value);
    case 'in': {
      const actual = read(device, e.operand);
      if (actual === undefined || actual === null) return null;
      return e.values.some((v) => v === actual);
    }
    case 'text': {
      const actual = read(device, e.operand);
      if (actual === undefined || actual === null) return null;
      if (typeof actual !== 'string') return false;
      return e.fn === 'contains'
        ? actual.includes(e.value)
        : e.fn === 'startsWith'
          ? actual.startsWith(e.value)
          : actual.endsWith(e.value);
    }
  }
}

/** A reported value as the query compares it: the value of a writable-property ack, else itself. */
function reportedValue(
  reported: Record<string, unknown>,
  component: string | undefined,
  name: string,
): unknown {
  const holder = component === undefined ? reported : reported[component];
  if (!isPlainObject(holder) || !Object.hasOwn(holder, name)) return undefined;
  const value = holder[name];
  const ack = readAck(value);
  return ack ? ack.value : value;
}

/**
 * The IDs of the devices the query selects, sorted. SQL narrows (and decides alone when every
 * condition is exact there); the rest is checked in memory with the properties the query names.
 *
 * @example
 * await matchingDeviceIds(db, parseDeviceQuery('SELECT * FROM devices WHERE $simulated = false'))
 */
export async function matchingDeviceIds(db: Kysely<Database>, query: DeviceQuery): Promise<string[]> {
  const compiled = query.where ? compile(query.where) : { sql: undefined, exact: true };
  let select = db
    .selectFrom('devices')
    .select(['id', 'display_name', 'template', 'simulated', 'provisioned', 'enabled'])
    .orderBy('id');
  if (query.template !== undefined) select = select.where('template', '=', query.template);
  if (compiled.sql) select = select.where((eb) => compiled.sql!(eb));
  const rows = await select.execute();
  if (compiled.exact || !query.where || rows.length === 0) return rows.map((r) => r.id);

  const wanted = queryProperties(query);
  const reported = new Map<string, Record<string, unknown>>();
  const cloud = new Map<string, unknown>();
  if (wanted.length > 0) {
    const ids = rows.map((r) => r.id);
    // Chunks keep the IN list under every database's parameter limit.
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      for (const t of await db
        .selectFrom('twins')
        .select(['device_id', 'reported'])
        .where('device_id', 'in', chunk)
        .execute()) {
        const parsed = JSON.parse(t.reported) as unknown;
        if (isPlainObject(parsed)) reported.set(t.device_id, parsed);
      }
      for (const c of await db
        .selectFrom('cloud_properties')
        .select(['device_id', 'component', 'name', 'value'])
        .where('device_id', 'in', chunk)
        .execute()) {
        cloud.set(`${c.device_id}\u0000${c.component}\u0000${c.name}`, JSON.parse(c.value) as unknown);
      }
    }
  }
  const where = query.where;
  return rows
    .filter((r) => {
      const device: QueryDevice = {
        id: r.id,
        displayName: r.display_name,
        template: r.template,
        simulated: r.simulated === 1,
        provisioned: r.provisioned === 1,
        enabled: r.enabled === 1,
        property: (component, name) =>
          reportedValue(reported.get(r.id) ?? {}, component, name) ??
          cloud.get(`${r.id}\u0000${component ?? ''}\u0000${name}`),
      };
      return evaluate(where, device) === true;
    })
    .map((r) => r.id);
}
