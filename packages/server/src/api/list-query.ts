import type { FastifyRequest } from 'fastify';
import { commonError } from '../validation.js';
import type { ApplicationInfo } from './deps.js';
import {
  MAX_FILTER_LENGTH,
  parseFilter,
  parseFilterTree,
  type FieldTable,
  type FieldTypes,
  type FilterNode,
} from './odata-filter.js';
import { queryText } from './routes/params.js';

/**
 * The query options of IoT Central's list calls (CENTRAL_API.md §1.1–§1.2): `$filter`,
 * `$orderby`, `$top` and `$skiptoken` (1.1-preview) or `filter`, `orderby`, `maxpagesize`
 * (2022-10-31-preview). A page ends with `nextLink`, the absolute URL of the next page, which
 * clients follow until it is absent.
 *
 * Without `$top`/`maxpagesize` the whole list comes in one answer (IoT Central pages at 25): a
 * client that follows `nextLink` works either way.
 *
 * Two ways to apply them: {@link listAnswer} over a list already in memory (templates, a
 * group's devices), and {@link listOptions} for a list that filters, sorts and pages in the
 * database (the device list: hub/device-list.ts), with the same options, checks and messages.
 */

export const MAX_PAGE_SIZE = 100;

/** Query descriptions for the OpenAPI document of a list route. */
export function listQueryDoc(fields: FieldTypes): Record<string, string> {
  const names = Object.keys(fields).join(', ');
  return {
    $filter: `OData filter over ${names}: eq ne lt le gt ge, and or not, indexof contains startswith endswith tolower toupper.`,
    filter: 'The same as $filter (2022-10-31-preview spelling).',
    $orderby: `Field and direction, comma-separated: ${names}; asc (default) or desc.`,
    orderby: 'The same as $orderby.',
    $top: `Page size, 1–${MAX_PAGE_SIZE}; the answer has nextLink while more remain. Absent: the whole list.`,
    maxpagesize: 'The same as $top.',
    $skiptoken: 'Where the page starts; taken from nextLink.',
  };
}

export function invalid(message: string): Error {
  return commonError('ERR_QUERY_INVALID', message);
}

/** One option under either of its spellings (a repeated one is refused by {@link queryText}). */
function one(query: Record<string, unknown>, a: string, b?: string): string | undefined {
  const first = queryText(query, a);
  const second = b === undefined ? undefined : queryText(query, b);
  if (first !== undefined && second !== undefined) throw invalid(`give ${a} or ${b}, not both.`);
  return first ?? second;
}

/** One key of `$orderby`: a field of the list and its direction. */
export interface OrderKey {
  field: string;
  descending: boolean;
}

/** Reads `$orderby` (refusing unknown fields, bad directions and repeats). */
export function parseOrder(text: string, fields: FieldTypes): OrderKey[] {
  // Each key costs a comparison per pair sorted: as many keys as fields, each once, is all a
  // sort can use, and stops a long list of repeats from holding the event loop.
  if (text.length > MAX_FILTER_LENGTH)
    throw invalid(`$orderby is longer than ${MAX_FILTER_LENGTH} characters.`);
  const seen = new Set<string>();
  return text.split(',').map((part) => {
    const words = part.trim().split(/\s+/);
    const [name = '', given = 'asc', ...rest] = words;
    const direction = given.toLowerCase();
    if (!Object.hasOwn(fields, name)) {
      throw invalid(`$orderby: unknown field '${name}'; the fields are ${Object.keys(fields).join(', ')}.`);
    }
    if (rest.length > 0 || (direction !== 'asc' && direction !== 'desc')) {
      throw invalid(`$orderby: '${part.trim()}' is not 'field', 'field asc' or 'field desc'.`);
    }
    if (seen.has(name)) throw invalid(`$orderby: '${name}' is given more than once.`);
    seen.add(name);
    return { field: name, descending: direction === 'desc' };
  });
}

function orderBy<T>(text: string, fields: FieldTable<T>): (x: T, y: T) => number {
  const keys = parseOrder(text, fields).map((k) => ({
    get: fields[k.field]!.get,
    sign: k.descending ? -1 : 1,
  }));
  return (x, y) => {
    for (const { get, sign } of keys) {
      const a = get(x);
      const b = get(y);
      if (a === b) continue;
      // Absent values sort first, as null does in IoT Central.
      if (a === null) return -sign;
      if (b === null) return sign;
      return (a < b ? -1 : 1) * sign;
    }
    return 0;
  };
}

function pageSize(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > MAX_PAGE_SIZE) {
    throw invalid(`$top must be a whole number from 1 to ${MAX_PAGE_SIZE}; got '${text}'.`);
  }
  return Number(text);
}

function offset(token: string | undefined): number {
  if (token === undefined) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    const o = (parsed as { o?: unknown } | null)?.o;
    if (typeof o === 'number' && Number.isSafeInteger(o) && o >= 0) return o;
  } catch {
    // falls through to the refusal
  }
  throw invalid('$skiptoken is not one this server wrote: follow nextLink as it is.');
}

/**
 * Where `nextLink` points: the configured host name and HTTP port, or the port the request came
 * in on when it was chosen at listen time. Never the request's Host header or an absolute-form
 * request target, which a client controls: a link built from them would send the next request,
 * with its token, wherever the client (or an attacker in front of it) said.
 */
function linkOrigin(
  request: FastifyRequest,
  application: Pick<ApplicationInfo, 'hostName' | 'httpPort'>,
): string {
  const port = application.httpPort > 0 ? application.httpPort : request.socket?.localPort;
  return `http://${application.hostName}${port !== undefined ? `:${port}` : ''}`;
}

/**
 * Apply the request's list options to `items` and shape the collection answer.
 *
 * @example
 * app.get('/api/devices', async (request) =>
 *   listAnswer(request, await hub.listDevices(), DEVICE_FIELDS, deps.application),
 * );
 */
export function listAnswer<T>(
  request: FastifyRequest,
  items: readonly T[],
  fields: FieldTable<T>,
  application: Pick<ApplicationInfo, 'hostName' | 'httpPort'>,
): { value: T[]; nextLink?: string } {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const filter = one(query, '$filter', 'filter');
  const order = one(query, '$orderby', 'orderby');
  const top = pageSize(one(query, '$top', 'maxpagesize'));
  const start = offset(one(query, '$skiptoken'));

  let list = filter === undefined ? [...items] : items.filter(parseFilter(filter, fields));
  if (order !== undefined) list = list.sort(orderBy(order, fields));
  if (top === undefined) return { value: start === 0 ? list : list.slice(start) };
  const value = list.slice(start, start + top);
  if (start + top >= list.length) return { value };
  return {
    value,
    nextLink: nextLink(
      request,
      application,
      Buffer.from(JSON.stringify({ o: start + top })).toString('base64url'),
    ),
  };
}

/** The request's own URL with `$skiptoken` set to `token`, on this server's origin. */
export function nextLink(
  request: FastifyRequest,
  application: Pick<ApplicationInfo, 'hostName' | 'httpPort'>,
  token: string,
): string {
  // Only the path and query of the request are kept (an absolute-form target's host is dropped).
  const target = new URL(request.url, 'http://unused.invalid');
  const url = new URL(target.pathname + target.search, linkOrigin(request, application));
  url.searchParams.set('$skiptoken', token);
  return url.toString();
}

/** A list request's options, parsed and checked, for a list that pages in the database. */
export interface ListOptions {
  filter?: FilterNode;
  order: OrderKey[];
  /** Page size; absent: the whole list. */
  top?: number;
  /** `$skiptoken` as given (the store reads it). */
  skipToken?: string;
}

/**
 * Read and check the list options of a request for a list that filters, sorts and pages in the
 * database (the device list): the same options, refusals and messages as {@link listAnswer}.
 *
 * @example
 * const options = listOptions(request, DEVICE_FIELDS);
 */
export function listOptions(request: FastifyRequest, fields: FieldTypes): ListOptions {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const filter = one(query, '$filter', 'filter');
  const order = one(query, '$orderby', 'orderby');
  const top = pageSize(one(query, '$top', 'maxpagesize'));
  const skipToken = one(query, '$skiptoken');
  return {
    ...(filter !== undefined ? { filter: parseFilterTree(filter, fields) } : {}),
    order: order === undefined ? [] : parseOrder(order, fields),
    ...(top !== undefined ? { top } : {}),
    ...(skipToken !== undefined ? { skipToken } : {}),
  };
}
